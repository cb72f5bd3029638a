// The package's scripts call the command by path: npm does not link a root package's own `bin`
// into node_modules/.bin, so `"bench": "farfetchd-lab bench"` failed with "not found".
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../../src/image.ts';

const cli = 'node emulator/bin/farfetchd-lab.js';
const benchUsage = /^Usage: farfetchd-lab bench \[--json\]\n/;

/** npm itself may warn about this machine's npm configuration; that is not ours to judge. */
const withoutNpmWarnings = (stderr: string) => stderr.replace(/^npm warn .*\n/gm, '');

test('the bench and image scripts run the CLI by its path', () => {
  const { scripts } = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  assert.equal(scripts.bench, `${cli} bench`);
  // What docs.test.ts takes `npm start` and `npm test` to be (start.test.ts and CI run these).
  assert.equal(scripts.start, 'node build/start.js');
  assert.equal(scripts.test, 'node build/test.js');
  assert.equal(scripts.image, `${cli} image`);
  assert.ok(existsSync(path.join(repoRoot, 'emulator', 'bin', 'farfetchd-lab.js')));
});

test('npm run bench reaches the CLI (its --help, as the benchmarks themselves take minutes)', () => {
  const r = spawnSync('npm', ['run', '-s', 'bench', '--', '--help'], { cwd: repoRoot, encoding: 'utf8' });
  assert.equal(withoutNpmWarnings(r.stderr), '');
  assert.equal(r.status, 0);
  assert.match(r.stdout, benchUsage);
});

test('npx farfetchd-lab bench reaches the CLI too', () => {
  const r = spawnSync('npx', ['--no-install', 'farfetchd-lab', 'bench', '--help'], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  assert.equal(withoutNpmWarnings(r.stderr), '');
  assert.equal(r.status, 0);
  assert.match(r.stdout, benchUsage);
});
