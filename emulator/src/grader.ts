// `farfetchd-lab check` and gradePart(): grade a student's module folder for one part. The checks
// are data (grader-checks.ts, emulator/grader/checks.json, a course's checksDir); most are cases
// of the in-guest C suite (kernel-module/tests), which the reference modules pass. The folder is
// built and graded in a fresh guest (grader-guest.ts); an oops fails the check that was running
// and the rest run in another fresh guest. The report is the CheckReport of api.ts.
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CheckReport } from './api.ts';
import { checkpatchOutcome } from './grader-checkpatch.ts';
import { checksForPart, loadChecks, type Part } from './grader-checks.ts';
import { runInGuest, type SourceFile } from './grader-guest.ts';
import {
  allPassed,
  buildReport,
  formatReport,
  gradescopeResults,
  prairielearnResults,
  type Outcome,
} from './grader-report.ts';

export type { SourceFile } from './grader-guest.ts';
export { allPassed, formatReport, gradescopeResults, prairielearnResults } from './grader-report.ts';

type Out = { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream };

const MAX_SOURCE_BYTES = 4 * 1024 * 1024;
/** Fresh guests one grading may use: the first, and one per oops after it. */
export const MAX_GUESTS = 3;
const buildArtifacts = /\.(o|ko|mod|mod\.c|cmd)$|^(modules\.order|Module\.symvers)$/;

/** Sibling folders a Makefile names as `../NAME` (the repo's modules share `../common`). */
export function siblingFolders(makefiles: string[]): string[] {
  const names = new Set<string>();
  for (const text of makefiles) {
    for (const m of text.matchAll(/\.\.\/([\w.-]+)/g)) if (m[1] !== '.' && m[1] !== '..') names.add(m[1]!);
  }
  return [...names].sort();
}

/**
 * The student's sources (no build artifacts, no hidden folders), refusing anything huge. A
 * sibling folder the Makefile names (`../common`, as in the repo's reference modules) comes
 * along as `../NAME/…`, so that such a folder builds in the guest as it does here.
 */
export async function collectSources(dir: string): Promise<SourceFile[]> {
  const files: SourceFile[] = [];
  let total = 0;
  const walk = async (relative: string): Promise<void> => {
    for (const entry of await readdir(path.join(dir, relative), { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      const rel = path.posix.join(relative, entry.name);
      if (entry.isDirectory()) await walk(rel);
      else if (entry.isFile() && !buildArtifacts.test(entry.name)) {
        const full = path.join(dir, rel);
        const info = await stat(full);
        total += info.size;
        if (total > MAX_SOURCE_BYTES) {
          throw new Error(
            `${dir} holds more than ${MAX_SOURCE_BYTES >> 20} MiB of files: point --src at the module's folder`,
          );
        }
        files.push({ relative: rel, data: await readFile(full), mode: info.mode & 0o777 });
      }
    }
  };
  await walk('');
  const makefiles = files.filter((f) => f.relative === 'Makefile' || f.relative === 'Kbuild');
  if (makefiles.length === 0) {
    throw new Error(
      `${dir} has no Makefile: --src must be the folder with your module's Makefile and .c files`,
    );
  }
  const here = path.resolve(dir);
  for (const name of siblingFolders(makefiles.map((f) => f.data.toString('utf8')))) {
    const sibling = path.join(here, '..', name);
    if (sibling === here || !(await stat(sibling).catch(() => null))?.isDirectory()) continue;
    await walk(`../${name}`);
  }
  return files;
}

export interface GradeOptions {
  part: Part;
  /** The module's folder on the host (its Makefile and sources). */
  src: string;
  /** A course's folder of check files (docs/grading.md), added to the lab's own. */
  checksDir?: string;
  onProgress?: (line: string) => void;
  signal?: AbortSignal;
}

/**
 * Grades `src` for `part`. Never throws for the student's defects (they are failed checks);
 * throws for the lab's own failures (no image, QEMU missing, a check file that is not valid)
 * and for a `src` that is not a readable folder.
 */
export async function gradePart(opts: GradeOptions): Promise<CheckReport> {
  const { part } = opts;
  const log = (line: string) => opts.onProgress?.(`check part ${part}: ${line}`);
  const checks = checksForPart(await loadChecks(opts.checksDir), part);
  const info = await stat(opts.src).catch(() => null);
  if (!info?.isDirectory())
    throw new Error(`${opts.src} is not a folder: --src must be your module's folder`);
  const outcomes = new Map<string, Outcome>();
  let sources: SourceFile[];
  try {
    sources = await collectSources(opts.src);
  } catch (err) {
    outcomes.set('module_builds', { status: 'fail', detail: (err as Error).message });
    return buildReport(part, checks, outcomes);
  }
  // checkpatch (perl, on the host, ≈ 1 s of CPU) runs while the guest boots and builds, not
  // before: the check then waits only for the longer of the two.
  const style = checks.find((c) => c.kind === 'checkpatch');
  const styleOutcome = style
    ? checkpatchOutcome(
        opts.src,
        sources.map((s) => s.relative),
        style.points > 0,
      )
    : undefined;
  styleOutcome?.catch(() => undefined); // awaited below; a guest failure must not leave it unhandled
  for (let guest = 1; guest <= MAX_GUESTS; guest++) {
    opts.signal?.throwIfAborted();
    if (guest > 1) log(`guest ${guest} of at most ${MAX_GUESTS}: running the checks the oops left`);
    const run = await runInGuest({
      part,
      sources,
      checks,
      decided: new Set([...outcomes.keys(), ...(style ? [style.name] : [])]),
      log,
      signal: opts.signal,
    });
    opts.signal?.throwIfAborted();
    for (const [name, outcome] of run.outcomes) if (!outcomes.has(name)) outcomes.set(name, outcome);
    if (!run.interrupted) break;
  }
  if (style && styleOutcome) outcomes.set(style.name, await styleOutcome);
  return buildReport(part, checks, outcomes);
}

export type ResultsFormat = 'gradescope' | 'prairielearn';

export interface CheckCommandOptions {
  part: Part;
  src: string;
  json?: boolean;
  format?: ResultsFormat;
  output?: string;
  checksDir?: string;
  out: Out;
}

/** The CLI: progress on stderr, the report on stdout (text, --json) or as --format; exit 0 only if all passed. */
export async function runCheck(opts: CheckCommandOptions): Promise<number> {
  const { out } = opts;
  const started = performance.now();
  let report: CheckReport;
  try {
    report = await gradePart({
      part: opts.part,
      src: opts.src,
      checksDir: opts.checksDir,
      onProgress: (line) => out.stderr.write(line + '\n'),
    });
  } catch (err) {
    out.stderr.write(`farfetchd-lab check: ${(err as Error).message}\n`);
    return 2;
  }
  const seconds = (performance.now() - started) / 1000;
  let body: string;
  if (opts.format === 'gradescope') body = JSON.stringify(gradescopeResults(report, seconds), null, 2) + '\n';
  else if (opts.format === 'prairielearn') body = JSON.stringify(prairielearnResults(report), null, 2) + '\n';
  else if (opts.json) body = JSON.stringify(report) + '\n';
  else body = formatReport(report);
  if (opts.output !== undefined) {
    await writeFile(opts.output, body);
    if (!opts.json && opts.format === undefined) out.stdout.write(formatReport(report));
  } else out.stdout.write(body);
  return allPassed(report) ? 0 : 1;
}
