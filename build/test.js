#!/usr/bin/env node
// `npm test`: every test of the project through node's test runner, one summary at the end.
// Files run one at a time: integration tests boot QEMU under TCG and want both cores.
//   unit          emulator/test/unit, electron/test           (no guest)
//   integration   emulator/test/integration, kernel-module/tests, targets/tests   (real guest)
//   e2e           emulator/test/e2e                           (real guest + Debian chromium)
// `node build/test.js unit` runs one group; `node build/test.js --list unit` prints its files instead.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const groups = {
  unit: ['emulator/test/unit', 'electron/test', 'renderer/test'],
  integration: ['emulator/test/integration', 'kernel-module/tests', 'targets/tests'],
  e2e: ['emulator/test/e2e'],
};

function testFiles(dir) {
  const full = path.join(repo, dir);
  if (!existsSync(full)) return [];
  return readdirSync(full, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.test.ts') && !f.includes('node_modules'))
    .sort()
    .map((f) => path.join(dir, f));
}

const listOnly = process.argv[2] === '--list';
const selected = process.argv.slice(listOnly ? 3 : 2);
const names = selected.length ? selected : Object.keys(groups);
const files = names.flatMap((name) => {
  if (!groups[name]) {
    process.stderr.write(`test.js: unknown group '${name}' (use ${Object.keys(groups).join(', ')})\n`);
    process.exit(2);
  }
  return groups[name].flatMap(testFiles);
});
if (listOnly) {
  process.stdout.write(files.map((f) => `${f}\n`).join(''));
  process.exit(0);
}
// The spec reporter is for people; a TAP copy gives the counts for the plain summary line.
mkdirSync(path.join(repo, 'test-results'), { recursive: true });
const tapFile = path.join(repo, 'test-results', 'tests.tap');
const result = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    '--test-concurrency=1',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=tap',
    `--test-reporter-destination=${tapFile}`,
    ...files,
  ],
  { stdio: 'inherit', cwd: repo },
);
const tap = existsSync(tapFile) ? readFileSync(tapFile, 'utf8') : '';
const count = (name) => Number(new RegExp(`^# ${name} (\\d+)$`, 'm').exec(tap)?.[1] ?? 0);
const skipped = count('skipped') + count('todo');
console.log(
  `${count('pass')} passed, ${count('fail') + count('cancelled')} failed${skipped ? `, ${skipped} skipped` : ''}`,
);
process.exit(result.status ?? 1);
