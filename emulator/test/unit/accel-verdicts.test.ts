// The remembered accelerator verdict: a later start with the same host, QEMU and kernel runs no
// QEMU at all; a change of any of them, a forget, or a corrupt file means a new probe.
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import {
  appendFile,
  chmod,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  utimes,
  writeFile,
} from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  decideAccelerator,
  detectAccelerator,
  forgetAcceleratorVerdict,
  fallBackAfterSilentBoot,
  HW_BOOT_WATCHDOG_MS,
  type DetectAcceleratorOptions,
} from '../../src/accel.ts';
import { labCacheDir, VERDICT_FILE } from '../../src/accel-verdicts.ts';

let dir: string;
let fakeKvm: string;
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'accel-verdicts-test-'));
  fakeKvm = path.join(dir, 'kvm');
  await writeFile(fakeKvm, '');
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const BANNER = 'Linux version 6.12.117-farfetch (fake)';

/** A fake QEMU whose kernel boots, appending one line per invocation to NAME.log. */
async function countingQemu(name: string): Promise<{ qemu: string; calls: () => Promise<string[]> }> {
  const qemu = path.join(dir, name);
  const log = `${qemu}.log`;
  await writeFile(
    qemu,
    `#!/bin/sh
echo "$1" >> '${log}'
if [ "$1" = --version ]; then echo 'QEMU emulator version 9.9.9 (fake)'; exit 0; fi
printf '${BANNER}\\n'
exec sleep 30
`,
  );
  await chmod(qemu, 0o755);
  await writeFile(log, '');
  return { qemu, calls: async () => (await readFile(log, 'utf8')).split('\n').filter(Boolean) };
}

let n = 0;
/** A fresh cache folder and bzImage stand-in for each test. */
async function setup(qemu: string): Promise<DetectAcceleratorOptions> {
  const kernelPath = path.join(dir, `bzImage-${++n}`);
  await writeFile(kernelPath, 'kernel one');
  return {
    qemuBinary: qemu,
    kernelPath,
    platform: 'linux',
    env: {},
    kvmDevice: fakeKvm,
    cacheDir: path.join(dir, `cache-${n}`),
  };
}

async function verdictFile(
  opts: DetectAcceleratorOptions,
): Promise<{ version: number; verdicts: Record<string, unknown>[] }> {
  return JSON.parse(await readFile(path.join(opts.cacheDir!, VERDICT_FILE), 'utf8'));
}

test('a remembered verdict costs no QEMU run; the file holds the whole verdict', async () => {
  const { qemu, calls } = await countingQemu('qemu-count');
  const opts = await setup(qemu);
  const first = await decideAccelerator(opts);
  assert.deepEqual(first.info, { accel: 'kvm', label: 'KVM — hardware acceleration', source: 'probe' });
  // One probe boot (its first argument is -nodefaults) and one --version for the record.
  assert.deepEqual((await calls()).sort(), ['--version', '-nodefaults']);

  const second = await decideAccelerator(opts);
  assert.deepEqual(second.info, { accel: 'kvm', label: 'KVM — hardware acceleration', source: 'remembered' });
  assert.equal((await calls()).length, 2, 'the remembered start ran QEMU');

  const file = await verdictFile(opts);
  assert.equal(file.version, 1);
  assert.equal(file.verdicts.length, 1);
  const v = file.verdicts[0]!;
  assert.deepEqual(Object.keys(v).sort(), [
    'accel',
    'decidedAt',
    'host',
    'hostRelease',
    'kernel',
    'ok',
    'probeMs',
    'qemu',
    'qemuVersion',
    'source',
  ]);
  assert.equal(v.host, os.hostname());
  assert.equal(v.hostRelease, os.release());
  assert.equal(v.accel, 'kvm');
  assert.equal(v.ok, true);
  assert.equal(v.source, 'probe');
  assert.equal(v.qemuVersion, 'QEMU emulator version 9.9.9 (fake)');
  assert.equal((v.qemu as { path: string }).path, qemu);
  assert.equal(v.kernel, `${'kernel one'.length}:${Math.trunc(statSync(opts.kernelPath).mtimeMs)}`);
  assert.ok(Number.isInteger(v.probeMs) && (v.probeMs as number) >= 0);
  assert.equal(new Date(v.decidedAt as string).toISOString(), v.decidedAt);
  assert.deepEqual(second.verdict, v);
  // Written atomically: nothing but the file itself is left in the folder.
  assert.deepEqual(await readdir(opts.cacheDir!), [VERDICT_FILE]);
});

