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
  HW_BOOT_WATCHDOG_MS,
  rememberBootFailure,
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
    'kernel',
    'ok',
    'probeMs',
    'qemu',
    'qemuVersion',
    'source',
  ]);
  assert.equal(v.host, os.hostname());
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

test('rememberBootFailure: TCG with the reason, remembered for the next start', async () => {
  const { qemu, calls } = await countingQemu('qemu-watchdog');
  const opts = await setup(qemu);
  assert.equal((await detectAccelerator(opts)).accel, 'kvm');
  assert.equal(HW_BOOT_WATCHDOG_MS, 3000);
  const fallback = await rememberBootFailure(opts, 'kvm', 'no console output in 3 s');
  const expected = {
    accel: 'tcg',
    label: 'TCG — KVM did not boot the guest on this machine: no console output in 3 s',
    fallbackReason: 'KVM did not boot the guest on this machine: no console output in 3 s',
  };
  assert.deepEqual(fallback, { ...expected, source: 'watchdog' });
  const later = await decideAccelerator(opts);
  assert.deepEqual(later.info, { ...expected, source: 'remembered' });
  assert.equal(later.verdict?.source, 'watchdog');
  assert.equal(later.verdict?.ok, false);
  assert.equal(later.verdict?.probeMs, undefined);
  // The version the probe recorded is kept for display.
  assert.equal(later.verdict?.qemuVersion, 'QEMU emulator version 9.9.9 (fake)');
  assert.equal((await calls()).length, 2);
  assert.equal((await verdictFile(opts)).verdicts.length, 1);
});

test('forgetAcceleratorVerdict: the next start probes again', async () => {
  const { qemu, calls } = await countingQemu('qemu-forget');
  const opts = await setup(qemu);
  await rememberBootFailure(opts, 'kvm', 'no console output in 3 s');
  assert.equal((await detectAccelerator(opts)).accel, 'tcg');
  assert.equal((await calls()).length, 0);
  await forgetAcceleratorVerdict(opts);
  assert.deepEqual(await detectAccelerator(opts), {
    accel: 'kvm',
    label: 'KVM — hardware acceleration',
    source: 'probe',
  });
  assert.equal((await calls()).length, 2);
  // Forgetting when nothing is remembered, or when the files are gone, is not an error.
  await forgetAcceleratorVerdict({ ...opts, kernelKey: 'other' });
  await forgetAcceleratorVerdict({ ...opts, qemuBinary: path.join(dir, 'gone') });
});

test('the cache folder: FARFETCHD_LAB_CACHE, else XDG_CACHE_HOME, else ~/.cache', () => {
  assert.equal(labCacheDir({ FARFETCHD_LAB_CACHE: '/var/cache/lab' }), '/var/cache/lab');
  assert.equal(labCacheDir({ XDG_CACHE_HOME: '/x' }), '/x/farfetchd-lab');
  assert.equal(labCacheDir({}), path.join(os.homedir(), '.cache', 'farfetchd-lab'));
});
