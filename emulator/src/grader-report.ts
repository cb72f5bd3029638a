// The grader's results as data: the in-guest suite's TAP read into outcomes, outcomes and checks
// made into the CheckReport (points, dependency skips, messages with the hint), and that report
// written as text, as Gradescope's results.json and as PrairieLearn's. Pure.
import type { CheckReport, CheckResult } from './api.ts';
import type { CheckSpec, Part } from './grader-checks.ts';

/** What one check did: `skip` with a detail is a case that can't run here (it counts 0 of 0). */
export interface Outcome {
  status: 'pass' | 'fail' | 'skip';
  /** Expected vs got (fail), or the reason (skip). */
  detail: string;
}

export interface TapResult {
  name: string;
  outcome: Outcome;
  /** The case's process died of a signal (an oops kills it): the harness says so. */
  killed: boolean;
}

/** `ok N - name`, `ok N - name # SKIP why`, `not ok N - name # why`, in order. */
export function parseTap(text: string): TapResult[] {
  const results: TapResult[] = [];
  for (const line of text.split('\n')) {
    const m = /^(not )?ok \d+ - ([A-Za-z0-9_]+)(?: # (.*))?$/.exec(line);
    if (!m) continue;
    const why = m[3] ?? '';
    if (!m[1]) {
      const skip = /^SKIP\s*(.*)$/.exec(why);
      results.push({
        name: m[2]!,
        outcome: skip ? { status: 'skip', detail: skip[1]! } : { status: 'pass', detail: '' },
        killed: false,
      });
    } else {
      results.push({
        name: m[2]!,
        outcome: { status: 'fail', detail: why },
        killed: /expected the case to finish, got/.test(why),
      });
    }
  }
  return results;
}

/**
 * The harness's failure text as a student reads it best. Byte comparisons
 * (`expected "A", got "B" at byte N of buf (line L)`) become GOOD/BAD lines; errno names are
 * already the harness's (`expected -EFAULT, got 8 from far(…) (line L)`).
 */
export function explainFailure(detail: string): string {
  const mem = /^expected (".*"(?:\.\.\.)?), got (".*"(?:\.\.\.)?) at byte (\d+) of (.+) \(line (\d+)\)$/.exec(
    detail,
  );
  if (mem) {
    return [
      `bytes of ${mem[4]} from byte ${mem[3]} on (suite line ${mem[5]}):`,
      `  GOOD (expected): ${mem[1]}`,
      `  BAD  (got):      ${mem[2]}`,
    ].join('\n');
  }
  return detail.replace(/ \(line (\d+)\)/, ' (suite line $1)');
}

/**
 * The report: each check in order with its points. A check whose dependency did not pass is
 * skipped with 0 of its points; one the suite skipped (it can't run here) counts 0 of 0; one
 * without an outcome (never run) is skipped with 0 of its points.
 */
export function buildReport(
  part: Part,
  checks: CheckSpec[],
  outcomes: ReadonlyMap<string, Outcome>,
): CheckReport {
  const passed = new Set<string>();
  const tests: CheckResult[] = [];
  for (const c of checks) {
    const blocker = c.dependsOn.find((d) => !passed.has(d));
    const outcome = outcomes.get(c.name);
    let result: CheckResult;
    if (blocker !== undefined) {
      result = {
        name: c.name,
        status: 'skip',
        points: 0,
        maxPoints: c.points,
        message: `skipped: ${blocker} did not pass`,
      };
    } else if (!outcome) {
      result = { name: c.name, status: 'skip', points: 0, maxPoints: c.points, message: 'skipped: not run' };
    } else if (outcome.status === 'pass') {
      passed.add(c.name);
      result = {
        name: c.name,
        status: 'pass',
        points: c.points,
        maxPoints: c.points,
        message: outcome.detail,
      };
    } else if (outcome.status === 'skip') {
      passed.add(c.name); // the suite counts a case that can't run here as passed
      result = {
        name: c.name,
        status: 'skip',
        points: 0,
        maxPoints: 0,
        message: `skipped: ${outcome.detail}`,
      };
    } else {
      result = {
        name: c.name,
        status: 'fail',
        points: 0,
        maxPoints: c.points,
        message: `${explainFailure(outcome.detail)}\nHint: ${c.hint}`,
      };
    }
    tests.push(result);
  }
  const sum = (f: (t: CheckResult) => number) => tests.reduce((n, t) => n + f(t), 0);
  return { part, score: sum((t) => t.points), maxScore: sum((t) => t.maxPoints), tests };
}

/** Every check passed (a check the suite skipped as impossible here does not count against). */
export function allPassed(report: CheckReport): boolean {
  return report.tests.every((t) => t.status === 'pass' || (t.status === 'skip' && t.maxPoints === 0));
}

/** The human form: TAP-like lines (`ok`, `not ok`, `skip`), the message indented, then the score. */
export function formatReport(report: CheckReport): string {
  const lines = [`1..${report.tests.length}`];
  report.tests.forEach((t, i) => {
    const word = t.status === 'pass' ? 'ok' : t.status === 'fail' ? 'not ok' : 'ok';
    const skip = t.status === 'skip' ? ` # SKIP ${t.message.replace(/^skipped: /, '')}` : '';
    lines.push(`${word} ${i + 1} - ${t.name} (${t.points}/${t.maxPoints})${skip}`);
    if (t.status !== 'skip' && t.message) for (const l of t.message.split('\n')) lines.push(`#   ${l}`);
  });
  const failed = report.tests.filter((t) => t.status === 'fail').length;
  const skipped = report.tests.filter((t) => t.status === 'skip').length;
  lines.push(`${report.tests.length - failed - skipped} passed, ${failed} failed, ${skipped} skipped`);
  lines.push(`score: ${report.score}/${report.maxScore} (part ${report.part})`);
  return lines.join('\n') + '\n';
}

/** Gradescope's autograder results.json (gradescope-autograders.readthedocs.io, "Autograder Specifications"). */
export function gradescopeResults(report: CheckReport, executionSeconds?: number) {
  return {
    score: report.score,
    ...(executionSeconds !== undefined ? { execution_time: Math.round(executionSeconds) } : {}),
    output: `Farfetch'd part ${report.part}: ${report.score}/${report.maxScore}`,
    visibility: 'visible',
    stdout_visibility: 'hidden',
    tests: report.tests.map((t, i) => ({
      name: t.name,
      number: `${report.part}.${i + 1}`,
      score: t.points,
      max_score: t.maxPoints,
      // Gradescope knows only passed and failed: a skipped check did not earn its points.
      status: t.status === 'pass' ? 'passed' : 'failed',
      output: t.message,
      visibility: 'visible',
    })),
  };
}

/** PrairieLearn's external grader results (score is the fraction 0..1; tests with points). */
export function prairielearnResults(report: CheckReport) {
  return {
    gradable: true,
    score: report.maxScore > 0 ? report.score / report.maxScore : 1,
    message: `Farfetch'd part ${report.part}: ${report.score}/${report.maxScore}`,
    tests: report.tests.map((t) => ({
      name: t.name,
      description: t.status === 'skip' ? 'skipped' : t.status === 'pass' ? 'passed' : 'failed',
      points: t.points,
      max_points: t.maxPoints,
      message: t.message,
      output: '',
    })),
  };
}