test('a new QEMU binary (size or mtime) or a new kernel means a new probe', async () => {
  const { qemu, calls } = await countingQemu('qemu-change');
  const opts = await setup(qemu);
  await detectAccelerator(opts);
  assert.equal((await calls()).length, 2);

  // Same size, new mtime: an upgraded package.
  await utimes(qemu, new Date(), new Date(Date.now() + 5000));
  assert.equal((await detectAccelerator(opts)).source, 'probe');
  assert.equal((await calls()).length, 4);
  assert.equal((await detectAccelerator(opts)).source, 'remembered');

  // A rebuilt kernel (new contents, so a new size) without a kernelKey.
  await writeFile(opts.kernelPath, 'kernel number two');
  assert.equal((await detectAccelerator(opts)).source, 'probe');
  assert.equal((await calls()).length, 6);

  // With the manifest's kernelKey, the key decides, not the file.
  assert.equal((await detectAccelerator({ ...opts, kernelKey: 'k1' })).source, 'probe');
  await appendFile(opts.kernelPath, ' and more');
  assert.equal((await detectAccelerator({ ...opts, kernelKey: 'k1' })).source, 'remembered');
  assert.equal((await detectAccelerator({ ...opts, kernelKey: 'k2' })).source, 'probe');
  assert.equal((await calls()).length, 10);
  // Each key keeps its own verdict.
  assert.equal((await verdictFile(opts)).verdicts.length, 5);
});

test('a corrupt or foreign verdict file is ignored and rewritten', async () => {
  const { qemu, calls } = await countingQemu('qemu-corrupt');
  for (const garbage of ['{not json', '[]', '{"version":1,"verdicts":[{"host":1}]}', '']) {
    const opts = await setup(qemu);
    await mkdir(opts.cacheDir!, { recursive: true });
    await writeFile(path.join(opts.cacheDir!, VERDICT_FILE), garbage);
    const before = (await calls()).length;
    assert.equal((await detectAccelerator(opts)).source, 'probe', garbage);
    assert.equal((await calls()).length, before + 2);
    const file = await verdictFile(opts);
    assert.equal(file.verdicts.length, 1, garbage);
    assert.equal((await detectAccelerator(opts)).source, 'remembered', garbage);
  }
});

test('an unwritable cache folder is not fatal: the probe verdict is still used', async () => {
  const { qemu } = await countingQemu('qemu-unwritable');
  const opts = await setup(qemu);
  const notAFolder = path.join(dir, 'plain-file');
  await writeFile(notAFolder, '');
  const info = await detectAccelerator({ ...opts, cacheDir: path.join(notAFolder, 'cache') });
  assert.deepEqual(info, { accel: 'kvm', label: 'KVM — hardware acceleration', source: 'probe' });
});

test('FARFETCHD_LAB_ACCEL wins over a remembered verdict and runs nothing', async () => {
  const { qemu, calls } = await countingQemu('qemu-forced');
  const opts = await setup(qemu);
  await detectAccelerator(opts);
  const info = await detectAccelerator({ ...opts, env: { FARFETCHD_LAB_ACCEL: 'tcg' } });
  assert.deepEqual(info, {
    accel: 'tcg',
    label: 'TCG — no hardware acceleration: slower (set by FARFETCHD_LAB_ACCEL)',
    source: 'forced',
  });
  assert.equal((await calls()).length, 2);
});

/**
 * A fake QEMU whose behaviour is NAME.mode's word: `boots` (prints the kernel banner), `hangs`
 * (prints nothing), `busy` (KVM_CREATE_VM refused, as while VirtualBox holds VT-x), `msr` (the
 * MSR abort once the vCPU runs), or `gated` (boots once NAME.go exists). Logs each call.
 */
