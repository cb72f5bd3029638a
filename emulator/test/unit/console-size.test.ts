// ConsoleSizer: the last size wins, one command at a time, a failed size is not retried in a loop.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConsoleSizer, sttyArgs, sttyCommand, type ConsoleSize } from '../../src/console-size.ts';

test('sttyCommand sets rows and columns of the serial console', () => {
  assert.equal(sttyCommand({ cols: 132, rows: 43 }), 'stty -F /dev/ttyS0 rows 43 cols 132');
  assert.deepEqual(sttyArgs({ cols: 132, rows: 43 }), ['-F', '/dev/ttyS0', 'rows', '43', 'cols', '132']);
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
