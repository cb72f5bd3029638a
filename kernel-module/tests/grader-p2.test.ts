// The grader in the real guest, Part 2: the reference module gets every point (through the CLI's
// --format gradescope --output), also graded straight from the repo's folder (its Makefile uses
// ../common), and a module that never releases the target's mm fails far_drops_mm_reference,
// which names the leak.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { check, failedChecks, gradeVariant, saveReport, studentFolder, VARIANTS } from './grader-variants.ts';

test('the reference Part 2 passes every check (check --format gradescope --output FILE)', async () => {
  const { runCli } = await import('../../emulator/test/integration/helpers.ts');
  const src = studentFolder('farfetch_p2');
  const out = mkdtempSync(path.join(os.tmpdir(), 'gradescope-'));
  const file = path.join(out, 'results.json');
  try {
    const args = ['check', '--part', '2', '--src', src, '--format', 'gradescope', '--output', file];
    const r = await runCli(args);
    const text = readFileSync(file, 'utf8');
    saveReport('p2-reference.gradescope', JSON.parse(text));
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(r.stdout, '');
    const results = JSON.parse(text) as {
      score: number;
      tests: { name: string; score: number; max_score: number; status: string }[];
    };
    assert.deepEqual(
      results.tests.filter((t) => t.status !== 'passed').map((t) => t.name),
      [],
    );
    assert.equal(
      results.score,
      results.tests.reduce((n, t) => n + t.max_score, 0),
    );
    assert.ok(results.tests.some((t) => t.name === 'gup_faults_in_untouched_pages' && t.score === 2));
  } finally {
    rmSync(src, { recursive: true });
    rmSync(out, { recursive: true });
  }
});

test("the repo's own folder, kernel-module/farfetch_p2 (with ../common), builds and gets every point", async () => {
  const { runCli } = await import('../../emulator/test/integration/helpers.ts');
  const src = path.join(import.meta.dirname, '..', 'farfetch_p2');
  const r = await runCli(['check', '--part', '2', '--src', src, '--json']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const report = JSON.parse(r.stdout) as { score: number; maxScore: number };
  assert.equal(report.score, report.maxScore);
  assert.match(r.stderr, /make \(6 files, with debug info for file:line\)/);
});

test('no mmput: the whole address space stays, far_drops_mm_reference fails and names it', async () => {
  const report = await gradeVariant(2, 'noMmput', 'farfetch_p2', VARIANTS.noMmput);
  assert.deepEqual(failedChecks(report), ['far_drops_mm_reference']);
  assert.match(
    check(report, 'far_drops_mm_reference').message,
    /^expected the target's pages to be freed when it exited, got 7\d\d of the 768 pages farfetch never read still mapped: its address space was never torn down, a reference on its mm leaked\nHint: .*mmput/,
  );
  const pages = check(report, 'far_drops_page_references');
  assert.equal(pages.status, 'skip');
  assert.match(pages.message, /^skipped: the target's whole address space was kept/);
});
