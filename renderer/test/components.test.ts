// Runs the Vue component tests (components.spec.ts, vitest + happy-dom) from npm test and
// reports each of their cases here, so they count in the one summary.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../../emulator/src/image.ts';

interface VitestReport {
  testResults: { assertionResults: { fullName: string; status: string; failureMessages: string[] }[] }[];
}

const out = path.join(mkdtempSync(path.join(os.tmpdir(), 'vitest-')), 'report.json');
const run = spawnSync(
  path.join(repoRoot, 'node_modules', '.bin', 'vitest'),
  ['run', '-c', 'renderer/vitest.config.ts', '--reporter=json', `--outputFile=${out}`],
  { cwd: repoRoot, encoding: 'utf8' },
);
const report = JSON.parse(readFileSync(out, 'utf8')) as VitestReport;
const cases = report.testResults.flatMap((file) => file.assertionResults);

test('vitest ran the component tests', () => {
  assert.ok(cases.length >= 4, run.stdout + run.stderr);
});

for (const c of cases) {
  test(`component: ${c.fullName}`, () => {
    assert.equal(c.status, 'passed', c.failureMessages.join('\n'));
  });
}
