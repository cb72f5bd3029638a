import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { GuestImage } from '../../src/image.ts';
import { warmStatePath } from '../../src/session.ts';
import type { Guard } from '../../src/operation-queue.ts';
import type { QemuProcessSpec } from '../../src/qemu-process.ts';
import { DiskAioRefusedError } from '../../src/disk-aio.ts';
import type { DiskSource, LabProcess } from '../../src/lab-process.ts';
import { bootWarmOrCold, machineShape, prepareWarmState } from '../../src/warm-state.ts';
import { FakeProcess, settle } from './fake-process.ts';

const image = { manifest: { key: 'abc123' } } as GuestImage;

test('the warm snapshot is named by image and machine, in the cache folder', () => {
  assert.equal(
    warmStatePath(image, 'tcg-512-2-ws', { FARFETCHD_LAB_CACHE: '/var/cache/lab' }),
    '/var/cache/lab/warm-abc123-tcg-512-2-ws.qcow2',
  );
  assert.equal(
    warmStatePath(image, 'kvm-512-2-nows', { XDG_CACHE_HOME: '/home/s/.cache' }),
    '/home/s/.cache/farfetchd-lab/warm-abc123-kvm-512-2-nows.qcow2',
  );
  assert.equal(
    warmStatePath(image, 'tcg-512-2-nows', {}),
    path.join(os.homedir(), '.cache', 'farfetchd-lab', 'warm-abc123-tcg-512-2-nows.qcow2'),
  );
});

test('the paging mode is part of the machine shape: a 4-level snapshot never loads into a 5-level CPU', () => {
  const five = machineShape('tcg', 512, 2, true);
  const four = machineShape('tcg', 512, 2, true, true);
  assert.match(five, /^[0-9a-f]{8}-tcg-512-2-ws$/);
  assert.equal(four, `${five}-4lvl`);
  assert.equal(machineShape('tcg', 512, 2, true, false), five);
});

test('the kernel is part of the machine shape: a debug kernel snapshot is its own', () => {
  const main = machineShape('tcg', 512, 2, true);
  assert.equal(machineShape('tcg', 512, 2, true, false, 'debug'), `${main}-debug`);
  assert.equal(machineShape('tcg', 512, 2, true, true, 'debug'), `${main}-4lvl-debug`);
  assert.equal(machineShape('tcg', 512, 2, true, false, 'main'), main);
});

/** A fresh fake machine whose "QEMU" has an overlay file in `dir`, its shell printing nothing. */
function warmUpMachine(dir: string): FakeProcess {
  const spec = { disk: { kind: 'fresh' } } as QemuProcessSpec;
  return new FakeProcess(spec, 0, { overlayDir: dir, printsPrompt: false });
}

const noGuard: Guard = (promise) => promise;

test('the warm-up saves only once the login shell has shown its prompt, split across chunks or not', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lab-unit-warm-'));
  try {
    const proc = warmUpMachine(dir);
    const warm = path.join(dir, 'warm.qcow2');
    // A wait far longer than the test: only the prompt can end it.
    const saving = prepareWarmState(proc, warm, noGuard, () => proc.launch(), 600_000);
    await settle();
    proc.print('farfetchd-lab: init started\r\n[farfetchd');
    await settle();
    assert.equal(proc.savedSnapshot, undefined); // the agent answered, bash still reads its profile
    proc.print('-lab gu');
    await settle();
    assert.equal(proc.savedSnapshot, undefined);
    proc.print(`est] root:~# `);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error('no snapshot 2 s after the prompt')), 2000);
    });
    await Promise.race([saving, late]).finally(() => clearTimeout(timer));
    assert.equal(proc.savedSnapshot, 'lab-ready');
    assert.equal(await readFile(warm, 'utf8'), 'disk of process 0\n');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a shell that never shows the prompt still gets its snapshot, after the wait', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lab-unit-warm-'));
  try {
    const proc = warmUpMachine(dir);
    const saving = prepareWarmState(proc, path.join(dir, 'warm.qcow2'), noGuard, () => proc.launch(), 50);
    proc.print('[farfetchd-lab host] root:~# ');
    await settle();
    assert.equal(proc.savedSnapshot, undefined);
    await saving;
    assert.equal(proc.savedSnapshot, 'lab-ready');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('QEMU refusing io_uring at a warm start: started once more (the refusal is remembered), the snapshot kept', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lab-unit-warm-aio-'));
  try {
    const warm = path.join(dir, 'warm-abc123-shape.qcow2');
    await writeFile(warm, 'snapshot\n');
    const did: string[] = [];
    const proc = { prepareNextStart: () => did.push('prepareNextStart') } as unknown as LabProcess;
    const guard: Guard = (promise) => promise;
    await bootWarmOrCold(warm, guard, {
      warmUpProcess: () => assert.fail('the snapshot exists: no warm-up'),
      untilAgent: async () => undefined,
      start: async (disk: DiskSource) => {
        did.push(`start ${disk.kind}`);
        if (did.filter((d) => d.startsWith('start')).length === 1)
          throw new DiskAioRefusedError('QEMU ended while starting: QEMU refused io_uring');
        return proc;
      },
      ready: async (_proc, disk) => void did.push(`ready ${disk.kind}`),
      retire: async () => void did.push('retire'),
      restart: () => void did.push('restart'),
      booting: () => true,
      debug: (message) => void did.push(`debug ${message}`),
    });
    assert.deepEqual(did, [
      'start snapshot',
      'debug disk I/O: QEMU ended while starting: QEMU refused io_uring',
      'retire',
      'restart',
      'start snapshot',
      'ready snapshot',
      'prepareNextStart',
    ]);
    assert.equal(await readFile(warm, 'utf8'), 'snapshot\n');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
