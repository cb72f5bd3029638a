// Grading a workspace part for the app. The grader library's gradePart (contracts.md) does it when
// grader.ts exports it; until then a stand-in runs the CLI's runCheck and reads its TAP lines
// (farfetch_tests prints "ok N - name", "ok N - name # SKIP why", "not ok N - name # why").
import { Writable } from 'node:stream';
import type { CheckReport, CheckResult } from './api.ts';

export type GradeFn = (opts: { part: 1 | 2 | 3; src: string }) => Promise<CheckReport>;

const TAP = /^(ok|not ok)(?: \d+)? - (.*?)(?: # (.*))?$/;

/** The report of one part from the check's output: one point per check; a failed build is one check. */
export function reportFromTap(part: 1 | 2 | 3, output: string): CheckReport {
  const tests: CheckResult[] = [];
  for (const line of output.split('\n')) {
    const m = TAP.exec(line.trimEnd());
    if (!m) continue;
    const [, verdict, name, why = ''] = m as unknown as [string, string, string, string | undefined];
    if (/^the module does not build/.test(name)) {
      tests.push({ name: 'module_builds', status: 'fail', points: 0, maxPoints: 1, message: name });
      continue;
    }
    const skipped = verdict === 'ok' && /^SKIP\b/.test(why);
    const status = skipped ? 'skip' : verdict === 'ok' ? 'pass' : 'fail';
    const id = /^[A-Za-z0-9_]+$/.test(name) ? name : name.replace(/\W+/g, '_').toLowerCase();
    tests.push({ name: id, status, points: status === 'pass' ? 1 : 0, maxPoints: 1, message: why });
  }
  const score = tests.reduce((sum, t) => sum + t.points, 0);
  return { part, score, maxScore: tests.reduce((sum, t) => sum + t.maxPoints, 0), tests };
}

function collector(): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _enc, done) {
      chunks.push(Buffer.from(chunk));
      done();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

/** The stand-in: `farfetchd-lab check` as a library call, its output turned into a report. */
export const gradeWithRunCheck: GradeFn = async ({ part, src }) => {
  const { runCheck } = await import('./grader.ts');
  const stdout = collector();
  const stderr = collector();
  const code = await runCheck({ part, src, out: { stdout: stdout.stream, stderr: stderr.stream } });
  const report = reportFromTap(part, stdout.text());
  if (report.tests.length === 0 && code !== 0) {
    // The lab itself failed (no image, no QEMU) or nothing ran: say why, as gradePart would throw.
    throw new Error(stderr.text().trim().split('\n').pop() || `check exited ${code} and ran no check`);
  }
  return report;
};

/** gradePart when the grader library has it, else the stand-in. */
export const gradeWorkspacePart: GradeFn = async (opts) => {
  const grader = (await import('./grader.ts')) as unknown as { gradePart?: GradeFn };
  return grader.gradePart ? grader.gradePart(opts) : gradeWithRunCheck(opts);
};
