// `farfetchd-lab workspace init DIR`: a student's workspace, the folder the lab shares into the
// guest at /root/work. One self-contained folder per part (generated from the reference modules:
// skeletons, or with `solution` the full references), the targets' sources, run_checkpatch.sh,
// a README, and a git repository whose first commit is what the student starts from.
import { spawn } from 'node:child_process';
import { chmod, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { RenderMode } from './exercise-markers.ts';
import { labDataKeeps, labDataPath } from './lab-data.ts';
import { assemblePart, partFolder, readPartSources, type Part } from './workspace-parts.ts';

export const PARTS: readonly Part[] = [1, 2, 3];

export interface WorkspaceOptions {
  /** `skeleton` (default): the student's start; `solution`: the reference modules, self-contained. */
  mode?: RenderMode;
  /** Where the reference modules are (default: this checkout's kernel-module/). */
  moduleDir?: string;
  /** Where the targets' sources are (default: this checkout's targets/). */
  targetsDir?: string;
  /** The git command (default `git`); tests name a missing one. */
  git?: string;
}

/** What init made: the top-level entries, and the first commit or why there is none. */
export interface WorkspaceInit {
  dir: string;
  entries: string[];
  git: { commit: string } | { missing: string };
}

const templateDir = labDataPath('workspaceTemplate');

/**
 * Read and written rather than copied: in the packaged app the sources are inside app.asar,
 * which Electron's fs reads like a folder (copyFile is not among what it promises).
 */
async function copyOut(from: string, to: string): Promise<void> {
  await writeFile(to, await readFile(from));
}

/** Refuses anything but a missing or empty folder, with what to do instead. */
async function claimFolder(dir: string): Promise<void> {
  const info = await stat(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
  if (info === null) {
    await mkdir(dir, { recursive: true });
    return;
  }
  if (!info.isDirectory()) {
    throw new Error(`${dir} exists and is not a folder: name a new folder, workspace init creates it`);
  }
  if ((await readdir(dir)).length > 0) {
    throw new Error(`${dir} is not empty: name a new folder (workspace init creates it) or empty this one`);
  }
}

/** The targets' sources (Makefile, .c, .h; not their tests or a bin/ left by a build). */
async function copyTargets(from: string, to: string): Promise<void> {
  await mkdir(to);
  for (const entry of await readdir(from, { withFileTypes: true })) {
    if (entry.isFile() && labDataKeeps('targets', entry.name)) {
      await copyOut(path.join(from, entry.name), path.join(to, entry.name));
    }
  }
}

function runGit(git: string, args: string[], cwd: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(git, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

/**
 * `git init` and a first commit of everything. The student's own identity if git has one, else a
 * neutral one for this commit only. Without git the folder is still complete: `missing` says so.
 */
async function firstCommit(dir: string, git: string, mode: RenderMode): Promise<WorkspaceInit['git']> {
  try {
    const init = await runGit(git, ['init', '-q', '--initial-branch=main'], dir);
    if (init.code !== 0) throw new Error(`git init failed: ${init.output.trim()}`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      return {
        missing: `${git} not found: the workspace is complete but not a git repository (install git, then git init)`,
      };
    }
    throw err;
  }
  const identity: string[] = [];
  for (const key of ['user.name', 'user.email']) {
    if ((await runGit(git, ['config', key], dir)).code !== 0) {
      identity.push('-c', `${key}=${key === 'user.name' ? "Farfetch'd Lab" : 'farfetchd-lab@localhost'}`);
    }
  }
  const add = await runGit(git, ['add', '-A'], dir);
  if (add.code !== 0) throw new Error(`git add failed in ${dir}: ${add.output.trim()}`);
  const message =
    mode === 'skeleton' ? "Farfetch'd: the skeletons, as generated" : "Farfetch'd: the reference modules";
  const commit = await runGit(git, [...identity, 'commit', '-q', '--no-verify', '-m', message], dir);
  if (commit.code !== 0) throw new Error(`git commit failed in ${dir}: ${commit.output.trim()}`);
  const head = await runGit(git, ['rev-parse', 'HEAD'], dir);
  return { commit: head.output.trim() };
}

/** Creates the workspace in `dir` (missing or empty; anything else throws a one-line Error). */
export async function initWorkspace(dir: string, opts: WorkspaceOptions = {}): Promise<WorkspaceInit> {
  const mode = opts.mode ?? 'skeleton';
  const moduleDir = opts.moduleDir ?? path.dirname(labDataPath('commonHeaders'));
  // Every part is generated before anything is written: a bad marker leaves no half workspace.
  const parts = await Promise.all(
    PARTS.map(async (part) => ({ part, files: assemblePart(await readPartSources(moduleDir, part), mode) })),
  );
  await claimFolder(dir);
  for (const { part, files } of parts) {
    const folder = path.join(dir, partFolder(part));
    await mkdir(folder);
    for (const file of files) await writeFile(path.join(folder, file.path), file.text, { mode: file.mode });
  }
  await copyTargets(opts.targetsDir ?? labDataPath('targets'), path.join(dir, 'targets'));
  await copyOut(path.join(templateDir, 'run_checkpatch.sh'), path.join(dir, 'run_checkpatch.sh'));
  await chmod(path.join(dir, 'run_checkpatch.sh'), 0o755);
  await copyOut(path.join(templateDir, 'README.md'), path.join(dir, 'README.md'));
  await writeFile(path.join(dir, '.gitignore'), await readFile(path.join(templateDir, 'gitignore')));
  const entries = (await readdir(dir)).sort();
  return { dir, entries, git: await firstCommit(dir, opts.git ?? 'git', mode) };
}
