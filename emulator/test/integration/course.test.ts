// The course wrappers with the real CLI: build/course/gradescope/run_autograder against a fake
// /autograder root (AUTOGRADER_ROOT) in a temporary folder, and the PrairieLearn run.sh against a
// fake /grade root (GRADE_ROOT). A reference Part 1 gets full marks; a hand-in without a Makefile
// gets a graded zero that says why.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { repoRoot } from '../../src/image.ts';
import { initWorkspace } from '../../src/workspace.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'course-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

interface GradescopeResults {
  score: number;
  output: string;
  tests?: { name: string; score: number; max_score: number; status: string; output: string }[];
}

/** A fake /autograder: source/part, submission/ from `submit`, results/ written by the wrapper. */
function autograde(name: string, part: number, submit: (dir: string) => void): GradescopeResults {
  const root = path.join(tmp, name);
  mkdirSync(path.join(root, 'source'), { recursive: true });
  mkdirSync(path.join(root, 'submission'));
  writeFileSync(path.join(root, 'source', 'part'), `${part}\n`);
  submit(path.join(root, 'submission'));
  const r = spawnSync('bash', [path.join(repoRoot, 'build', 'course', 'gradescope', 'run_autograder')], {
    env: { ...process.env, AUTOGRADER_ROOT: root, FARFETCHD_LAB_DIR: repoRoot },
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  return JSON.parse(readFileSync(path.join(root, 'results', 'results.json'), 'utf8')) as GradescopeResults;
}

test('Gradescope: a hand-in without a Makefile is graded zero with the reason', () => {
  const results = autograde('no-makefile', 1, (dir) =>
    writeFileSync(path.join(dir, 'farfetch_p1.c'), '// empty\n'),
  );
  assert.equal(results.score, 0);
  const build = results.tests!.find((t) => t.name === 'module_builds')!;
  assert.equal(build.status, 'failed');
  assert.match(build.output, /has no Makefile: --src must be the folder with your module's Makefile/);
});

test('Gradescope: the reference Part 1, uploaded as the whole workspace, gets full marks', async () => {
  const workspace = path.join(tmp, 'reference-workspace');
  await initWorkspace(workspace, { mode: 'solution' });
  const results = autograde('reference', 1, (dir) => cpSync(workspace, dir, { recursive: true }));
  const max = results.tests!.reduce((sum, t) => sum + t.max_score, 0);
  assert.ok(max > 0);
  assert.equal(results.score, max, results.output);
  assert.deepEqual(
    results.tests!.filter((t) => t.status !== 'passed').map((t) => t.name),
    [],
  );
});

test('PrairieLearn: run.sh grades /grade/student for params.part into /grade/results', () => {
  const root = path.join(tmp, 'grade');
  mkdirSync(path.join(root, 'student'), { recursive: true });
  mkdirSync(path.join(root, 'data'));
  writeFileSync(path.join(root, 'data', 'data.json'), JSON.stringify({ params: { part: 2 } }));
  writeFileSync(path.join(root, 'student', 'farfetch_p2.c'), '// no Makefile\n');
  const r = spawnSync('bash', [path.join(repoRoot, 'build', 'course', 'prairielearn', 'run.sh')], {
    env: { ...process.env, GRADE_ROOT: root, FARFETCHD_LAB_DIR: repoRoot },
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const results = JSON.parse(readFileSync(path.join(root, 'results', 'results.json'), 'utf8')) as {
    gradable: boolean;
    score: number;
    message: string;
    tests: { name: string; points: number }[];
  };
  assert.equal(results.gradable, true);
  assert.equal(results.score, 0);
  assert.equal(results.message.split(':')[0], "Farfetch'd part 2");
  assert.equal(results.tests.find((t) => t.name === 'module_builds')!.points, 0);
});
