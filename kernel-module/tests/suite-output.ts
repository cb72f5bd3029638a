// What the in-guest programs print, read exactly: the C suite's TAP and closing line, and the
// fuzzer's `json:` summary line.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../../emulator/src/image.ts';

export const SUITE = '/usr/local/libexec/farfetch/farfetch_tests';
export const FUZZER = '/usr/local/libexec/farfetch/farfetch_fuzz';

/** Parses TAP plus the closing `N passed, N failed` line and checks they agree. */
export function parseSuite(stdout: string): { passed: string[]; failed: string[] } {
  const passed = [...stdout.matchAll(/^ok \d+ - (.*)$/gm)].map((m) => m[1]!);
  const failed = [...stdout.matchAll(/^not ok \d+ - (.*)$/gm)].map((m) => m[1]!);
  const summary = /^(\d+) passed, (\d+) failed$/m.exec(stdout);
  assert.ok(summary, `no summary line in:\n${stdout}`);
  assert.equal(Number(summary[1]), passed.length, 'summary disagrees with the ok lines');
  assert.equal(Number(summary[2]), failed.length, 'summary disagrees with the not ok lines');
  return { passed, failed };
}

/** farfetch_fuzz's summary (its `json:` line). */
export interface FuzzSummary {
  part: number;
  kernel: string;
  seed: number;
  mode: 'fuzz' | 'stress';
  seconds: number;
  calls: number;
  ok: number;
  bytes: number;
  errnos: Record<string, number>;
  violations: number;
  splats: number;
  refcount: number;
  rmmod: number;
  freePagesBefore: number;
  freePagesAfter: number;
  leakMargin: number;
  settles: number;
  targetRestarts: number;
  targetOps: number;
  targetForks: number;
  pageWalks: number;
  pass: boolean;
}

export function parseFuzz(stdout: string): FuzzSummary {
  const line = /^json: (\{.*\})$/m.exec(stdout);
  assert.ok(line, `no json: line in:\n${stdout}`);
  return JSON.parse(line[1]!) as FuzzSummary;
}

/** The errnos the spec allows each part (docs/testing.md; kernel-module/tests/fuzz/fuzz_check.c). */
export const ALLOWED_ERRNOS: Record<1 | 2 | 3, string[]> = {
  1: ['EINVAL', 'ESRCH', 'EFAULT'],
  2: ['EINVAL', 'ESRCH', 'EFAULT', 'ENOMEM'],
  3: ['EINVAL', 'ESRCH', 'EFAULT', 'ENOMEM', 'EOVERFLOW'],
};

/** Everything a passing fuzz or stress run must show, asserted one by one for a readable failure. */
export function assertFuzzPassed(s: FuzzSummary, part: 1 | 2 | 3, output: string): void {
  assert.equal(s.part, part);
  assert.equal(s.violations, 0, output);
  assert.equal(s.splats, 0, output);
  assert.equal(s.refcount, 0, output);
  assert.equal(s.rmmod, 0, output);
  assert.ok(s.freePagesBefore - s.freePagesAfter <= s.leakMargin, output);
  for (const name of Object.keys(s.errnos)) {
    assert.ok(ALLOWED_ERRNOS[part].includes(name), `part ${part}: ${name} is not allowed\n${output}`);
  }
  assert.equal(s.pass, true, output);
}

/** Writes `data` as test-results/NAME (JSON), so a run's numbers can be quoted. */
export function recordResults(name: string, data: unknown): void {
  const dir = path.join(repoRoot, 'test-results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, name), JSON.stringify(data, null, 2) + '\n');
}
