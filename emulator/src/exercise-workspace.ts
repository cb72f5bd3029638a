// The workspace folder the app works in. `initWorkspace` (workspace.ts, `farfetchd-lab workspace
// init`) makes the real one once it lands (switch standInInit for it here); until then a stand-in
// copies each reference module with the shared headers beside it (self-contained farfetch_pN/).
import { copyFile, mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { repoRoot } from './image.ts';

const PARTS = ['farfetch_p1', 'farfetch_p2', 'farfetch_p3'] as const;

async function standInInit(dir: string): Promise<void> {
  const modules = path.join(repoRoot, 'kernel-module');
  for (const part of PARTS) {
    await mkdir(path.join(dir, part), { recursive: true });
    for (const from of [path.join(modules, part), path.join(modules, 'common')]) {
      for (const name of await readdir(from)) {
        if (name === 'Makefile' || name.endsWith('.c') || name.endsWith('.h')) {
          await copyFile(path.join(from, name), path.join(dir, part, name));
        }
      }
    }
  }
}

/**
 * Makes `dir` a workspace when it is missing or empty; leaves a folder with files alone (the
 * student's own, or one made by `workspace init`).
 */
export async function ensureWorkspace(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  if ((await readdir(dir)).length > 0) return;
  await standInInit(dir);
}
