// The disk's I/O engine: io_uring only after a probe QEMU opened a file with it on this host,
// remembered per host, QEMU binary and io_uring switch; a refusal, a hang or another OS is the
// thread pool. Stand-in QEMUs (shell scripts) log how they were started.
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import {
  chooseDiskAio,
  describeDiskAio,
  DISK_AIO_FILE,
  diskAioForStart,
  DiskAioRefusedError,
  IO_URING_REFUSED,
  probeIoUring,
  readAioVerdicts,
  refusedIoUring,
  rememberRefusal,
} from '../../src/disk-aio.ts';

const scratch = await mkdtemp(path.join(os.tmpdir(), 'lab-unit-aio-'));
after(() => rm(scratch, { recursive: true, force: true }));

/** QEMU 7.2's words on a host where io_uring_setup fails (kernel.io_uring_disabled=2). */
const REFUSAL =
  'qemu-system-x86_64: -blockdev driver=file,filename=/usr/bin/qemu-system-x86_64,aio=io_uring,' +
  'read-only=on,node-name=probe: Unable to use io_uring: failed to init linux io_uring ring: ' +
  'Inappropriate ioctl for device';

let count = 0;
/** A stand-in QEMU that appends its arguments and stdin to `log`, then runs `body`. */
async function fakeQemu(
  body: string,
): Promise<{ qemu: string; log: string; cacheDir: string; sysctl: string }> {
  const dir = path.join(scratch, `case-${++count}`);
  const qemu = path.join(dir, 'qemu,system');
  const log = path.join(dir, 'log');
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await writeFile(
    qemu,
    `#!/bin/sh\necho "args: $*" >> '${log}'\necho "stdin: $(cat)" >> '${log}'\n${body}\n`,
  );
  await chmod(qemu, 0o755);
  const sysctl = path.join(dir, 'io_uring_disabled');
  await writeFile(sysctl, '0\n');
  return { qemu, log, cacheDir: path.join(dir, 'cache'), sysctl };
}

const runs = async (log: string) => (await readFile(log, 'utf8').catch(() => '')).split('args: ').length - 1;

test('a QEMU that opens a file with aio=io_uring and quits: io_uring, remembered (no second probe)', async () => {
  const f = await fakeQemu('exit 0');
  const opts = { qemuBinary: f.qemu, cacheDir: f.cacheDir, platform: 'linux' as const, sysctlPath: f.sysctl };
  assert.equal(await chooseDiskAio(opts), 'io_uring');
  assert.equal(await chooseDiskAio(opts), 'io_uring');
  assert.equal(await runs(f.log), 1);
  const log = await readFile(f.log, 'utf8');
  // The probe's whole command line: no machine, the monitor on stdio told to quit, and the
  // QEMU binary itself opened read-only with io_uring (its comma written twice).
  const probed = path.resolve(f.qemu).replace(/,/g, ',,');
  assert.equal(
    log,
    `args: -machine none -nodefaults -no-user-config -display none -monitor stdio -blockdev ` +
      `driver=file,filename=${probed},aio=io_uring,read-only=on,node-name=probe\nstdin: quit\n`,
  );
  const [verdict, ...others] = await readAioVerdicts(path.join(f.cacheDir, DISK_AIO_FILE));
  assert.deepEqual(others, []);
  assert.equal(verdict!.ok, true);
  assert.equal(verdict!.ioUringDisabled, '0');
  assert.equal(verdict!.reason, undefined);
});

test("QEMU refusing io_uring: the thread pool, with QEMU's words remembered as the reason", async () => {
  const f = await fakeQemu(`echo '${REFUSAL}' >&2; exit 1`);
  const opts = { qemuBinary: f.qemu, cacheDir: f.cacheDir, platform: 'linux' as const, sysctlPath: f.sysctl };
  assert.equal(await chooseDiskAio(opts), 'threads');
  assert.equal(await chooseDiskAio(opts), 'threads');
  assert.equal(await runs(f.log), 1);
  const [verdict] = await readAioVerdicts(path.join(f.cacheDir, DISK_AIO_FILE));
  assert.equal(verdict!.ok, false);
  assert.equal(verdict!.reason, `${REFUSAL} (exit 1)`);
  assert.equal(refusedIoUring(verdict!.reason!), true);
});

test('a change of the io_uring switch means a new probe; a remembered refusal replaces the verdict', async () => {
  // Refuses io_uring while its io_uring_disabled says 2, as Linux does.
  const f = await fakeQemu('');
  await writeFile(
    f.qemu,
    `#!/bin/sh\necho "args: $*" >> '${f.log}'\n` +
      `if grep -q 2 '${f.sysctl}'; then echo '${REFUSAL}' >&2; exit 1; fi\nexit 0\n`,
  );
  const opts = { qemuBinary: f.qemu, cacheDir: f.cacheDir, platform: 'linux' as const, sysctlPath: f.sysctl };
  assert.equal(await chooseDiskAio(opts), 'io_uring');
  await writeFile(f.sysctl, '2\n');
  assert.equal(await chooseDiskAio(opts), 'threads');
  assert.equal(await runs(f.log), 2);
  // Both are remembered, one per setting; the first still answers for its setting.
  assert.equal((await readAioVerdicts(path.join(f.cacheDir, DISK_AIO_FILE))).length, 2);
  await writeFile(f.sysctl, '0\n');
  assert.equal(await chooseDiskAio(opts), 'io_uring');
  await rememberRefusal(opts, 'refused at a real start');
  assert.equal(await chooseDiskAio(opts), 'threads');
  assert.equal(await runs(f.log), 2);
});

