// The grader's data and report layer: the checks file against the in-guest suite's cases, TAP
// read into outcomes, dependency skips and points, and the --json, Gradescope and PrairieLearn
// shapes. The guest side is kernel-module/tests/grader-p*.test.ts.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { checksForPart, loadChecks, type Part } from '../../src/grader-checks.ts';
import {
  allPassed,
  buildReport,
  explainFailure,
  formatReport,
  parseTap,
  type Outcome,
} from '../../src/grader-report.ts';
import { spec } from './grader-fixtures.ts';
import { buildExcerpt, oopsAddress, studentLocation } from '../../src/grader-guest.ts';
import { checkpatchOutcome, summarizeCheckpatch } from '../../src/grader-checkpatch.ts';
import { repoRoot } from '../../src/image.ts';

const tests = path.join(repoRoot, 'kernel-module', 'tests');
const MASKS: Record<string, Part[]> = {
  M_ANY: [1, 2, 3],
  M_SYSCALL: [1, 2],
  M_GUP: [2, 3],
  M_P1: [1],
  M_P2: [2],
  M_P3: [3],
  M_P3_UNLOADED: [3],
  M_NONE: [],
};

/** Every case of the C suite with the parts it runs for (from the CASE() and SLOW_CASE() tables). */
function suiteCases(): Map<string, Part[]> {
  const cases = new Map<string, Part[]>();
  for (const f of readdirSync(tests).filter((n) => /^tests_.*\.c$/.test(n))) {
    for (const m of readFileSync(path.join(tests, f), 'utf8').matchAll(
      /\bCASE\((\w+), (\w+)\)|\bSLOW_CASE\((\w+), (\w+), \d+\)/g,
    )) {
      const [name, mask] = m[1] ? [m[1], m[2]!] : [m[3]!, m[4]!];
      assert.ok(mask in MASKS, `${f}: unknown module mask ${mask}`);
      cases.set(name, MASKS[mask]!);
    }
  }
  return cases;
}

test('every case of the in-guest suite that runs for a part is a check of exactly that part, or says why not', async () => {
  const checks = await loadChecks();
  const byName = new Map(checks.map((c) => [c.case ?? c.name, c]));
  for (const [name, parts] of suiteCases()) {
    if (parts.length === 0) continue;
    const check = byName.get(name);
    assert.ok(check, `suite case ${name} has no check in emulator/grader/checks.json`);
    assert.deepEqual([...check.parts].sort(), parts, `check ${name}: parts differ from the suite's`);
  }
  for (const c of checks.filter((c) => c.kind === 'case')) {
    assert.ok(suiteCases().has(c.case!), `check ${c.name} names no suite case`);
  }
});

test('each part has its checks with dependencies on the loaded module, and ungraded ones left out', async () => {
  const all = await loadChecks();
  const p1 = checksForPart(all, 1);
  assert.deepEqual(
    p1.slice(0, 3).map((c) => c.name),
    ['module_builds', 'module_loads', 'bad_cmd_is_einval'],
  );
  assert.deepEqual(p1.find((c) => c.name === 'bad_cmd_is_einval')!.dependsOn, ['module_loads']);
  const p3 = checksForPart(all, 3);
  assert.deepEqual(p3.find((c) => c.name === 'read_from_another_process')!.dependsOn, ['device_registered']);
  assert.deepEqual(p3.find((c) => c.name === 'far_drops_mm_reference')!.dependsOn, [
    'read_from_another_process',
    'device_registered',
  ]);
  assert.equal(
    p3.find((c) => c.name === 'p3_seek_end_is_einval'),
    undefined,
  );
  assert.equal(
    p1.find((c) => c.name === 'p3_has_no_root_check'),
    undefined,
  );
  for (const name of [
    'kernel_text_address_is_efault',
    'shared_file_write_reaches_the_disk',
    'far_drops_page_references',
  ]) {
    for (const part of [1, 2, 3] as const)
      assert.ok(
        checksForPart(all, part).some((c) => c.name === name),
        `${name} in part ${part}`,
      );
  }
});