async function switchableQemu(name: string) {
  const qemu = path.join(dir, name);
  const log = `${qemu}.log`;
  const mode = `${qemu}.mode`;
  await writeFile(
    qemu,
    `#!/bin/sh
echo "$1" >> '${log}'
if [ "$1" = --version ]; then echo 'QEMU emulator version 9.9.9 (fake)'; exit 0; fi
case "$(cat '${mode}')" in
  boots) printf '${BANNER}\\n'; exec sleep 30 ;;
  gated) while [ ! -e '${qemu}.go' ]; do sleep 0.02; done; printf '${BANNER}\\n'; exec sleep 30 ;;
  busy) echo 'ioctl(KVM_CREATE_VM) failed: 16 Device or resource busy' >&2
        echo 'qemu-system-x86_64: -accel kvm: failed to initialize kvm: Device or resource busy' >&2; exit 1 ;;
  msr) echo 'qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69' >&2; kill -ABRT $$ ;;
  *) exec sleep 30 ;;
esac
`,
  );
  await chmod(qemu, 0o755);
  await writeFile(log, '');
  return {
    qemu,
    set: (word: 'boots' | 'hangs' | 'busy' | 'msr' | 'gated') => writeFile(mode, word),
    go: () => writeFile(`${qemu}.go`, ''),
    probes: async () => (await readFile(log, 'utf8')).split('\n').filter((l) => l === '-nodefaults').length,
  };
}

test('a silent boot whose re-probe boots the kernel: TCG for this session only, KVM remembered', async () => {
  const fake = await switchableQemu('qemu-slow-kvm');
  await fake.set('boots');
  const opts = await setup(fake.qemu);
  assert.equal((await detectAccelerator(opts)).accel, 'kvm');
  assert.equal(HW_BOOT_WATCHDOG_MS, 3000);
  const fallback = await fallBackAfterSilentBoot(opts, 'kvm', 'no console output in 3 s');
  const fallbackReason =
    'KVM did not boot the guest this time: no console output in 3 s (its probe boots the guest kernel; the next start tries KVM again)';
  assert.deepEqual(fallback, {
    accel: 'tcg',
    label: `TCG — ${fallbackReason}`,
    fallbackReason,
    source: 'watchdog',
  });
  assert.equal(await fake.probes(), 2, 'the watchdog did not probe again');
  const later = await decideAccelerator(opts);
  assert.deepEqual(later.info, { accel: 'kvm', label: 'KVM — hardware acceleration', source: 'remembered' });
  assert.equal(later.verdict?.ok, true);
  assert.equal(await fake.probes(), 2);
});

test('a silent boot whose re-probe fails too: remembered, and later starts run no QEMU', async () => {
  const fake = await switchableQemu('qemu-watchdog');
  await fake.set('boots');
  const opts = await setup(fake.qemu);
  assert.equal((await detectAccelerator(opts)).accel, 'kvm');
  await fake.set('hangs');
  const fallback = await fallBackAfterSilentBoot(
    { ...opts, probeTimeoutMs: 200 },
    'kvm',
    'no console output in 3 s',
  );
  const fallbackReason =
    'KVM did not boot the guest on this machine: no console output in 3 s, and a new probe failed: no console output in 0.2 s';
  const expected = { accel: 'tcg', label: `TCG — ${fallbackReason}`, fallbackReason };
  assert.deepEqual(fallback, { ...expected, source: 'watchdog' });
  const later = await decideAccelerator(opts);
  assert.deepEqual(later.info, { ...expected, source: 'remembered' });
  assert.equal(later.verdict?.source, 'watchdog');
  assert.equal(later.verdict?.ok, false);
  assert.equal(later.verdict?.probeMs, undefined);
  assert.equal(later.verdict?.qemuVersion, 'QEMU emulator version 9.9.9 (fake)');
  assert.equal(await fake.probes(), 2);
  assert.equal((await verdictFile(opts)).verdicts.length, 1);
});

test('KVM refused at start-up (VirtualBox holds VT-x) is never remembered; the MSR abort is', async () => {
  const fake = await switchableQemu('qemu-busy');
  await fake.set('busy');
  const opts = await setup(fake.qemu);
  const fallbackReason =
    'KVM could not be started: ioctl(KVM_CREATE_VM) failed: 16 Device or resource busy (QEMU exited with code 1)';
  const busy = await decideAccelerator(opts);
  assert.deepEqual(busy, {
    info: { accel: 'tcg', label: `TCG — ${fallbackReason}`, fallbackReason, source: 'probe' },
  });
  await assert.rejects(readFile(path.join(opts.cacheDir!, VERDICT_FILE)), { code: 'ENOENT' });
  // VirtualBox is closed: the very next start gets KVM.
  await fake.set('boots');
  assert.equal((await decideAccelerator(opts)).info.source, 'probe');
  assert.equal((await decideAccelerator(opts)).info.source, 'remembered');
  // A watchdog whose re-probe meets a busy KVM: TCG now, the good verdict kept.
  await fake.set('busy');
  assert.equal(
    (await fallBackAfterSilentBoot(opts, 'kvm', 'no console output in 3 s')).fallbackReason,
    'KVM did not boot the guest this time: no console output in 3 s (a new probe could not start it: ioctl(KVM_CREATE_VM) failed: 16 Device or resource busy (QEMU exited with code 1); the next start tries KVM again)',
  );
  assert.equal((await decideAccelerator(opts)).verdict?.ok, true);

  const msr = await switchableQemu('qemu-msr');
  await msr.set('msr');
  const msrOpts = await setup(msr.qemu);
  assert.equal(
    (await decideAccelerator(msrOpts)).info.fallbackReason,
    'KVM did not boot the guest on this machine: failed to set MSR 0x10a to 0x69 (QEMU was killed by SIGABRT)',
  );
  assert.equal((await decideAccelerator(msrOpts)).info.source, 'remembered');
  assert.equal(await msr.probes(), 1);
});

