// The accelerator choice and the probe boot, against fake QEMUs: small executable scripts that
// behave as QEMU does when a hardware accelerator works, hangs, aborts or dies.
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ACCEL_LABELS, detectAccelerator, probeAccelerator } from '../../src/accel.ts';

let dir: string;
/** A file that opens read-write, standing in for a working /dev/kvm. */
let fakeKvm: string;
/** Stands in for the image's bzImage: the fakes never read it, the probe only passes its path. */
let kernel: string;
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'accel-test-'));
  fakeKvm = path.join(dir, 'kvm');
  kernel = path.join(dir, 'bzImage');
  await writeFile(fakeKvm, '');
  await writeFile(kernel, 'not a kernel');
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/**
 * A fake qemu-system-x86_64: `--version` prints a version; any other call writes its PID and
 * arguments (one per line) to NAME.argv and runs `body`.
 */
async function fakeQemu(name: string, body: string): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(
    file,
    `#!/bin/sh
if [ "$1" = --version ]; then echo 'QEMU emulator version 9.9.9 (fake)'; exit 0; fi
{ echo $$; for a in "$@"; do echo "$a"; done; } > '${file}.argv'
${body}
`,
  );
  await chmod(file, 0o755);
  return file;
}

async function invocation(qemu: string): Promise<{ pid: number; argv: string[] }> {
  const [pid, ...argv] = (await readFile(`${qemu}.argv`, 'utf8')).trimEnd().split('\n');
  return { pid: Number(pid), argv };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const LINUX_BANNER = 'Linux version 6.12.117-farfetch (root@lab) (gcc 12.2.0) #1 SMP PREEMPT_DYNAMIC';
const BOOTS = `printf '${LINUX_BANNER}\\r\\nCommand line: console=ttyS0\\r\\n'; exec sleep 30`;
const HANGS = 'exec sleep 30';

/** Options every probing test shares: a fresh cache folder per call, so nothing is remembered. */
let caches = 0;
function linux(qemuBinary: string, probeTimeoutMs?: number) {
  return {
    qemuBinary,
    kernelPath: kernel,
    platform: 'linux' as const,
    env: {},
    kvmDevice: fakeKvm,
    cacheDir: path.join(dir, `cache-${++caches}`),
    probeTimeoutMs,
  };
}

test('FARFETCHD_LAB_ACCEL forces the accelerator without probing', async () => {
  for (const [value, accel] of [
    ['tcg', 'tcg'],
    ['kvm', 'kvm'],
    [' KVM ', 'kvm'],
  ] as const) {
    const info = await detectAccelerator({
      qemuBinary: '/nonexistent/qemu', // proves nothing was started
      kernelPath: '/nonexistent/bzImage',
      platform: 'linux',
      env: { FARFETCHD_LAB_ACCEL: value },
    });
    assert.deepEqual(info, {
      accel,
      label: `${ACCEL_LABELS[accel]} (set by FARFETCHD_LAB_ACCEL)`,
      source: 'forced',
    });
  }
  const hvf = await detectAccelerator({
    qemuBinary: '/nonexistent',
    kernelPath: '/nonexistent/bzImage',
    platform: 'darwin',
    env: { FARFETCHD_LAB_ACCEL: 'hvf' },
  });
  assert.equal(hvf.accel, 'hvf');
  const whpx = await detectAccelerator({
    qemuBinary: '/nonexistent',
    kernelPath: '/nonexistent/bzImage',
    platform: 'win32',
    env: { FARFETCHD_LAB_ACCEL: 'whpx' },
  });
  assert.equal(whpx.accel, 'whpx');
});

test('an invalid FARFETCHD_LAB_ACCEL is a clear error', async () => {
  const forced = (platform: NodeJS.Platform, value: string) =>
    detectAccelerator({
      qemuBinary: '/nonexistent',
      kernelPath: '/nonexistent/bzImage',
      platform,
      env: { FARFETCHD_LAB_ACCEL: value },
    });
  await assert.rejects(forced('linux', 'fast'), {
    message: 'FARFETCHD_LAB_ACCEL must be one of tcg, kvm, hvf, whpx (got "fast")',
  });
  await assert.rejects(forced('linux', 'hvf'), {
    message: 'FARFETCHD_LAB_ACCEL=hvf is not available on linux (use tcg or kvm)',
  });
  await assert.rejects(forced('darwin', 'whpx'), {
    message: 'FARFETCHD_LAB_ACCEL=whpx is not available on darwin (use tcg or hvf)',
  });
});

test('an empty FARFETCHD_LAB_ACCEL counts as unset', async () => {
  const info = await detectAccelerator({
    qemuBinary: '/nonexistent',
    kernelPath: '/nonexistent/bzImage',
    platform: 'freebsd',
    env: { FARFETCHD_LAB_ACCEL: '' },
  });
  assert.deepEqual(info, {
    accel: 'tcg',
    label: 'TCG — no hardware acceleration: slower',
    fallbackReason: 'QEMU has no hardware accelerator for x86-64 guests on freebsd',
    source: 'probe',
  });
});

test('Apple Silicon falls back to TCG without trying HVF', async () => {
  const info = await detectAccelerator({
    qemuBinary: '/nonexistent',
    kernelPath: '/nonexistent/bzImage',
    platform: 'darwin',
    arch: 'arm64',
    env: {},
  });
  assert.deepEqual(info, {
    accel: 'tcg',
    label: ACCEL_LABELS.tcg,
    fallbackReason: 'HVF cannot run x86-64 guests on Apple Silicon',
    source: 'probe',
  });
});

test('no KVM device: TCG, and the reason names the device', async () => {
  const missing = path.join(dir, 'no-such-kvm');
  const info = await detectAccelerator({ ...linux('/nonexistent'), kvmDevice: missing });
  assert.equal(info.accel, 'tcg');
  assert.equal(
    info.fallbackReason,
    `KVM is not usable: ${missing} does not exist (no KVM module loaded, or the CPU's virtualization is off or absent)`,
  );
});

test('a kernel that prints its first line under KVM means KVM; the probe boots it on q35 and kills QEMU', async () => {
  const qemu = await fakeQemu('qemu-boots', BOOTS);
  const info = await detectAccelerator(linux(qemu));
  assert.deepEqual(info, { accel: 'kvm', label: 'KVM — hardware acceleration', source: 'probe' });
  const { pid, argv } = await invocation(qemu);
  assert.deepEqual(argv, [
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    '-machine',
    'q35',
    '-accel',
    'kvm',
    '-cpu',
    'host',
    '-m',
    '128',
    '-smp',
    '1',
    '-no-reboot',
    '-kernel',
    kernel,
    '-append',
    'console=ttyS0 earlyprintk=serial,ttyS0 panic=-1',
    '-serial',
    'stdio',
  ]);
  assert.equal(isAlive(pid), false, 'the probe QEMU still runs');
});

test('the probe returns the first console line it saw', async () => {
  const qemu = await fakeQemu('qemu-boots-2', BOOTS);
  assert.deepEqual(await probeAccelerator(qemu, 'kvm', kernel), { ok: true, consoleLine: LINUX_BANNER });
});

test('macOS (Intel) and Windows probe HVF and WHPX with their own flags', async () => {
  const qemu = await fakeQemu('qemu-boots-3', BOOTS);
  const cacheDir = path.join(dir, 'cache-hvf-whpx');
  const hvf = await detectAccelerator({
    qemuBinary: qemu,
    kernelPath: kernel,
    platform: 'darwin',
    arch: 'x64',
    env: {},
    cacheDir,
  });
  assert.deepEqual(hvf, { accel: 'hvf', label: ACCEL_LABELS.hvf, source: 'probe' });
  assert.deepEqual((await invocation(qemu)).argv.slice(6, 10), ['-accel', 'hvf', '-cpu', 'host']);
  const whpx = await detectAccelerator({
    qemuBinary: qemu,
    kernelPath: kernel,
    platform: 'win32',
    env: {},
    cacheDir,
  });
  assert.deepEqual(whpx, { accel: 'whpx', label: ACCEL_LABELS.whpx, source: 'probe' });
  assert.deepEqual((await invocation(qemu)).argv.slice(6, 10), [
    '-accel',
    'whpx,kernel-irqchip=off',
    '-cpu',
    'max',
  ]);
});

test('a kernel that prints nothing: TCG, "KVM did not boot the guest", and QEMU is killed at the bound', async () => {
  const qemu = await fakeQemu('qemu-hangs', HANGS);
  const info = await detectAccelerator(linux(qemu, 300));
  assert.deepEqual(info, {
    accel: 'tcg',
    label: 'TCG — KVM did not boot the guest on this machine: no console output in 0.3 s',
    fallbackReason: 'KVM did not boot the guest on this machine: no console output in 0.3 s',
    source: 'probe',
  });
  assert.equal(isAlive((await invocation(qemu)).pid), false, 'the silent QEMU still runs');
});

test('the default bound reads "no console output in 3 s"', async () => {
  const qemu = await fakeQemu('qemu-hangs-2', HANGS);
  assert.deepEqual(await probeAccelerator(qemu, 'kvm', kernel), {
    ok: false,
    reason: 'no console output in 3 s',
  });
});

test("only the kernel's own words are proof: a firmware line is not, the decompressor's unfinished line is", async () => {
  const firmware = await fakeQemu(
    'qemu-firmware',
    "printf 'SeaBIOS (version 1.16.2)\\r\\nBooting from ROM..\\r\\n'; exec sleep 30",
  );
  assert.deepEqual(await probeAccelerator(firmware, 'kvm', kernel, { timeoutMs: 300 }), {
    ok: false,
    reason: 'no kernel line in 0.3 s (only "SeaBIOS (version 1.16.2) Booting from ROM..")',
  });
  const decompressing = await fakeQemu(
    'qemu-decompress',
    "printf 'early console in setup code\\r\\nDecompressing Linux... '; exec sleep 30",
  );
  assert.deepEqual(await probeAccelerator(decompressing, 'kvm', kernel), {
    ok: true,
    consoleLine: 'early console in setup code',
  });
  const decompressorOnly = await fakeQemu(
    'qemu-decompress-2',
    "printf 'Decompressing Linux... Parsing ELF... '; exec sleep 30",
  );
  assert.deepEqual(await probeAccelerator(decompressorOnly, 'kvm', kernel), {
    ok: true,
    consoleLine: 'Decompressing Linux... Parsing ELF...',
  });
});

test('a kernel that prints one line and then QEMU dies: the line is the proof', async () => {
  const qemu = await fakeQemu('qemu-one-line', `printf '${LINUX_BANNER}\\n'; exit 1`);
  assert.deepEqual(await probeAccelerator(qemu, 'kvm', kernel), { ok: true, consoleLine: LINUX_BANNER });
});

test('QEMU that ends before a whole line came out: not usable, and says how it ended', async () => {
  const qemu = await fakeQemu('qemu-partial', "printf 'Linux vers'; exit 0");
  assert.deepEqual(await probeAccelerator(qemu, 'kvm', kernel), {
    ok: false,
    reason: 'QEMU exited with code 0 before the kernel printed a line',
  });
  const silent = await fakeQemu('qemu-partial-hangs', "printf 'Linux vers'; exec sleep 30");
  assert.deepEqual(await probeAccelerator(silent, 'kvm', kernel, { timeoutMs: 300 }), {
    ok: false,
    reason: 'no kernel line in 0.3 s (only "Linux vers")',
  });
});

test("QEMU's MSR abort: the reason quotes QEMU's error line and how it died", async () => {
  const qemu = await fakeQemu(
    'qemu-msr',
    `echo 'qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69' >&2
echo "qemu-system-x86_64: ../../target/i386/kvm/kvm.c:3105: kvm_buf_set_msrs: Assertion \\\`ret == cpu->kvm_msr_buf->nmsrs' failed." >&2
exit 1`,
  );
  const info = await detectAccelerator(linux(qemu));
  assert.equal(info.accel, 'tcg');
  assert.equal(
    info.fallbackReason,
    'KVM did not boot the guest on this machine: failed to set MSR 0x10a to 0x69 (QEMU exited with code 1)',
  );
  const aborting = await fakeQemu(
    'qemu-msr-abort',
    "echo 'qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69' >&2; kill -ABRT $$",
  );
  assert.deepEqual(await probeAccelerator(aborting, 'kvm', kernel), {
    ok: false,
    reason: 'failed to set MSR 0x10a to 0x69 (QEMU was killed by SIGABRT)',
  });
});

test('QEMU refusing the accelerator: the reason quotes its error line, not its warnings', async () => {
  const qemu = await fakeQemu(
    'qemu-refuses',
    'echo "qemu-system-x86_64: warning: host doesn\'t support requested feature" >&2\n' +
      'echo "qemu-system-x86_64: -accel kvm: Could not access KVM kernel module: Permission denied" >&2\n' +
      'echo "qemu-system-x86_64: -accel kvm: failed to initialize kvm: Permission denied" >&2\nexit 1',
  );
  const opts = linux(qemu);
  const info = await detectAccelerator(opts);
  assert.equal(
    info.fallbackReason,
    'KVM could not be started: -accel kvm: Could not access KVM kernel module: Permission denied (QEMU exited with code 1)',
  );
  // A start-up error is the host's state now (a group, a module), not a verdict: not remembered.
  assert.equal((await detectAccelerator(opts)).source, 'probe');
});

test('a QEMU binary that cannot be started is a reason, not a crash', async () => {
  const result = await probeAccelerator(path.join(dir, 'missing-qemu'), 'kvm', kernel);
  const missing = path.join(dir, 'missing-qemu');
  assert.deepEqual(result, {
    ok: false,
    reason: `could not start ${missing}: spawn ${missing} ENOENT`,
    startup: true,
  });
});
