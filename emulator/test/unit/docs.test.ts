// The README and docs/ stay true: every host command they show (npm …, npx farfetchd-lab …,
// node build/test.js …, in code blocks and inline code) is run by a test or by CI, and every
// relative link resolves to a file. Guest commands (modprobe, lab-ptwalk …) are the in-guest
// suite's business, not this file's.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../../src/image.ts';

/** What runs a documented command: a file (test or CI) and the text of the invocation in it. */
interface Runner {
  file: string;
  invocation: string;
}

const exec = 'emulator/test/integration/exec.test.ts';
const examples = 'emulator/test/integration/readme-examples.test.ts';
const guestSuite = 'kernel-module/tests/guest.test.ts';
const graderP1 = 'kernel-module/tests/grader-p1.test.ts';
const graderP2 = 'kernel-module/tests/grader-p2.test.ts';
const graderP3 = 'kernel-module/tests/grader-p3.test.ts';
const imageTest = 'emulator/test/integration/image.test.ts';
const doctorTest = 'emulator/test/integration/doctor.test.ts';
const scriptsTest = 'emulator/test/unit/npm-scripts.test.ts';
const thisFile = 'emulator/test/unit/docs.test.ts';
const workspaceUnit = 'emulator/test/unit/workspace.test.ts';
const workspaceGuest = 'emulator/test/integration/workspace.test.ts';
const workspaceInit = [{ file: workspaceUnit, invocation: "cli(['workspace', 'init', dir])" }];
/** --workspace is parsed (unit) and a session shares the folder (guest). */
const sharesWorkspace = (command: string): Runner[] => [
  { file: workspaceUnit, invocation: "for (const command of ['run', 'serve'])" },
  { file: workspaceUnit, invocation: "cli([command, '--workspace', missing])" },
  { file: workspaceGuest, invocation: 'new LabSession({ workspace: ws })' },
  command === 'run'
    ? { file: 'emulator/src/cli-run.ts', invocation: 'bootForCli(module, out, true, workspace)' }
    : { file: 'emulator/src/cli.ts', invocation: 'createBackend({ workspace })' },
];

/**
 * Every command the docs show, as they spell it, and what runs it. A documented command missing
 * here fails the first test below; an entry whose file lacks the invocation fails it too.
 */
