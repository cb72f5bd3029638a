// ConsoleSizer: the last size wins, one command at a time, a failed size is not retried in a loop.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConsoleSizer, winsizeArgs, type ConsoleSize } from '../../src/console-size.ts';

test('winsizeArgs asks lab-settle for rows, then columns, of the serial console', () => {
  assert.deepEqual(winsizeArgs({ cols: 132, rows: 43 }), ['--winsize', '43', '132']);
});

test('sizes asked for before the guest is there are applied once it is: the last one only', async () => {
  const sizer = new ConsoleSizer({ cols: 100, rows: 30 });
  await sizer.set({ cols: 80, rows: 24 });
  await sizer.set({ cols: 90, rows: 25 });
  const applied: ConsoleSize[] = [];
  await sizer.attach(async (size) => {
    applied.push(size);
  });
  assert.deepEqual(applied, [{ cols: 90, rows: 25 }]);
});

test('a guest that has the size already (set while it settled) is not sized again; a newer size is', async () => {
  const sizer = new ConsoleSizer({ cols: 100, rows: 30 });
  const applied: ConsoleSize[] = [];
  const apply = async (size: ConsoleSize) => void applied.push(size);
  await sizer.attach(apply, { cols: 100, rows: 30 });
  assert.deepEqual(applied, []);
  // The window was resized while the next guest was settling: the settled size is old.
  sizer.detach();
  await sizer.set({ cols: 90, rows: 25 });
  assert.deepEqual(applied, []);
  await sizer.attach(apply, { cols: 100, rows: 30 });
  assert.deepEqual(applied, [{ cols: 90, rows: 25 }]);
  // Unknown (the settling command failed): the size is set.
  sizer.detach();
  await sizer.attach(apply, undefined);
  assert.deepEqual(applied, [
    { cols: 90, rows: 25 },
    { cols: 90, rows: 25 },
  ]);
});

test('a size that fails is tried once per request, never in a loop; detach stops applying', async () => {
  const sizer = new ConsoleSizer({ cols: 100, rows: 30 });
  const tried: string[] = [];
  await sizer.attach(async (size) => {
    tried.push(`${size.cols}x${size.rows}`);
    throw new Error('guest command failed');
  });
  assert.deepEqual(tried, ['100x30']);
  await sizer.set({ cols: 120, rows: 40 });
  assert.deepEqual(tried, ['100x30', '120x40']);
  sizer.detach();
  await sizer.set({ cols: 60, rows: 20 });
  assert.deepEqual(tried, ['100x30', '120x40']);
  assert.deepEqual(sizer.size, { cols: 60, rows: 20 });
});

test('detach ends the wait for a command that never returns (a frozen guest); the next guest gets the size', async () => {
  const sizer = new ConsoleSizer({ cols: 100, rows: 30 });
  const sent: string[] = [];
  const attaching = sizer.attach((size) => {
    sent.push(`${size.cols}x${size.rows}`);
    return new Promise<void>(() => {}); // never answers
  });
  sizer.detach();
  await attaching;
  const applied: ConsoleSize[] = [];
  await sizer.attach(async (size) => {
    applied.push(size);
  });
  assert.deepEqual(sent, ['100x30']);
  assert.deepEqual(applied, [{ cols: 100, rows: 30 }]);
});
