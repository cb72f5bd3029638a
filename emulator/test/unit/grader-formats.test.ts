// The graders' platform formats: Gradescope's and PrairieLearn's results.json, as each documents it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  buildReport,
  gradescopeResults,
  prairielearnResults,
  type Outcome,
} from '../../src/grader-report.ts';
import { spec } from './grader-fixtures.ts';

test('Gradescope and PrairieLearn results have their documented shapes', () => {
  const report = buildReport(
    2,
    [spec('x', 2), spec('y', 3, ['x'])],
    new Map([['x', { status: 'fail', detail: 'expected 1, got 2' } as Outcome]]),
  );
  assert.deepEqual(gradescopeResults(report, 41.6), {
    score: 0,
    execution_time: 42,
    output: "Farfetch'd part 2: 0/5",
    visibility: 'visible',
    stdout_visibility: 'hidden',
    tests: [
      {
        name: 'x',
        number: '2.1',
        score: 0,
        max_score: 2,
        status: 'failed',
        output: 'expected 1, got 2\nHint: hint of x',
        visibility: 'visible',
      },
      {
        name: 'y',
        number: '2.2',
        score: 0,
        max_score: 3,
        status: 'failed',
        output: 'skipped: x did not pass',
        visibility: 'visible',
      },
    ],
  });
  assert.deepEqual(prairielearnResults(report), {
    gradable: true,
    score: 0,
    message: "Farfetch'd part 2: 0/5",
    tests: [
      {
        name: 'x',
        description: 'failed',
        points: 0,
        max_points: 2,
        message: 'expected 1, got 2\nHint: hint of x',
        output: '',
      },
      {
        name: 'y',
        description: 'skipped',
        points: 0,
        max_points: 3,
        message: 'skipped: x did not pass',
        output: '',
      },
    ],
  });
});

/**
 * The documented results.json shapes, field by field: Gradescope's "Autograder Specifications"
 * (gradescope-autograders.readthedocs.io/en/latest/specs/, "Output format") and PrairieLearn's
 * "External Grading" (docs.prairielearn.com/externalGrading/, "Grading results"). Every key must
 * be one they name, with its type; the required ones must be there. Returns what is wrong.
 */
function shapeErrors(
  value: Record<string, unknown>,
  fields: Record<string, (v: unknown) => boolean>,
  required: string[],
  where: string,
): string[] {
  const errors = Object.entries(value)
    .filter(([k, v]) => !fields[k]?.(v))
    .map(([k, v]) => `${where}.${k}: ${fields[k] ? `bad value ${JSON.stringify(v)}` : 'not in the format'}`);
  return [...errors, ...required.filter((k) => !(k in value)).map((k) => `${where}.${k}: missing`)];
}
const isNumber = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
const isString = (v: unknown) => typeof v === 'string';
const VISIBILITY = ['hidden', 'after_due_date', 'after_published', 'visible'];
const isVisibility = (v: unknown) => VISIBILITY.includes(v as string);

function gradescopeErrors(r: Record<string, unknown>): string[] {
  const tests = (r.tests ?? []) as Record<string, unknown>[];
  const top = shapeErrors(
    r,
    {
      score: isNumber,
      execution_time: (v) => Number.isInteger(v),
      output: isString,
      output_format: isString,
      visibility: isVisibility,
      stdout_visibility: isVisibility,
      extra_data: (v) => typeof v === 'object',
      tests: Array.isArray,
      leaderboard: Array.isArray,
    },
    [],
    'results',
  );
  // "score" is required at the top unless every test has one.
  if (!('score' in r) && !tests.every((t) => 'score' in t)) top.push('results.score: missing');
  return [
    ...top,
    ...tests.flatMap((t, i) =>
      shapeErrors(
        t,
        {
          score: isNumber,
          max_score: isNumber,
          status: (v) => v === 'passed' || v === 'failed',
          name: isString,
          name_format: isString,
          number: isString,
          output: isString,
          output_format: isString,
          tags: Array.isArray,
          visibility: isVisibility,
          extra_data: (v) => typeof v === 'object',
        },
        [],
        `tests[${i}]`,
      ),
    ),
  ];
}

function prairielearnErrors(r: Record<string, unknown>): string[] {
  const tests = (r.tests ?? []) as Record<string, unknown>[];
  return [
    ...shapeErrors(
      r,
      {
        gradable: (v) => typeof v === 'boolean',
        score: (v) => isNumber(v) && (v as number) >= 0 && (v as number) <= 1,
        message: isString,
        output: isString,
        format_errors: Array.isArray,
        images: Array.isArray,
        partial_scores: (v) => typeof v === 'object',
        tests: Array.isArray,
      },
      ['gradable', 'score'],
      'results',
    ),
    ...tests.flatMap((t, i) =>
      shapeErrors(
        t,
        {
          name: isString,
          description: isString,
          points: isNumber,
          max_points: isNumber,
          message: isString,
          output: isString,
          images: Array.isArray,
        },
        ['name'],
        `tests[${i}]`,
      ),
    ),
  ];
}

test("a broken variant's report (pass, fail, skip) validates against each platform's documented results.json", () => {
  const report = buildReport(
    1,
    [
      spec('module_builds', 2),
      spec('far_drops_page_references', 4, ['module_builds']),
      spec('b', 1, ['c']),
      spec('c', 1),
    ],
    new Map<string, Outcome>([
      ['module_builds', { status: 'pass', detail: '' }],
      ['far_drops_page_references', { status: 'fail', detail: 'expected the 256 pages read to be freed' }],
      ['c', { status: 'fail', detail: 'expected 0, got -EFAULT' }],
    ]),
  );
  assert.deepEqual(gradescopeErrors(gradescopeResults(report, 12.5)), []);
  assert.deepEqual(prairielearnErrors(prairielearnResults(report)), []);
  // The validators are not pushovers.
  assert.deepEqual(gradescopeErrors({ tests: [{ name: 'x', status: 'skipped', max_score: 1 }] }), [
    'results.score: missing',
    'tests[0].status: bad value "skipped"',
  ]);
  assert.deepEqual(prairielearnErrors({ score: 1.5, tests: [{ points: 1 }] }), [
    'results.score: bad value 1.5',
    'results.gradable: missing',
    'tests[0].name: missing',
  ]);
});
