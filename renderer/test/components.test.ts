// Runs the Vue component tests (renderer/test/*.spec.ts, vitest + happy-dom) from npm test and
// reports each of their cases here, so they count in the one summary.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../../emulator/src/image.ts';

interface VitestReport {
  testResults: {
    name: string;
    assertionResults: { fullName: string; status: string; failureMessages: string[] }[];
  }[];
}

const specDir = path.join(repoRoot, 'renderer', 'test');
const specs = readdirSync(specDir)
  .filter((f) => f.endsWith('.spec.ts'))
  .sort();
const out = path.join(mkdtempSync(path.join(os.tmpdir(), 'vitest-')), 'report.json');
const run = spawnSync(
  path.join(repoRoot, 'node_modules', '.bin', 'vitest'),
  ['run', '-c', 'renderer/vitest.config.ts', '--reporter=json', `--outputFile=${out}`],
  { cwd: repoRoot, encoding: 'utf8' },
);
const report = JSON.parse(readFileSync(out, 'utf8')) as VitestReport;
const cases = report.testResults.flatMap((file) => file.assertionResults);

test('vitest ran every spec file and every case in it', () => {
  const ran = report.testResults.map((file) => path.relative(specDir, file.name)).sort();
  assert.deepEqual(ran, specs, run.stdout + run.stderr);
  // Each `it(` in the sources is one case vitest must have reported.
  const written = specs
    .map((f) => readFileSync(path.join(specDir, f), 'utf8').match(/^\s*it\(/gm)?.length ?? 0)
    .reduce((a, b) => a + b, 0);
  assert.equal(cases.length, written, run.stdout + run.stderr);
});

for (const c of cases) {
  test(`component: ${c.fullName}`, () => {
    assert.equal(c.status, 'passed', c.failureMessages.join('\n'));
  });
}