test('two starts at once share one probe; a corrupt verdict file is a new probe', async () => {
  const f = await fakeQemu('sleep 0.2; exit 0');
  const opts = { qemuBinary: f.qemu, cacheDir: f.cacheDir, platform: 'linux' as const, sysctlPath: f.sysctl };
  assert.deepEqual(await Promise.all([chooseDiskAio(opts), chooseDiskAio(opts)]), ['io_uring', 'io_uring']);
  assert.equal(await runs(f.log), 1);
  await writeFile(path.join(f.cacheDir, DISK_AIO_FILE), '{"version": 1, "verdicts": [');
  assert.equal(await chooseDiskAio(opts), 'io_uring');
  assert.equal(await runs(f.log), 2);
});

test('not Linux, or no QEMU binary: the thread pool, and nothing is started', async () => {
  const f = await fakeQemu('exit 0');
  for (const platform of ['darwin', 'win32'] as const) {
    assert.equal(await chooseDiskAio({ qemuBinary: f.qemu, cacheDir: f.cacheDir, platform }), 'threads');
  }
  const missing = path.join(scratch, 'no-such-qemu');
  assert.equal(
    await chooseDiskAio({ qemuBinary: missing, cacheDir: f.cacheDir, platform: 'linux' }),
    'threads',
  );
  assert.equal(await runs(f.log), 0);
});

test('a probe QEMU that never quits is killed after the timeout: no io_uring', async () => {
  const f = await fakeQemu('exec sleep 30');
  const started = Date.now();
  assert.deepEqual(await probeIoUring(f.qemu, 300), {
    ok: false,
    reason: 'the probe QEMU ended: killed by SIGKILL',
  });
  assert.ok(Date.now() - started < 5000);
});

test("refusedIoUring: QEMU's io_uring refusals, and nothing else", () => {
  assert.equal(refusedIoUring(REFUSAL), true);
  // A QEMU built without liburing does not know the value.
  assert.equal(
    refusedIoUring("-drive file=x,aio=io_uring: Parameter 'aio' does not accept value 'io_uring'"),
    true,
  );
  assert.equal(refusedIoUring("Parameter 'aio' does not accept value 'bogus'"), false);
  assert.equal(refusedIoUring('qemu-system-x86_64: -drive file=x: Could not open x: No such file'), false);
  assert.equal(refusedIoUring(''), false);
});

test("describeDiskAio: what doctor says, with QEMU's words when io_uring was refused", async () => {
  const ok = await fakeQemu('exit 0');
  const linux = { platform: 'linux' as const };
  assert.equal(
    await describeDiskAio({ qemuBinary: ok.qemu, cacheDir: ok.cacheDir, sysctlPath: ok.sysctl, ...linux }),
    'io_uring (a probe QEMU could use it here)',
  );
  const refused = await fakeQemu(`echo '${REFUSAL}' >&2; exit 1`);
  const opts = { qemuBinary: refused.qemu, cacheDir: refused.cacheDir, sysctlPath: refused.sysctl, ...linux };
  assert.equal(await describeDiskAio(opts), `QEMU's thread pool (io_uring refused: ${REFUSAL} (exit 1))`);
  assert.equal(
    await describeDiskAio({ ...opts, platform: 'darwin' }),
    "QEMU's thread pool (io_uring is Linux only)",
  );
});

test('diskAioForStart: a start that QEMU refused for io_uring is a DiskAioRefusedError, remembered', async () => {
  const f = await fakeQemu('exit 0');
  const opts = { qemuBinary: f.qemu, cacheDir: f.cacheDir, platform: 'linux' as const, sysctlPath: f.sysctl };
  const start = diskAioForStart('auto', opts);
  assert.equal(await start.engine, 'io_uring');
  const ended = new Error('QEMU ended while starting (code 1, signal null)');
  // Any other failure is passed on as it is, and changes nothing.
  assert.equal(await start.failed(ended, 'qemu-system-x86_64: -kernel x: No such file\r\n'), ended);
  assert.equal(await chooseDiskAio(opts), 'io_uring');
  const err = await start.failed(ended, `booting\r\n${REFUSAL}\r\n`);
  assert.ok(err instanceof DiskAioRefusedError);
  assert.equal(err.message, `QEMU ended while starting (code 1, signal null): ${IO_URING_REFUSED}`);
  assert.equal(await chooseDiskAio(opts), 'threads');
  const [verdict] = await readAioVerdicts(path.join(f.cacheDir, DISK_AIO_FILE));
  assert.equal(verdict!.reason, REFUSAL);
  // Not chosen automatically: never probes, never reinterprets a failure.
  const fixed = diskAioForStart(undefined, opts);
  assert.equal(await fixed.engine, 'threads');
  assert.equal(await fixed.failed(ended, REFUSAL), ended);
  assert.equal(await runs(f.log), 1);
});