test('a course folder adds checks and overrides the points of the lab own; bad files get one-line errors', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'checks-'));
  try {
    writeFileSync(path.join(dir, 'a.json'), JSON.stringify({ name: 'checkpatch', points: 5 }));
    writeFileSync(
      path.join(dir, 'b.json'),
      JSON.stringify([
        { name: 'hidden_big_read', parts: [2], points: 3, hint: 'Read more.', script: 'exit 0' },
      ]),
    );
    const all = await loadChecks(dir);
    const style = all.find((c) => c.name === 'checkpatch')!;
    assert.equal(style.points, 5);
    assert.equal(style.kind, 'checkpatch');
    assert.match(style.hint, /coding-style/);
    const hidden = checksForPart(all, 2).find((c) => c.name === 'hidden_big_read')!;
    assert.deepEqual(
      { kind: hidden.kind, script: hidden.script, dependsOn: hidden.dependsOn },
      { kind: 'script', script: 'exit 0', dependsOn: ['module_loads'] },
    );
    writeFileSync(path.join(dir, 'c.json'), JSON.stringify({ name: 'x', parts: [4], points: 1, hint: 'h' }));
    await assert.rejects(loadChecks(dir), {
      message: `${path.join(dir, 'c.json')}: check x: "parts" must be a non-empty list of 1, 2, 3 (the format is in docs/grading.md)`,
    });
    writeFileSync(path.join(dir, 'c.json'), '{ nope');
    await assert.rejects(loadChecks(dir), /c\.json: not valid JSON/);
    writeFileSync(
      path.join(dir, 'c.json'),
      JSON.stringify({ name: 'x', parts: [1], points: 1, hint: 'h', colour: 1 }),
    );
    await assert.rejects(loadChecks(dir), /c\.json: unknown field "colour"/);
  } finally {
    rmSync(dir, { recursive: true });
  }
  await assert.rejects(loadChecks('/nonexistent/checks'), {
    message: '--checks /nonexistent/checks: ENOENT: give a folder of .json check files',
  });
});

test('TAP lines become outcomes: pass, a skip with its reason, a failure, a case killed by a signal', () => {
  const tap = [
    '1..4',
    '# farfetch_tests --module p1: pid 76',
    'ok 1 - bad_cmd_is_einval',
    'ok 2 - far_drops_page_references # SKIP the whole address space was kept',
    'not ok 3 - kernel_text_address_is_efault # expected -EFAULT, got 8 from far(FAR_READ, buf, getpid(), text, 8) (line 172)',
    'not ok 4 - unmapped_address_is_efault # expected the case to finish, got Killed',
    '3 passed, 1 failed',
  ].join('\n');
  assert.deepEqual(parseTap(tap), [
    { name: 'bad_cmd_is_einval', outcome: { status: 'pass', detail: '' }, killed: false },
    {
      name: 'far_drops_page_references',
      outcome: { status: 'skip', detail: 'the whole address space was kept' },
      killed: false,
    },
    {
      name: 'kernel_text_address_is_efault',
      outcome: {
        status: 'fail',
        detail: 'expected -EFAULT, got 8 from far(FAR_READ, buf, getpid(), text, 8) (line 172)',
      },
      killed: false,
    },
    {
      name: 'unmapped_address_is_efault',
      outcome: { status: 'fail', detail: 'expected the case to finish, got Killed' },
      killed: true,
    },
  ]);
});

test('byte comparisons read as GOOD/BAD lines, errno results keep their names', () => {
  assert.equal(
    explainFailure('expected "Howdyhis is private!", got "Hey this is private!" at byte 0 of seen (line 54)'),
    'bytes of seen from byte 0 on (suite line 54):\n  GOOD (expected): "Howdyhis is private!"\n  BAD  (got):      "Hey this is private!"',
  );
  assert.equal(
    explainFailure('expected -EFAULT, got 8 from far(x) (line 9)'),
    'expected -EFAULT, got 8 from far(x) (suite line 9)',
  );
});

