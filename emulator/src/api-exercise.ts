// The exercise's part of the typed contract (steps, workspace files, build, grade, progress).
// Types only, like api.ts (which re-exports them): the renderer and the preload import it as is.
import type { CheckReport } from './api.ts';

/** A panel of the app a step can point at. */
export type StepPanel = 'page-tables' | 'drivers' | 'kernel-log' | 'system' | 'editor';

export interface StepLink {
  panel: StepPanel;
  /** What the link says, e.g. "walk the target's address". */
  label: string;
  /** For the editor: the workspace file to open (relative to the workspace). */
  file?: string;
}

/** One step of the exercise, as its file under emulator/exercise/ says (docs/exercise.md "Steps"). */
export interface ExerciseStep {
  /** Stable id, from the file name without its order prefix: `part3`. */
  id: string;
  title: string;
  /** The assignment part the step builds and grades, if any. */
  part?: 1 | 2 | 3;
  /** The explanation, Markdown (rendered by the app's own safe renderer: no raw HTML). */
  markdown: string;
  /** Commands to try in the guest terminal, one line each. */
  commands: string[];
  /** What grades the step, in words ("every check of part 3"), or null when nothing does. */
  grades: string | null;
  links: StepLink[];
}

/** Where the student stands on one step (kept on the host, in the workspace's .farfetchd-lab/). */
export interface StepProgress {
  /** The student marked the step done (or its grade reached its maximum). */
  done: boolean;
  /** The last grade of the step's part, and when it was made (ISO time). */
  grade?: CheckReport & { at: string };
  /** The last Build & load of the step's part. */
  build?: { ok: boolean; at: string };
}

export interface ExerciseState {
  /** The host folder shared as /root/work. */
  workspace: string;
  steps: ExerciseStep[];
  progress: Record<string, StepProgress>;
  /** The welcome page was dismissed once (it stays reachable from the exercise view). */
  welcomeSeen: boolean;
}

/** A compiler or make message about a place in a workspace file. */
export interface BuildDiagnostic {
  /** Relative to the workspace, e.g. "farfetch_p3/farfetch_p3.c". */
  file: string;
  line: number;
  column: number | null;
  severity: 'error' | 'warning' | 'note';
  message: string;
}

export interface BuildResult {
  part: 1 | 2 | 3;
  /** make's exit status (0: built). */
  exitCode: number;
  /** make's stdout and stderr, as printed. */
  output: string;
  diagnostics: BuildDiagnostic[];
  /** insmod (and, for part 3, mknod) succeeded. */
  loaded: boolean;
  /** What loading printed or why it failed; null when the build failed (nothing was loaded). */
  loadOutput: string | null;
}

/** What "Open in my editor" did: opened it (Electron), or only the path to copy (browser mode). */
export interface OpenResult {
  opened: boolean;
  hostPath: string;
  /** Why it could not be opened, when it could not. */
  reason?: string;
}

/** The exercise's methods of LabApi. File paths are relative to the workspace ("farfetch_p3/x.c"). */
export interface ExerciseApi {
  exercise(): Promise<ExerciseState>;
  /** The workspace's files (no hidden folders, no build artifacts), sorted. */
  workspaceFiles(): Promise<string[]>;
  readWorkspaceFile(file: string): Promise<string>;
  writeWorkspaceFile(file: string, text: string): Promise<void>;
  openInEditor(file: string): Promise<OpenResult>;
  /** `make` in /root/work/farfetch_pN in the guest, then insmod (and mknod for part 3). */
  buildAndLoad(part: 1 | 2 | 3): Promise<BuildResult>;
  /** Grades the step's part (the workspace's farfetch_pN) in a fresh guest; saved in its progress. */
  grade(stepId: string): Promise<CheckReport>;
  setStepDone(stepId: string, done: boolean): Promise<ExerciseState>;
  setWelcomeSeen(seen: boolean): Promise<ExerciseState>;
}
