// The grader in the real guest, Part 3: the reference module gets every point (through the CLI's
// --format prairielearn), a module with default_llseek too (the spec leaves llseek open), and a
// root check left in, or an ioctl that does not check the pid, fail the checks named for them.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import { check, failedChecks, gradeVariant, saveReport, studentFolder, VARIANTS } from './grader-variants.ts';

test('the reference Part 3 passes every check (check --format prairielearn)', async () => {
  const { runCli } = await import('../../emulator/test/integration/helpers.ts');
  const src = studentFolder('farfetch_p3');
  const r = await runCli(['check', '--part', '3', '--src', src, '--format', 'prairielearn']).finally(() =>
    rmSync(src, { recursive: true }),
  );
  assert.match(r.stdout, /^\{/, `no JSON on stdout (exit ${r.code}): ${r.stderr}`);
  saveReport('p3-reference.prairielearn', JSON.parse(r.stdout));
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const results = JSON.parse(r.stdout) as {
    gradable: boolean;
    score: number;
    tests: { name: string; points: number; max_points: number }[];
  };
  assert.equal(results.gradable, true);
  assert.equal(results.score, 1);
  assert.deepEqual(
    results.tests.filter((t) => t.points !== t.max_points).map((t) => t.name),
    [],
  );
  assert.ok(results.tests.some((t) => t.name === 'device_registered'));
  assert.ok(results.tests.some((t) => t.name === 'p3_leftover_node_after_rmmod_is_enxio'));
});

test('default_llseek (a choice the spec leaves open) loses no point', async () => {
  const report = await gradeVariant(3, 'defaultLlseek', 'farfetch_p3', VARIANTS.defaultLlseek);
  assert.deepEqual(failedChecks(report), []);
  assert.equal(report.score, report.maxScore);
});

test('a root check left in Part 3: p3_has_no_root_check fails', async () => {
  const report = await gradeVariant(3, 'rootCheckInP3', 'farfetch_p3', VARIANTS.rootCheckInP3);
  assert.deepEqual(failedChecks(report), ['p3_has_no_root_check']);
  assert.match(
    check(report, 'p3_has_no_root_check').message,
    /^expected 7, got -EPERM from ret \(suite line \d+\)\nHint: In Part 3 the device node's permissions decide/,
  );
});

test('ioctl not checking the pid: p3_ioctl_no_such_pid_is_esrch fails (and the case that needs a failed ioctl)', async () => {
  const report = await gradeVariant(3, 'ioctlNoPidCheck', 'farfetch_p3', VARIANTS.ioctlNoPidCheck);
  assert.deepEqual(failedChecks(report), [
    'p3_ioctl_no_such_pid_is_esrch',
    'p3_failed_ioctl_keeps_the_old_pid',
  ]);
  assert.match(
    check(report, 'p3_ioctl_no_such_pid_is_esrch').message,
    /^expected -ESRCH, got 0 from res\(ioctl\(fd, 0, &nobody\)\) \(suite line \d+\)\nHint: .*find_get_pid/,
  );
});