const RUNS: Record<string, Runner[]> = {
  'npm start': [
    { file: 'electron/test/start.test.ts', invocation: "path.join(repoRoot, 'build', 'start.js')" },
  ],
  'npm test': [{ file: '.ci/run', invocation: '\nnpm test' }],
  'npm ci': [{ file: '.ci/run', invocation: '\nnpm ci --no-audit --no-fund' }],
  'npx farfetchd-lab image [--rebuild]': [
    { file: imageTest, invocation: "runCli(['image'], { npx: true })" },
  ],
  'npx farfetchd-lab image': [{ file: imageTest, invocation: "runCli(['image'], { npx: true })" }],
  'npx farfetchd-lab run [--module M] [--workspace DIR]': [
    { file: 'emulator/test/integration/run.test.ts', invocation: "[cliPath, 'run', '--module', 'p1']" },
    ...sharesWorkspace('run'),
  ],
  'npx farfetchd-lab run --workspace DIR': sharesWorkspace('run'),
  'npx farfetchd-lab exec [--module M] [--put HOST[:GUEST]]... [--timeout SEC] -- CMD [ARG...]': [
    {
      file: exec,
      invocation: "['--put', path.join(dir, 'hello'), '--put', `${path.join(dir, 'data.txt')}:/tmp/sub/`]",
    },
    { file: exec, invocation: "['--timeout', '2']" },
  ],
  'npx farfetchd-lab exec [--module p1|p2|p3] [--put FILE[:GUEST]] -- CMD …': [
    {
      file: exec,
      invocation: "['--put', path.join(dir, 'hello'), '--put', `${path.join(dir, 'data.txt')}:/tmp/sub/`]",
    },
  ],
  'npx farfetchd-lab serve [--port N] [--workspace DIR]': [
    {
      file: 'emulator/test/unit/serve-cli.test.ts',
      invocation: "[cliPath, 'serve', '--port', String(port)]",
    },
    ...sharesWorkspace('serve'),
  ],
  'npx farfetchd-lab serve --workspace DIR': sharesWorkspace('serve'),
  'npx farfetchd-lab serve --workspace ~/farfetchd': sharesWorkspace('serve'),
  'npx farfetchd-lab workspace init [--solution] DIR': [
    ...workspaceInit,
    { file: workspaceGuest, invocation: "initWorkspace(reference, { mode: 'solution' })" },
  ],
  'npx farfetchd-lab workspace init ~/farfetchd': workspaceInit,
  'npx farfetchd-lab check --part 2 --src kernel-module/farfetch_p2': [
    {
      file: 'kernel-module/tests/grader-p2.test.ts',
      invocation:
        "path.join(import.meta.dirname, '..', 'farfetch_p2');\n  const r = await runCli(['check', '--part', '2', '--src', src, '--json'])",
    },
  ],
  'npx farfetchd-lab check --part 1 --src ~/farfetchd/farfetch_p1': [
    { file: workspaceGuest, invocation: "runCli(['check', '--part', String(part), '--src', src, '--json'])" },
  ],
  'npx farfetchd-lab check --part 1|2|3 --src DIR [--json] [--format gradescope|prairielearn] [--output FILE]':
    [
      { file: graderP1, invocation: "runCli(['check', '--part', '1', '--src', src, '--json'])" },
      {
        file: graderP2,
        invocation: "['check', '--part', '2', '--src', src, '--format', 'gradescope', '--output', file]",
      },
      {
        file: graderP3,
        invocation: "runCli(['check', '--part', '3', '--src', src, '--format', 'prairielearn'])",
      },
    ],
  'npx farfetchd-lab check --part 1 --src ~/my-farfetch-p1': [
    { file: graderP1, invocation: "runCli(['check', '--part', '1', '--src', src, '--json'])" },
  ],
  'npx farfetchd-lab check --part 1 --src ~/farfetchd-lab-workspace/p1': [
    { file: graderP1, invocation: "runCli(['check', '--part', '1', '--src', src, '--json'])" },
  ],
  // The benchmarks themselves take minutes and are run by hand (docs/benchmarks.md); a test runs
  // the command's wiring, through npm and through npx.
  'npx farfetchd-lab bench [--json]': [
    { file: scriptsTest, invocation: "['--no-install', 'farfetchd-lab', 'bench', '--help']" },
  ],
  'npx farfetchd-lab bench': [
    { file: scriptsTest, invocation: "['--no-install', 'farfetchd-lab', 'bench', '--help']" },
  ],
  'npm run bench': [{ file: scriptsTest, invocation: "['run', '-s', 'bench', '--', '--help']" }],
  'npx farfetchd-lab doctor [--json]': [{ file: doctorTest, invocation: "doctor(['--json'])" }],
  'npx farfetchd-lab doctor': [{ file: doctorTest, invocation: 'doctor([])' }],
  'npx farfetchd-lab exec -- uname -r': [
    { file: exec, invocation: "runCli(['exec', '--', 'uname', '-r'], { npx: true })" },
  ],
  'npx farfetchd-lab exec --module p3 -- grep farfetch /proc/devices': [
    { file: examples, invocation: "['exec', '--module', 'p3', '--', 'grep', 'farfetch', '/proc/devices']" },
  ],
  'npx farfetchd-lab exec --module p2 --put ./a.out -- ./a.out': [
    { file: examples, invocation: "['exec', '--module', 'p2', '--put', './a.out', '--', './a.out']" },
  ],
  // The groups run in CI through `npm test` (all of them); this file checks what each selects.
  'node build/test.js unit': [{ file: thisFile, invocation: "list('unit')" }],
  'node build/test.js integration': [{ file: thisFile, invocation: "list('integration')" }],
  'node build/test.js e2e': [{ file: thisFile, invocation: "list('e2e')" }],
};

