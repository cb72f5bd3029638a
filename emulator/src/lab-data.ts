// The files the lab reads at run time from its own folder: the exercise's steps, the grader's
// built-in checks, the workspace template, and what `workspace init` generates a student's
// folders from (the reference modules, their shared headers, the targets). Found from repoRoot:
// a checkout's root, or in the packaged app resources/app.asar (electron/dist/main.cjs is two
// folders below it, as emulator/src/image.ts is below a checkout's root), where the `files` of
// build/electron-builder.yml put them. Each entry says which of its files the lab reads, so the
// packaging tests can check that every one of them is packed where the code looks.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { repoRoot } from './image.ts';

export interface LabData {
  /** A folder or file, relative to repoRoot, with `/` (as in app.asar). */
  path: string;
  /** For a folder: the names in it that the lab reads. */
  keep?: (name: string) => boolean;
}

/** A reference module's file that `workspace init` reads (its Makefile, .c and .h files). */
export const isModuleSource = (name: string): boolean =>
  name === 'Makefile' || (/\.[ch]$/.test(name) && !name.endsWith('.mod.c'));

export const LAB_DATA = {
  steps: { path: 'emulator/exercise', keep: (name) => name.endsWith('.md') },
  checks: { path: 'emulator/grader/checks.json' },
  workspaceTemplate: {
    path: 'emulator/workspace-template',
    keep: (name) => ['README.md', 'gitignore', 'run_checkpatch.sh'].includes(name),
  },
  part1: { path: 'kernel-module/farfetch_p1', keep: isModuleSource },
  part2: { path: 'kernel-module/farfetch_p2', keep: isModuleSource },
  part3: { path: 'kernel-module/farfetch_p3', keep: isModuleSource },
  commonHeaders: { path: 'kernel-module/common', keep: (name) => /\.(h|mk)$/.test(name) },
  targets: { path: 'targets', keep: (name) => name === 'Makefile' || /\.[ch]$/.test(name) },
} satisfies Record<string, LabData>;

/** Where `key`'s data is under `root` (default: this lab's repoRoot). */
export function labDataPath(key: keyof typeof LAB_DATA, root = repoRoot): string {
  return path.join(root, ...LAB_DATA[key].path.split('/'));
}

/** Whether a file name in `key`'s folder is one the lab reads. */
export function labDataKeeps(key: keyof typeof LAB_DATA, name: string): boolean {
  const data: LabData = LAB_DATA[key];
  return data.keep ? data.keep(name) : true;
}

/** Every file the lab reads at run time, relative to `root` with `/`, sorted. */
export async function labDataFiles(root = repoRoot): Promise<string[]> {
  const files: string[] = [];
  for (const data of Object.values(LAB_DATA) as LabData[]) {
    if (!data.keep) {
      files.push(data.path);
      continue;
    }
    const entries = await readdir(path.join(root, ...data.path.split('/')), { withFileTypes: true });
    for (const e of entries) if (e.isFile() && data.keep(e.name)) files.push(`${data.path}/${e.name}`);
  }
  return files.sort();
}
