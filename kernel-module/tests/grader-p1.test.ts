// The grader in the real guest, Part 1: the reference module gets every point (through the CLI's
// --json), and each deliberately broken variant fails exactly the check named for its defect (and
// the ones listed with it). One grading per test: each builds the module in a fresh guest.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import type { CheckReport } from '../../emulator/src/api.ts';
import { check, failedChecks, gradeVariant, saveReport, studentFolder, VARIANTS } from './grader-variants.ts';

test('the reference Part 1 passes every check with every point (check --json)', async () => {
  const { runCli } = await import('../../emulator/test/integration/helpers.ts');
  const src = studentFolder('farfetch_p1');
  const r = await runCli(['check', '--part', '1', '--src', src, '--json']).finally(() =>
    rmSync(src, { recursive: true }),
  );
  assert.match(r.stdout, /^\{/, `no JSON on stdout (exit ${r.code}): ${r.stderr}`);
  const report = JSON.parse(r.stdout) as CheckReport;
  saveReport('p1-reference', report);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.deepEqual(failedChecks(report), []);
  assert.deepEqual(
    report.tests.filter((t) => t.status === 'skip').map((t) => t.name),
    [],
  );
  assert.equal(report.score, report.maxScore);
  assert.equal(report.part, 1);
  assert.equal(report.tests.length, 44);
  assert.match(check(report, 'checkpatch').message, /^checkpatch: 4 files: 0 errors, 0 warnings$/);
  assert.match(r.stderr, /check part 1: insmod farfetch_p1\.ko/);
});

test('no TASK_SIZE_OF check: the module text is read, kernel_text_address_is_efault fails', async () => {
  const report = await gradeVariant(1, 'noTaskSizeCheck', 'farfetch_p1', VARIANTS.noTaskSizeCheck);
  assert.deepEqual(failedChecks(report), ['kernel_text_address_is_efault']);
  assert.match(
    check(report, 'kernel_text_address_is_efault').message,
    /^expected -EFAULT, got 8 from far_high\(FAR_READ, buf, getpid\(\), text, 8\) \(suite line \d+\)\nHint: .*TASK_SIZE_OF/,
  );
});

test('GUP in Part 1 (the Part 2 module handed in): the never-touched page is not EFAULT', async () => {
  const report = await gradeVariant(1, 'gupInPart1', 'farfetch_p2', []);
  assert.ok(failedChecks(report).includes('p1_untouched_page_is_efault'), failedChecks(report).join(' '));
  assert.match(
    check(report, 'p1_untouched_page_is_efault').message,
    /^expected -EFAULT, got \d+ from .*\nHint: .*get_user_pages family/,
  );
});

test('no set_page_dirty_lock: far_write_marks_the_page_dirty sees no marking, the disk check cannot', async () => {
  const report = await gradeVariant(1, 'noSetPageDirty', 'farfetch_p1', VARIANTS.noSetPageDirty);
  // On 6.12 ext4 the write fault that made the pte writable already dirtied the page, so the
  // write reaches the disk unless writeback races the copy: only the watched marking tells.
  assert.deepEqual(failedChecks(report), ['far_write_marks_the_page_dirty']);
  assert.match(
    check(report, 'far_write_marks_the_page_dirty').message,
    /^expected the page written to be marked dirty \(set_page_dirty_lock\(\)\), got no call of folio_mark_dirty\(\) outside a page fault \(0 inside\): writeback may never write the change to the file\nHint: .*set_page_dirty_lock/,
  );
  assert.equal(check(report, 'shared_file_write_reaches_the_disk').status, 'pass');
});

test('no put_page: the pages read stay allocated, far_drops_page_references fails and names the leak', async () => {
  const report = await gradeVariant(1, 'noPutPage', 'farfetch_p1', VARIANTS.noPutPage);
  assert.deepEqual(failedChecks(report), ['far_drops_page_references']);
  assert.match(
    check(report, 'far_drops_page_references').message,
    /^expected the 256 pages read to be freed when the target exited, got 2[0-9]{2} still allocated, mapped by no one: a page reference leaked\nHint: .*put_page/,
  );
  assert.equal(check(report, 'far_drops_mm_reference').status, 'pass');
});

test('a NULL dereference: the oops fails the running check with its file:line, the later checks still run', async () => {
  const report = await gradeVariant(1, 'nullDeref', 'farfetch_p1', VARIANTS.nullDeref);
  assert.deepEqual(failedChecks(report), ['kernel_thread_is_esrch', 'exited_process_is_esrch']);
  for (const name of ['kernel_thread_is_esrch', 'exited_process_is_esrch']) {
    assert.match(
      check(report, name).message,
      /^expected no oops, got: BUG: kernel NULL pointer dereference, address: [0-9a-f]+\nat: farfetch_p1\.c:\d+ \(p1_farfetch, p1_farfetch\+0x[0-9a-f]+\/0x[0-9a-f]+\)\nkernel log:\n {2}\| /,
    );
  }
  // Checks after the oops ran (in a fresh guest) and passed.
  for (const name of [
    'read_from_another_process',
    'write_into_another_process',
    'module_unloads',
    'far_drops_mm_reference',
  ]) {
    assert.equal(check(report, name).status, 'pass', name);
  }
  assert.deepEqual(
    report.tests.filter((t) => t.status === 'skip').map((t) => t.name),
    [],
  );
});