test('a session and two System pages asking at once share one probe QEMU', async () => {
  const fake = await switchableQemu('qemu-shared');
  await fake.set('gated');
  const opts = await setup(fake.qemu);
  const asked = [decideAccelerator(opts), decideAccelerator(opts), decideAccelerator(opts)];
  while ((await fake.probes()) === 0) await new Promise((resolve) => setTimeout(resolve, 20));
  await fake.go();
  const decisions = await Promise.all(asked);
  assert.deepEqual(
    decisions.map((d) => d.info),
    Array(3).fill({ accel: 'kvm', label: 'KVM — hardware acceleration', source: 'probe' }),
  );
  assert.equal(await fake.probes(), 1);
  // Another key (another kernel) is another probe.
  await writeFile(opts.kernelPath, 'kernel two, longer');
  assert.equal((await decideAccelerator(opts)).info.source, 'probe');
  assert.equal(await fake.probes(), 2);
});

test('forgetAcceleratorVerdict: the next start probes again', async () => {
  const fake = await switchableQemu('qemu-forget');
  await fake.set('msr');
  const opts = await setup(fake.qemu);
  assert.equal((await detectAccelerator(opts)).accel, 'tcg');
  assert.equal((await detectAccelerator(opts)).source, 'remembered');
  assert.equal(await fake.probes(), 1);
  await fake.set('boots');
  await forgetAcceleratorVerdict(opts);
  assert.deepEqual(await detectAccelerator(opts), {
    accel: 'kvm',
    label: 'KVM — hardware acceleration',
    source: 'probe',
  });
  assert.equal(await fake.probes(), 2);
  // Forgetting when nothing is remembered, or when the files are gone, is not an error.
  await forgetAcceleratorVerdict({ ...opts, kernelKey: 'other' });
  await forgetAcceleratorVerdict({ ...opts, qemuBinary: path.join(dir, 'gone') });
});

test("a verdict from another host kernel (os.release()) or an older lab's (no release) is not used", async () => {
  const { qemu, calls } = await countingQemu('qemu-release');
  const opts = await setup(qemu);
  await detectAccelerator(opts);
  const file = await verdictFile(opts);
  file.verdicts[0]!.hostRelease = '5.10.0-old';
  await writeFile(path.join(opts.cacheDir!, VERDICT_FILE), JSON.stringify(file));
  assert.equal((await detectAccelerator(opts)).source, 'probe');
  const again = await verdictFile(opts);
  delete again.verdicts[0]!.hostRelease;
  await writeFile(
    path.join(opts.cacheDir!, VERDICT_FILE),
    JSON.stringify({ version: 1, verdicts: [again.verdicts[0]] }),
  );
  assert.equal((await detectAccelerator(opts)).source, 'probe');
  assert.equal((await detectAccelerator(opts)).source, 'remembered');
  assert.equal((await calls()).filter((c) => c === '-nodefaults').length, 3);
});

test('the cache folder: FARFETCHD_LAB_CACHE, else XDG_CACHE_HOME, else ~/.cache', () => {
  assert.equal(labCacheDir({ FARFETCHD_LAB_CACHE: '/var/cache/lab' }), '/var/cache/lab');
  assert.equal(labCacheDir({ XDG_CACHE_HOME: '/x' }), '/x/farfetchd-lab');
  assert.equal(labCacheDir({}), path.join(os.homedir(), '.cache', 'farfetchd-lab'));
});