test('the report: points for passes, the hint with a failure, dependents skipped, an impossible case 0 of 0', () => {
  const checks = [
    spec('module_builds', 2),
    spec('module_loads', 2, ['module_builds']),
    spec('a', 3, ['module_loads']),
    spec('b', 1, ['a']),
    spec('c', 4, ['module_loads']),
    spec('d', 1, ['module_loads']),
    spec('e', 2, ['module_loads']),
  ];
  const outcomes = new Map<string, Outcome>([
    ['module_builds', { status: 'pass', detail: '' }],
    ['module_loads', { status: 'pass', detail: '' }],
    ['a', { status: 'fail', detail: 'expected 8, got -EFAULT from far(x) (line 3)' }],
    ['b', { status: 'pass', detail: '' }],
    ['c', { status: 'skip', detail: 'a 4-level guest' }],
    ['d', { status: 'pass', detail: '' }],
  ]);
  const report = buildReport(1, checks, outcomes);
  assert.deepEqual(report, {
    part: 1,
    score: 5,
    maxScore: 11,
    tests: [
      { name: 'module_builds', status: 'pass', points: 2, maxPoints: 2, message: '' },
      { name: 'module_loads', status: 'pass', points: 2, maxPoints: 2, message: '' },
      {
        name: 'a',
        status: 'fail',
        points: 0,
        maxPoints: 3,
        message: 'expected 8, got -EFAULT from far(x) (suite line 3)\nHint: hint of a',
      },
      { name: 'b', status: 'skip', points: 0, maxPoints: 1, message: 'skipped: a did not pass' },
      { name: 'c', status: 'skip', points: 0, maxPoints: 0, message: 'skipped: a 4-level guest' },
      { name: 'd', status: 'pass', points: 1, maxPoints: 1, message: '' },
      { name: 'e', status: 'skip', points: 0, maxPoints: 2, message: 'skipped: not run' },
    ],
  });
  assert.equal(allPassed(report), false);
  assert.equal(allPassed(buildReport(1, checks.slice(0, 2), outcomes)), true);
  const noBuild = buildReport(
    1,
    checks,
    new Map([['module_builds', { status: 'fail', detail: 'no Makefile' } as Outcome]]),
  );
  assert.deepEqual(
    noBuild.tests.map((t) => t.status),
    ['fail', 'skip', 'skip', 'skip', 'skip', 'skip', 'skip'],
  );
  assert.equal(noBuild.score, 0);
  assert.equal(noBuild.maxScore, 15);
  const text = formatReport(report);
  assert.match(
    text,
    /^not ok 3 - a \(0\/3\)\n# {3}expected 8, got -EFAULT from far\(x\) \(suite line 3\)\n# {3}Hint: hint of a$/m,
  );
  assert.match(text, /^ok 4 - b \(0\/1\) # SKIP a did not pass$/m);
  assert.match(text, /^3 passed, 1 failed, 3 skipped\nscore: 5\/11 \(part 1\)\n$/m);
});

test('build errors come first in the excerpt; an oops names the module line, the RIP first', () => {
  const make = [
    'make: Entering directory',
    '  CC [M]  /root/check/src/x.o',
    '/root/check/src/x.c:9:2: error: expected ; before }',
    'make[2]: *** [x.o] Error 1',
  ].join('\n');
  assert.equal(
    buildExcerpt(make),
    '/root/check/src/x.c:9:2: error: expected ; before }\nmake[2]: *** [x.o] Error 1',
  );
  const oops = [
    '[   20.1] BUG: kernel NULL pointer dereference, address: 0000000000000008',
    '[   20.1] RIP: 0010:memcpy+0x12/0x20',
    '[   20.1]  ? show_regs+0x1/0x2 [farfetch_p1]',
    '[   20.1]  p1_farfetch+0x1a2/0x300 [farfetch_p1]',
  ].join('\n');
  assert.deepEqual(oopsAddress(oops, 'farfetch_p1'), {
    module: 'farfetch_p1',
    symbolOffset: 'p1_farfetch+0x1a2/0x300',
  });
  assert.equal(oopsAddress(oops, 'other'), null);
});

test('faddr2line: the innermost line in the student folder wins over an inlined kernel header', () => {
  const out = [
    'p1_farfetch+0x57a/0x750:',
    'mmap_read_lock_killable at /lib/modules/6.12.117-farfetch/build/include/linux/mmap_lock.h:167',
    '(inlined by) p1_farfetch at /root/check/src/farfetch_p1.c:245',
  ].join('\n');
  assert.deepEqual(studentLocation(out, '/root/check/src/farfetch_p1.ko'), {
    function: 'p1_farfetch',
    file: '/root/check/src/farfetch_p1.c',
    line: 245,
    ko: '/root/check/src/farfetch_p1.ko',
  });
  assert.equal(studentLocation('p1_farfetch+0x5/0x7:\np1_farfetch at ??:0', 'x.ko'), null);
});

test('checkpatch reports are counted by type', () => {
  const report =
    'WARNING:LONG_LINE: line length of 120 exceeds 100 columns\n#12: FILE: a.c:12:\nERROR:SPACING: space required\ntotal: 1 errors';
  assert.deepEqual(summarizeCheckpatch(report), {
    errors: 1,
    warnings: 1,
    lines: [
      'WARNING:LONG_LINE: line length of 120 exceeds 100 columns',
      '#12: FILE: a.c:12:',
      'ERROR:SPACING: space required',
    ],
  });
});

test('checkpatch without perl on the host (Windows) is skipped with its reason, never reported clean', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'no-perl-'));
  const saved = { PATH: process.env.PATH, FARFETCHD_LAB_IMAGE: process.env.FARFETCHD_LAB_IMAGE };
  try {
    mkdirSync(path.join(dir, 'image'));
    mkdirSync(path.join(dir, 'kernel-0'));
    writeFileSync(path.join(dir, 'kernel-0', 'checkpatch.pl'), '# a checkpatch.pl beside the image\n');
    writeFileSync(path.join(dir, 'farfetch_p1.c'), 'int x;\n');
    mkdirSync(path.join(dir, 'empty-path'));
    process.env.FARFETCHD_LAB_IMAGE = path.join(dir, 'image');
    process.env.PATH = path.join(dir, 'empty-path');
    assert.deepEqual(await checkpatchOutcome(dir, ['farfetch_p1.c'], false), {
      status: 'skip',
      detail: 'perl is not installed here: checkpatch.pl needs it',
    });
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    rmSync(dir, { recursive: true });
  }
});
