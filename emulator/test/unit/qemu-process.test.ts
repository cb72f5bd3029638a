// QemuProcess with stand-in QEMU executables (shell scripts): what it owns is gone after
// dispose(), at any moment, and a QEMU that never opened QMP is killed at once.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { hmpError, ProcessDisposedError, QemuProcess, type QemuProcessSpec } from '../../src/qemu-process.ts';
import { processAlive } from '../../src/run-folders.ts';

const scratch = await mkdtemp(path.join(os.tmpdir(), 'lab-unit-qemu-'));
after(() => rm(scratch, { recursive: true, force: true }));

async function fakeQemu(name: string, body: string): Promise<string> {
  const file = path.join(scratch, name);
  await writeFile(file, `#!/bin/sh\n${body}\n`);
  await chmod(file, 0o755);
  return file;
}

async function spec(qemu: string): Promise<QemuProcessSpec> {
  const disk = path.join(scratch, `disk-${path.basename(qemu)}.qcow2`);
  await writeFile(disk, 'a disk\n');
  return {
    accel: 'tcg',
    kernelPath: '/nonexistent/bzImage',
    baseDisk: '/nonexistent/rootfs.qcow2',
    disk: { kind: 'adopt', file: disk },
    memoryMiB: 512,
    cpus: 2,
    cols: 80,
    rows: 24,
    env: { ...process.env, FARFETCHD_LAB_QEMU: qemu },
  };
}

/** The run folders in the temp folder whose pid file names this test process. */
async function runFoldersOfThisProcess(): Promise<string[]> {
  const mine: string[] = [];
  for (const name of await readdir(os.tmpdir())) {
    if (!name.startsWith('farfetchd-lab-')) continue;
    const pid = await readFile(path.join(os.tmpdir(), name, 'pid'), 'utf8').catch(() => '');
    if (pid === `${process.pid}\n`) mine.push(name);
  }
  return mine;
}

function consoleUntil(proc: QemuProcess, pattern: RegExp): Promise<RegExpExecArray> {
  let seen = '';
  return new Promise((resolve) =>
    proc.onConsole((data) => {
      seen += data;
      const m = pattern.exec(seen);
      if (m) resolve(m);
    }),
  );
}

test('dispose() while QEMU has not opened QMP kills it (SIGKILL) and removes its run folder', async () => {
  // Prints its pid, then opens no socket at all: launch() waits for QMP forever.
  const qemu = await fakeQemu('silent-qemu', 'echo "pid=$$"; exec sleep 600');
  const proc = new QemuProcess(await spec(qemu));
  const launching = proc.launch();
  const [, pid] = (await consoleUntil(proc, /pid=(\d+)/)) as unknown as [string, string];
  const runDir = path.dirname(proc.overlayPath!);
  assert.equal(await readFile(path.join(runDir, 'pid'), 'utf8'), `${process.pid}\n`);
  assert.equal(await readFile(proc.overlayPath!, 'utf8'), 'a disk\n'); // adopted: moved here
  assert.ok(existsSync(path.join(runDir, 'kernel-log.sock')));
  const disposing = proc.dispose();
  assert.equal(proc.dispose(), disposing); // idempotent: one disposal
  await disposing;
  await assert.rejects(launching, ProcessDisposedError);
  assert.deepEqual(await proc.exited, { code: null, signal: 'SIGKILL' });
  assert.equal(existsSync(runDir), false);
  assert.equal(processAlive(Number(pid)), false);
  assert.deepEqual(await runFoldersOfThisProcess(), []);
});

test('a QEMU that exits at once: launch() says so, and dispose() still removes everything', async () => {
  const qemu = await fakeQemu('failing-qemu', 'echo "qemu-system-x86_64: -accel kvm: no" >&2; exit 1');
  const proc = new QemuProcess(await spec(qemu));
  await assert.rejects(proc.launch(), /^Error: QEMU ended while starting \(code 1, signal null\)$/);
  assert.deepEqual(await proc.exited, { code: 1, signal: null });
  const runDir = path.dirname(proc.overlayPath!);
  await proc.dispose();
  assert.equal(existsSync(runDir), false);
});

test('dispose() before launch() has made anything leaves nothing behind', async () => {
  const qemu = await fakeQemu('never-run-qemu', 'exit 0');
  const proc = new QemuProcess(await spec(qemu));
  const launching = proc.launch();
  await proc.dispose();
  await assert.rejects(launching, ProcessDisposedError);
  assert.equal(proc.overlayPath, undefined);
  assert.deepEqual(await runFoldersOfThisProcess(), []);
});

test(
  'quit() of a QEMU that never opened QMP kills it instead of waiting forever',
  { timeout: 30_000 },
  async () => {
    const qemu = await fakeQemu('no-qmp-qemu', 'echo "pid=$$"; exec sleep 600');
    const proc = new QemuProcess(await spec(qemu));
    const launching = proc.launch();
    launching.catch(() => undefined);
    const [, pid] = (await consoleUntil(proc, /pid=(\d+)/)) as unknown as [string, string];
    assert.deepEqual(await proc.quit(), { code: null, signal: 'SIGKILL' });
    assert.equal(processAlive(Number(pid)), false);
    await proc.dispose();
    await assert.rejects(
      launching,
      /^Error: QEMU ended while starting \(code null, signal SIGKILL\)$|ProcessDisposedError/,
    );
  },
);

test('once QEMU has exited, no timer of its process is left running (a CLI would linger)', async () => {
  const qemu = await fakeQemu('quick-qemu', 'exit 3');
  const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  const before = timers();
  const proc = new QemuProcess(await spec(qemu));
  await assert.rejects(proc.launch(), /^Error: QEMU ended while starting \(code 3, signal null\)$/);
  assert.deepEqual(await proc.exited, { code: 3, signal: null });
  assert.equal(timers(), before);
  await proc.dispose();
});

test("hmpError: HMP's loadvm/savevm error text as one line, without its 'Error:'", () => {
  assert.equal(
    hmpError("Error: Snapshot 'lab-ready' does not exist in one or more devices\r\n"),
    "Snapshot 'lab-ready' does not exist in one or more devices",
  );
  assert.equal(
    hmpError("Error: Device 'vda' is writable but does not support snapshots\r\nmore\r\n"),
    "Device 'vda' is writable but does not support snapshots; more",
  );
});
