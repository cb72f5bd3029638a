// Where the student stands, kept on the host in the workspace's .farfetchd-lab/progress.json
// (so it follows the folder, survives restarts, and is never part of a submission: hidden folders
// are skipped by the grader and by the editor). A missing or unreadable file is a fresh start.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { StepProgress } from './api.ts';

export interface SavedProgress {
  welcomeSeen: boolean;
  steps: Record<string, StepProgress>;
}

export function progressFile(workspace: string): string {
  return path.join(workspace, '.farfetchd-lab', 'progress.json');
}

/** The saved progress from its text; anything that is not the expected shape is dropped. */
export function parseProgress(text: string | null): SavedProgress {
  const fresh: SavedProgress = { welcomeSeen: false, steps: {} };
  if (!text) return fresh;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return fresh;
  }
  if (typeof raw !== 'object' || raw === null) return fresh;
  const { welcomeSeen, steps } = raw as Record<string, unknown>;
  const out: SavedProgress = { welcomeSeen: welcomeSeen === true, steps: {} };
  if (typeof steps === 'object' && steps !== null) {
    for (const [id, value] of Object.entries(steps)) {
      if (typeof value !== 'object' || value === null) continue;
      const step = value as Partial<StepProgress>;
      out.steps[id] = {
        done: step.done === true,
        ...(typeof step.grade === 'object' && step.grade !== null ? { grade: step.grade } : {}),
        ...(typeof step.build === 'object' && step.build !== null ? { build: step.build } : {}),
      };
    }
  }
  return out;
}

export async function loadProgress(workspace: string): Promise<SavedProgress> {
  return parseProgress(await readFile(progressFile(workspace), 'utf8').catch(() => null));
}

/** One writer at a time per workspace, each write whole (a temporary file renamed into place). */
export class ProgressStore {
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly workspace: string) {}

  load(): Promise<SavedProgress> {
    return loadProgress(this.workspace);
  }

  /** Applies `change` to the saved progress and saves it; resolves to what was saved. */
  update(change: (progress: SavedProgress) => void): Promise<SavedProgress> {
    const next = this.chain.then(async () => {
      const progress = await this.load();
      change(progress);
      const file = progressFile(this.workspace);
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(`${file}.tmp`, JSON.stringify(progress, null, 2) + '\n');
      await rename(`${file}.tmp`, file);
      return progress;
    });
    this.chain = next.catch(() => undefined);
    return next;
  }
}