const docFiles = [
  'README.md',
  ...readdirSync(path.join(repoRoot, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`),
];

const HOST_COMMAND = /^(npm|npx|node) /;

/** The host commands a Markdown text shows: lines of code blocks and inline code spans. */
function documentedCommands(markdown: string): string[] {
  const found: string[] = [];
  let inBlock = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) {
      inBlock = !inBlock;
      continue;
    }
    if (inBlock) {
      // A synopsis' description follows two spaces; an example's comment follows " # ".
      const command = line
        .replace(/^\$ /, '')
        .split(/ {2,}| #/)[0]!
        .trim();
      if (HOST_COMMAND.test(command)) found.push(command);
      continue;
    }
    for (const span of line.matchAll(/`([^`]+)`/g)) if (HOST_COMMAND.test(span[1]!)) found.push(span[1]!);
  }
  return found;
}

/** The relative link targets of a Markdown text (no scheme, no pure #anchor), anchors cut off. */
function relativeLinks(markdown: string): string[] {
  return [...markdown.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((m) => m[1]!)
    .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target) && !target.startsWith('#'))
    .map((target) => target.replace(/#.*$/, ''));
}

test('the extractors find commands in blocks and spans, and relative links only', () => {
  const markdown = [
    'Run `npm start`, then `ls` and `npx farfetchd-lab exec -- true`.',
    '```sh',
    'npm test     # everything',
    'npx farfetchd-lab image [--rebuild]      build or verify',
    'cat /proc/devices',
    '```',
    'See [a](docs/a.md#part), [b](https://example.org/b.md), [c](#here), ![d](images/d.png).',
  ].join('\n');
  assert.deepEqual(documentedCommands(markdown), [
    'npm start',
    'npx farfetchd-lab exec -- true',
    'npm test',
    'npx farfetchd-lab image [--rebuild]',
  ]);
  assert.deepEqual(relativeLinks(markdown), ['docs/a.md', 'images/d.png']);
});

test('every command in the README and docs/ is run by a test or by CI', () => {
  const unrun: string[] = [];
  const missing: string[] = [];
  for (const doc of docFiles) {
    for (const command of documentedCommands(readFileSync(path.join(repoRoot, doc), 'utf8'))) {
      const runners = RUNS[command];
      if (!runners) {
        unrun.push(`${doc}: ${command}`);
        continue;
      }
      for (const { file, invocation } of runners) {
        const full = path.join(repoRoot, file);
        if (!existsSync(full) || !readFileSync(full, 'utf8').includes(invocation)) {
          missing.push(`${command}: ${file} does not contain ${invocation}`);
        }
      }
    }
  }
  assert.deepEqual(unrun, [], 'documented commands that no test or CI runs: add a test and an entry in RUNS');
  assert.deepEqual(missing, []);
});

test('every `npm run NAME` the docs show is a script of package.json', () => {
  const { scripts } = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  for (const doc of docFiles) {
    for (const command of documentedCommands(readFileSync(path.join(repoRoot, doc), 'utf8'))) {
      const name = /^npm run (\S+)/.exec(command)?.[1];
      if (name) assert.ok(Object.hasOwn(scripts, name), `${doc}: ${command}: no such script`);
    }
  }
});

test('every relative link in README.md and docs/*.md resolves to a file', () => {
  const broken: string[] = [];
  for (const doc of docFiles) {
    for (const target of relativeLinks(readFileSync(path.join(repoRoot, doc), 'utf8'))) {
      const resolved = path.resolve(path.dirname(path.join(repoRoot, doc)), decodeURIComponent(target));
      if (!resolved.startsWith(repoRoot + path.sep) || !existsSync(resolved))
        broken.push(`${doc}: ${target}`);
    }
  }
  assert.deepEqual(broken, []);
});

test('no page points outside the repository for its design or spec', () => {
  for (const doc of docFiles) {
    assert.doesNotMatch(readFileSync(path.join(repoRoot, doc), 'utf8'), /\.\.\/shared\//, doc);
  }
});

test('node build/test.js GROUP selects that group’s test files', () => {
  const list = (group: string) => {
    const r = spawnSync(process.execPath, ['build/test.js', '--list', group], {
      cwd: repoRoot,
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.trim().split('\n');
  };
  const unit = list('unit');
  assert.ok(unit.includes(thisFile), unit.join('\n'));
  assert.ok(unit.includes('electron/test/start.test.ts'));
  assert.ok(
    unit.every((f) => /^(emulator\/test\/unit|electron\/test|renderer\/test)\//.test(f)),
    unit.join('\n'),
  );
  const integration = list('integration');
  assert.ok(integration.includes(exec) && integration.includes(guestSuite), integration.join('\n'));
  assert.ok(
    integration.every((f) => /^(emulator\/test\/integration|kernel-module\/tests|targets\/tests)\//.test(f)),
  );
  assert.deepEqual(list('e2e'), [
    'emulator/test/e2e/console-flow.test.ts',
    'emulator/test/e2e/exercise.test.ts',
    'emulator/test/e2e/page.test.ts',
    'emulator/test/e2e/panels.test.ts',
    'emulator/test/e2e/paste.test.ts',
    'emulator/test/e2e/suspend.test.ts',
  ]);
  const bad = spawnSync(process.execPath, ['build/test.js', '--list', 'nope'], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  assert.equal(bad.status, 2);
  assert.equal(bad.stderr, "test.js: unknown group 'nope' (use unit, integration, e2e)\n");
});
