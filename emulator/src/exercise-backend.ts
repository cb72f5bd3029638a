// The exercise's LabApi methods (api-exercise.ts): steps and progress, the workspace's files for
// the editor, Build & load in the running guest, and Grade in a fresh one. backend.ts mixes these
// into every client's API.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type {
  BuildResult,
  CheckReport,
  ExerciseApi,
  ExerciseState,
  ExerciseStep,
  OpenResult,
} from './api.ts';
import { GUEST_WORKSPACE, parseDiagnostics } from './build-diagnostics.ts';
import { ProgressStore, type SavedProgress } from './exercise-progress.ts';
import { loadSteps } from './exercise-steps.ts';
import { gradeWorkspacePart, type GradeFn } from './exercise-grade.ts';
import { unloadFarfetchLines } from './modules.ts';
import type { LabSession } from './session.ts';
import {
  listWorkspaceFiles,
  readWorkspaceFile,
  resolveInWorkspace,
  writeWorkspaceFile,
} from './workspace-files.ts';

export interface ExerciseOptions {
  workspace: string;
  stepsDir?: string;
  /** Grades a part's folder (default: the grader library's gradePart, exercise-grade.ts). */
  grade?: GradeFn;
  /** Opens a host file in the user's own editor; resolves to "" or why not (Electron's shell.openPath). */
  openPath?: (hostPath: string) => Promise<string>;
}

/** The guest's part of Build & load: which session methods it uses. */
type GuestSession = Pick<LabSession, 'run' | 'status' | 'loadModule' | 'modules'>;

/** Unloads every farfetch module (the reference's, an earlier build's), then loads the new .ko. */
export function studentLoadScript(part: 1 | 2 | 3, dir: string): string {
  const lines = [
    'set -e',
    ...unloadFarfetchLines(),
    `cd ${dir}`,
    'set -- *.ko',
    '[ "$#" -eq 1 ] && [ -f "$1" ] || { echo "make must build exactly one .ko in $(pwd) (found: $*)" >&2; exit 1; }',
    'insmod "$1"',
    'echo "insmod $1: loaded"',
  ];
  if (part === 3) {
    lines.push(
      'major=$(awk \'$2 == "farfetch" { print $1 }\' /proc/devices)',
      '[ -n "$major" ] || { echo "no device named farfetch in /proc/devices after insmod" >&2; exit 1; }',
      'rm -f /dev/farfetch',
      'mknod -m 0666 /dev/farfetch c "$major" 0',
      'echo "mknod -m 0666 /dev/farfetch c $major 0"',
    );
  }
  return lines.join('\n');
}

export class ExerciseError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ExerciseError';
  }
}

export function createExerciseApi(session: GuestSession, opts: ExerciseOptions): ExerciseApi {
  const { workspace } = opts;
  const store = new ProgressStore(workspace);
  const grade = opts.grade ?? gradeWorkspacePart;
  let steps: Promise<ExerciseStep[]> | null = null;
  const allSteps = () =>
    (steps ??= loadSteps(opts.stepsDir).catch((err: unknown) => {
      steps = null;
      throw err;
    }));
  let grading: string | null = null;
  let building = false;

  const state = async (saved?: SavedProgress): Promise<ExerciseState> => {
    const progress = saved ?? (await store.load());
    return {
      workspace,
      steps: await allSteps(),
      progress: progress.steps,
      welcomeSeen: progress.welcomeSeen,
    };
  };
  const stepOf = async (stepId: string): Promise<ExerciseStep> => {
    const step = (await allSteps()).find((s) => s.id === stepId);
    if (!step) throw new ExerciseError('EINVAL', `there is no step "${stepId}"`);
    return step;
  };
  const partDir = (part: 1 | 2 | 3): string => {
    const dir = path.join(workspace, `farfetch_p${part}`);
    if (!existsSync(dir)) {
      throw new ExerciseError(
        'ENOENT',
        `${dir} does not exist: make the workspace with "farfetchd-lab workspace init ${workspace}"`,
      );
    }
    return dir;
  };

  const buildAndLoad = async (part: 1 | 2 | 3): Promise<BuildResult> => {
    partDir(part);
    const guestDir = `${GUEST_WORKSPACE}/farfetch_p${part}`;
    const make = await session.run('make', ['-C', guestDir], { timeoutMs: 600_000 });
    const output = make.stdout.toString('utf8') + make.stderr.toString('utf8');
    const result: BuildResult = {
      part,
      exitCode: make.exitCode,
      output,
      diagnostics: parseDiagnostics(output),
      loaded: false,
      loadOutput: null,
    };
    if (make.exitCode !== 0) return result;
    // The reference module the session loaded holds the system call: it goes first.
    if (session.status().loadedModule !== 'none') await session.loadModule('none');
    const load = await session.run('sh', ['-c', studentLoadScript(part, guestDir)], { timeoutMs: 60_000 });
    result.loaded = load.exitCode === 0;
    result.loadOutput = (load.stdout.toString('utf8') + load.stderr.toString('utf8')).trim();
    await session.modules.refresh(); // the status bar and the driver panel: the student's module now
    return result;
  };

  return {
    exercise: () => state(),
    workspaceFiles: () => listWorkspaceFiles(workspace),
    readWorkspaceFile: (file) => readWorkspaceFile(workspace, file),
    writeWorkspaceFile: (file, text) => writeWorkspaceFile(workspace, file, text),
    openInEditor: async (file): Promise<OpenResult> => {
      const hostPath = await resolveInWorkspace(workspace, file);
      if (!opts.openPath) {
        return { opened: false, hostPath, reason: 'browser mode: open this path in your editor' };
      }
      const why = await opts.openPath(hostPath);
      return why ? { opened: false, hostPath, reason: why } : { opened: true, hostPath };
    },
    buildAndLoad: async (part) => {
      if (building) throw new ExerciseError('EBUSY', 'a build is running already: wait for it to finish');
      building = true;
      try {
        const result = await buildAndLoad(part);
        const stepIds = (await allSteps()).filter((s) => s.part === part).map((s) => s.id);
        await store.update((p) => {
          for (const id of stepIds) {
            p.steps[id] = {
              ...(p.steps[id] ?? { done: false }),
              build: { ok: result.loaded, at: new Date().toISOString() },
            };
          }
        });
        return result;
      } finally {
        building = false;
      }
    },
    grade: async (stepId): Promise<CheckReport> => {
      const step = await stepOf(stepId);
      if (step.part === undefined) throw new ExerciseError('EINVAL', `step "${stepId}" has nothing to grade`);
      if (grading)
        throw new ExerciseError('EBUSY', `step "${grading}" is being graded: wait for it to finish`);
      const src = partDir(step.part);
      grading = stepId;
      try {
        const report = await grade({ part: step.part, src });
        await store.update((p) => {
          const before = p.steps[stepId] ?? { done: false };
          const full = report.maxScore > 0 && report.score === report.maxScore;
          p.steps[stepId] = {
            ...before,
            done: before.done || full,
            grade: { ...report, at: new Date().toISOString() },
          };
        });
        return report;
      } finally {
        grading = null;
      }
    },
    setStepDone: async (stepId, done) => {
      await stepOf(stepId);
      return state(await store.update((p) => (p.steps[stepId] = { ...p.steps[stepId], done })));
    },
    setWelcomeSeen: async (seen) => state(await store.update((p) => (p.welcomeSeen = seen))),
  };
}
