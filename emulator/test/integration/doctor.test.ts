// `farfetchd-lab doctor` on this real machine, on the default path (FARFETCHD_LAB_ACCEL removed
// from the environment whatever the shell had): it probes again by booting the real guest kernel
// under the host's hardware accelerator, and what it prints is what a later start then uses.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import type { SystemReport } from '../../src/api.ts';
import { decideAccelerator, findQemu, nativeAccelerator } from '../../src/accel.ts';
import { formatSystemReport } from '../../src/doctor.ts';
import { loadImage, repoRoot } from '../../src/image.ts';
import { cliPath } from './helpers.ts';

function defaultEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.FARFETCHD_LAB_ACCEL;
  return env;
}

function doctor(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, 'doctor', ...args], {
      cwd: repoRoot,
      env: defaultEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('doctor --json: a verdict probed now by booting the guest kernel, then remembered', async () => {
  const r = await doctor(['--json']);
  assert.equal(r.stderr, '');
  const report = JSON.parse(r.stdout) as SystemReport;
  const image = loadImage();
  assert.equal(report.image.key, image.manifest.key);
  assert.equal(report.image.kernelRelease, image.manifest.kernelRelease);
  assert.equal(report.qemu.path, findQemu());
  assert.match(report.qemu.version ?? '', /^QEMU emulator version \d+\.\d+/);

  const accel = report.accelerator!;
  // doctor forgets the remembered verdict first: this one was reached just now, by a probe boot
  // unless the cheap checks already ruled the hardware accelerator out (no /dev/kvm: no probe).
  assert.equal(accel.source, 'probe');
  const cheapCheck = accel.fallbackReason !== undefined && !/did not boot/.test(accel.fallbackReason);
  assert.equal(typeof accel.probeMs, cheapCheck ? 'undefined' : 'number');
  const native = nativeAccelerator(process.platform)!;
  if (accel.accel === 'tcg') {
    // TCG only because the hardware accelerator was refused, and the reason says which one and why.
    assert.match(
      accel.fallbackReason ?? '',
      new RegExp(
        `^${native.toUpperCase()} (did not boot the guest on this machine|could not be started|is not usable): .+`,
      ),
    );
    if (/did not boot/.test(accel.fallbackReason!))
      assert.equal(accel.label, `TCG — ${accel.fallbackReason}`);
  } else {
    assert.equal(accel.accel, native);
    assert.equal(accel.fallbackReason, undefined);
  }
  const check = report.checks.find((c) => c.name === 'accelerator')!;
  assert.equal(check.ok, true);
  assert.ok(check.detail.startsWith(accel.label), check.detail);

  assert.equal(r.code, report.checks.every((c) => c.ok) ? 0 : 1);

  // The next start pays nothing: the same verdict, remembered.
  const later = await decideAccelerator({
    qemuBinary: report.qemu.path!,
    kernelPath: image.kernelPath,
    kernelKey: image.manifest.kernelKey,
    env: defaultEnv(),
  });
  if (cheapCheck) {
    assert.equal(later.info.source, 'probe'); // a cheap check (no /dev/kvm) is never remembered
  } else {
    assert.equal(later.info.source, 'remembered');
    assert.equal(later.verdict?.decidedAt, accel.decidedAt);
  }
  assert.equal(later.info.accel, accel.accel);
  assert.equal(later.info.label, accel.label);
});

test('doctor prints the same report as text', async () => {
  const r = await doctor([]);
  assert.equal(r.stderr, '');
  const line = r.stdout.split('\n').find((l) => /^ {2}(ok {2}|FAIL) {2}accelerator /.test(l));
  assert.ok(line, r.stdout);
  const json = JSON.parse((await doctor(['--json'])).stdout) as SystemReport;
  // A probe boot when the hardware accelerator could be tried at all, else only the cheap checks.
  assert.match(
    line,
    json.accelerator?.probeMs !== undefined
      ? /; probed now by booting the guest kernel \(\d+ ms\)$/
      : /; checked now$/,
  );
  // Same structure, line for line, except the numbers that change from run to run.
  const shape = (text: string) => text.replace(/\d+(\.\d+)? ?(ms|B|KiB|MiB|GiB|TiB)/g, 'N');
  assert.equal(shape(r.stdout), shape(formatSystemReport(json)));
});
