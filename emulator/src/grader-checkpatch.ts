// The style check of a student's folder: the kernel's checkpatch.pl (from the image's kernel
// build, as kernel-module/run_checkpatch.sh uses it) over its .c and .h files, on the host,
// ignoring what the spec allows. Its warnings are part of the report; they cost points only
// when a course gives the `checkpatch` check points (docs/grading.md).
import { execFile } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Outcome } from './grader-report.ts';
import { imageDir } from './image.ts';

const run = promisify(execFile);
const IGNORE =
  'FILE_PATH_CHANGES,SPDX_LICENSE_TAG,MISSING_EOF_NEWLINE,EXPORT_SYMBOL,ENOSYS,AVOID_EXTERNS,LINE_CONTINUATIONS';

/** checkpatch.pl of the newest kernel build beside the image in use, or null. */
export function findCheckpatch(env: NodeJS.ProcessEnv = process.env): string | null {
  const out = path.dirname(imageDir(env));
  let best: { file: string; mtime: number } | null = null;
  try {
    for (const dir of readdirSync(out).filter((d) => d.startsWith('kernel-'))) {
      const file = path.join(out, dir, 'checkpatch.pl');
      try {
        const mtime = statSync(file).mtimeMs;
        if (!best || mtime > best.mtime) best = { file, mtime };
      } catch {
        // a kernel folder without checkpatch.pl (an interrupted build)
      }
    }
  } catch {
    return null;
  }
  return best?.file ?? null;
}

/** The counts and the flagged lines of a checkpatch report. */
export function summarizeCheckpatch(report: string): { errors: number; warnings: number; lines: string[] } {
  const lines = report.split('\n').filter((l) => /^(ERROR|WARNING|CHECK):|^#\d+: FILE:/.test(l));
  return {
    errors: lines.filter((l) => l.startsWith('ERROR:')).length,
    warnings: lines.filter((l) => l.startsWith('WARNING:') || l.startsWith('CHECK:')).length,
    lines,
  };
}

/** checkpatch over `files` (paths relative to `dir`); `counts` decides whether warnings fail. */
export async function checkpatchOutcome(dir: string, files: string[], counts: boolean): Promise<Outcome> {
  const sources = files.filter((f) => /\.[ch]$/.test(f) && !f.endsWith('.mod.c'));
  if (sources.length === 0) return { status: 'pass', detail: 'checkpatch: no .c or .h files' };
  const checkpatch = findCheckpatch();
  if (!checkpatch)
    return {
      status: 'skip',
      detail: 'no checkpatch.pl beside the guest image (npx farfetchd-lab image builds it)',
    };
  const args = [checkpatch, '--no-tree', '--quiet', '--show-types', '--ignore', IGNORE, '-f', ...sources];
  // checkpatch exits non-zero when it flags anything: the counts decide. No perl at all (Windows)
  // is no verdict, not a clean report.
  const r = await run('perl', args, { cwd: dir, maxBuffer: 16 << 20 }).catch(
    (e: { code?: unknown; stdout?: string; stderr?: string; message: string }) =>
      e.code === 'ENOENT' ? null : { stdout: e.stdout ?? '', stderr: e.stderr ?? e.message },
  );
  if (r === null) return { status: 'skip', detail: 'perl is not installed here: checkpatch.pl needs it' };
  const { errors, warnings, lines } = summarizeCheckpatch(`${r.stdout}\n${r.stderr}`);
  const summary = `checkpatch: ${sources.length} files: ${errors} errors, ${warnings} warnings`;
  const detail = [
    summary,
    ...lines.slice(0, 20),
    ...(lines.length > 20 ? [`… ${lines.length - 20} more lines`] : []),
  ].join('\n');
  if (errors + warnings === 0) return { status: 'pass', detail: summary };
  return counts
    ? { status: 'fail', detail }
    : { status: 'pass', detail: `${detail}\n(style costs no points in this course)` };
}
