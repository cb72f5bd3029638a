// Student folders for the grader's guest tests: a reference module made self-contained (its .c,
// its Makefile, the shared headers), and deliberately broken variants of it made by small source
// edits. Each edit names the exact text it replaces and throws if that text is gone, so a change
// to the reference sources fails the test loudly instead of silently testing a correct module.
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CheckReport } from '../../emulator/src/api.ts';
import { gradePart } from '../../emulator/src/grader.ts';
import { repoRoot } from '../../emulator/src/image.ts';
import { selfContainedMakefile } from '../../emulator/src/workspace-parts.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

export interface Edit {
  /** A file of the folder: `farfetch_p1.c`, `farfetch_common.h` … */
  file: string;
  from: string;
  to: string;
}

/** The folder a student hands in for `module` (farfetch_p1 …) with `edits` applied; rm it after. */
export function studentFolder(module: string, edits: Edit[] = []): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `grader-${module}-`));
  copyFileSync(path.join(here, '..', module, `${module}.c`), path.join(dir, `${module}.c`));
  // Self-contained, as a student's is: the Makefile with common/module.mk copied in, the headers beside it.
  const common = path.join(here, '..', 'common');
  const makefile = readFileSync(path.join(here, '..', module, 'Makefile'), 'utf8');
  const moduleMk = readFileSync(path.join(common, 'module.mk'), 'utf8');
  writeFileSync(
    path.join(dir, 'Makefile'),
    selfContainedMakefile(makefile, module, { 'module.mk': moduleMk }),
  );
  for (const h of readdirSync(common).filter((name) => name.endsWith('.h'))) {
    copyFileSync(path.join(common, h), path.join(dir, h));
  }
  for (const e of edits) {
    const file = path.join(dir, e.file);
    const text = readFileSync(file, 'utf8');
    const at = text.indexOf(e.from);
    if (at < 0 || text.indexOf(e.from, at + 1) >= 0) {
      rmSync(dir, { recursive: true });
      throw new Error(
        `variant edit: ${e.file} must hold exactly one ${JSON.stringify(e.from)} (the reference source changed)`,
      );
    }
    writeFileSync(file, text.slice(0, at) + e.to + text.slice(at + e.from.length));
  }
  return dir;
}

/** The defects the grader must catch, each as the edits that make it. */
export const VARIANTS = {
  /** Part 1 walks kernel addresses too: no TASK_SIZE_OF check. */
  noTaskSizeCheck: [
    {
      file: 'farfetch_p1.c',
      from: 'if (target_addr >= TASK_SIZE_OF(target.task)) {',
      to: 'if (!target_addr && target_addr) {',
    },
    // The reference also walks only under a VMA (vma_lookup), which alone keeps kernel addresses
    // out; most students have neither.
    { file: 'farfetch_p1.c', from: '\tif (!vma_lookup(mm, addr))\n\t\treturn NULL;\n', to: '' },
  ],
  /** A written page is never marked dirty. */
  noSetPageDirty: [
    { file: 'farfetch_common.h', from: '\tif (write)\n\t\tset_page_dirty_lock(page);\n', to: '' },
  ],
  /** Part 1 keeps its reference on every page it copies. */
  noPutPage: [
    {
      file: 'farfetch_p1.c',
      from: '\tfar_copy_page(page, offset, bounce, len, write);\n\tput_page(page);\n',
      to: '\tfar_copy_page(page, offset, bounce, len, write);\n',
    },
  ],
  /** The target's mm is never released. */
  noMmput: [
    {
      file: 'farfetch_common.h',
      from: '\tmmput(target->mm);\n\tput_task_struct(target->task);\n',
      to: '\tput_task_struct(target->task);\n',
    },
  ],
  /**
   * A NULL dereference: the mm of a kernel thread or a zombie (NULL) is used. Two cases reach it
   * (kernel_thread_is_esrch, exited_process_is_esrch): two oopses, three guests.
   */
  nullDeref: [
    {
      file: 'farfetch_common.h',
      from: '\ttarget->mm = get_task_mm(target->task);\n\tif (!target->mm) {\n\t\tput_task_struct(target->task);\n\t\treturn -ESRCH;\n\t}\n',
      to: '\ttarget->mm = get_task_mm(target->task);\n',
    },
  ],
  /** Part 3 still asks for root. */
  rootCheckInP3: [
    {
      file: 'farfetch_p3.c',
      from: '\tmutex_lock(&ff->lock);\n\tret = ff->pid ? far_target_get(ff->pid, &target) : -ESRCH;',
      to: '\tif (!uid_eq(current_euid(), GLOBAL_ROOT_UID))\n\t\treturn -EPERM;\n\tmutex_lock(&ff->lock);\n\tret = ff->pid ? far_target_get(ff->pid, &target) : -ESRCH;',
    },
  ],
  /** Part 3's ioctl stores whatever pid it is given. */
  ioctlNoPidCheck: [
    {
      file: 'farfetch_p3.c',
      from: '\tpid = find_get_pid(nr);\n\tif (!pid)\n\t\treturn -ESRCH;\n\ttask = get_pid_task(pid, PIDTYPE_PID);\n\tif (!task) {\n\t\tput_pid(pid);\n\t\treturn -ESRCH;\n\t}\n\tput_task_struct(task);\n',
      to: '\tpid = find_get_pid(nr);\n\ttask = NULL;\n',
    },
  ],
  /** Not a defect: the kernel's default llseek, as most students write it. */
  defaultLlseek: [
    { file: 'farfetch_p3.c', from: '.llseek = no_seek_end_llseek,', to: '.llseek = default_llseek,' },
  ],
} satisfies Record<string, Edit[]>;

/** The report's failed checks, by name. */
export function failedChecks(report: CheckReport): string[] {
  return report.tests.filter((t) => t.status === 'fail').map((t) => t.name);
}

/** `name → message` of one check, asserting it exists. */
export function check(report: CheckReport, name: string) {
  const t = report.tests.find((x) => x.name === name);
  if (!t) throw new Error(`no check ${name} in the report of part ${report.part}`);
  return t;
}

/** Where a run leaves every report it got (git-ignored), for the closing note: one file per grading. */
export const REPORTS_DIR = path.join(repoRoot, 'test-results', 'grader');

/**
 * Writes a report as test-results/grader/NAME.json, before the test asserts anything about it (so
 * a failing run leaves it too). NAME is `p<part>-<variant>`, with `.gradescope` or `.prairielearn`
 * when the CLI printed that platform's results.json instead of the `--json` report.
 */
export function saveReport(name: string, report: unknown): void {
  mkdirSync(REPORTS_DIR, { recursive: true });
  writeFileSync(path.join(REPORTS_DIR, `${name}.json`), JSON.stringify(report, null, 2) + '\n');
}

/**
 * Grades `module` (a reference module's folder name) with `edits` made to it as Part `part`, in
 * the real guest; the report is kept as test-results/grader/p<part>-<variant>.json.
 */
export async function gradeVariant(
  part: 1 | 2 | 3,
  variant: string,
  module: string,
  edits: Edit[] = [],
): Promise<CheckReport> {
  const src = studentFolder(module, edits);
  try {
    const report = await gradePart({ part, src });
    saveReport(`p${part}-${variant}`, report);
    return report;
  } finally {
    rmSync(src, { recursive: true });
  }
}
