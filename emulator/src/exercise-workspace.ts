// The workspace folder the app works in: a missing or empty folder becomes the exercise's
// (`initWorkspace`, the same as `farfetchd-lab workspace init DIR`: the three parts' skeletons,
// the targets, run_checkpatch.sh, a README and a git repository); a folder with files is left alone.
import { mkdir, readdir } from 'node:fs/promises';
import { initWorkspace, type WorkspaceOptions } from './workspace.ts';

export async function ensureWorkspace(dir: string, opts: WorkspaceOptions = {}): Promise<void> {
  await mkdir(dir, { recursive: true });
  if ((await readdir(dir)).length > 0) return;
  await initWorkspace(dir, opts);
}
