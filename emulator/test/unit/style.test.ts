// The code's style gates, in `npm test` so that they cannot be skipped: strict TypeScript,
// eslint, prettier, and checkpatch for the kernel C.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../../src/image.ts';

function run(file: string, args: string[]): { status: number | null; output: string } {
  const r = spawnSync(file, args, { cwd: repoRoot, encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

const bin = (name: string) => path.join(repoRoot, 'node_modules', '.bin', name);

test('TypeScript type-checks in strict mode', () => {
  const r = run(bin('tsc'), ['-p', 'tsconfig.json', '--noEmit']);
  assert.equal(r.status, 0, r.output);
});

test('the renderer type-checks (vue-tsc, strict)', () => {
  const r = run(bin('vue-tsc'), ['-p', 'renderer/tsconfig.json']);
  assert.equal(r.status, 0, r.output);
});

test('eslint reports nothing', () => {
  const r = run(bin('eslint'), ['--max-warnings=0', '.']);
  assert.equal(r.status, 0, r.output);
});

test('prettier finds every file formatted', () => {
  const r = run(bin('prettier'), ['--check', '.']);
  assert.equal(r.status, 0, r.output);
});

test('run_checkpatch.sh: zero errors and zero warnings on the kernel C and the patch', () => {
  const r = run('bash', [path.join(repoRoot, 'kernel-module', 'run_checkpatch.sh')]);
  assert.match(
    r.output,
    /^checkpatch: \d+ files and patch\/farfetch\.patch: 0 errors, 0 warnings$/m,
    r.output,
  );
  assert.equal(r.status, 0, r.output);
});
