// The lab's files outside the repo, and their cleanup: one run folder per QEMU process (its
// overlay and sockets) in the temp folder, and warm snapshots in the cache folder. A lab host
// process killed hard (SIGKILL, a crash, a power cut) leaves both behind; the next session
// removes what nobody owns any more.
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { labCacheDir } from './accel.ts';

export const RUN_FOLDER_PREFIX = 'farfetchd-lab-';
/** Names the host process that owns a run folder. */
export const PID_FILE = 'pid';

/** The lab's cache folder: $FARFETCHD_LAB_CACHE, else $XDG_CACHE_HOME/farfetchd-lab. */
export const cacheDir = labCacheDir;

/** Creates a private run folder owned by this process (mode 0700, as mkdtemp makes it). */
export async function makeRunFolder(tmp: string = os.tmpdir()): Promise<string> {
  const dir = await mkdtemp(path.join(tmp, RUN_FOLDER_PREFIX));
  await writeFile(path.join(dir, PID_FILE), `${process.pid}\n`);
  return dir;
}

/** Whether a process with this pid exists (EPERM: it does, it is someone else's). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the run folders in `tmp` whose pid file names a dead process. Returns the folders
 * removed. A folder without a pid file is left alone: it is being created right now (mkdtemp
 * comes before the pid file), or belongs to an older lab that may still be running. A pid
 * reused by an unrelated process keeps its folder: a leak, never a live session's disk lost.
 */
export async function cleanStaleRunFolders(
  tmp: string = os.tmpdir(),
  isAlive: (pid: number) => boolean = processAlive,
): Promise<string[]> {
  const removed: string[] = [];
  const names = await readdir(tmp).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.startsWith(RUN_FOLDER_PREFIX)) continue;
    const dir = path.join(tmp, name);
    if (await isStale(dir, isAlive)) {
      await rm(dir, { recursive: true, force: true });
      removed.push(dir);
    }
  }
  return removed;
}

async function isStale(dir: string, isAlive: (pid: number) => boolean): Promise<boolean> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) return false;
  const text = await readFile(path.join(dir, PID_FILE), 'utf8').catch(() => undefined);
  if (text === undefined) return false;
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 0) return false; // being written right now
  return pid !== process.pid && !isAlive(pid);
}

const WARM_FILE = /^warm-([0-9a-f]+)-.*\.qcow2(\..*\.tmp)?$/;

/**
 * The keys of the images that still exist next to `imageDir` (build/out/image-<key>, and the
 * one `imageDir` itself holds).
 */
export async function existingImageKeys(imageDir: string): Promise<Set<string>> {
  const keys = new Set<string>();
  const readKey = async (dir: string) => {
    const text = await readFile(path.join(dir, 'manifest.json'), 'utf8').catch(() => undefined);
    if (text === undefined) return;
    try {
      const key = (JSON.parse(text) as { key?: unknown }).key;
      if (typeof key === 'string') keys.add(key);
    } catch {
      // a damaged manifest names no image
    }
  };
  await readKey(imageDir);
  const out = path.dirname(imageDir);
  for (const name of await readdir(out).catch(() => [] as string[])) {
    if (name.startsWith('image-')) await readKey(path.join(out, name));
  }
  return keys;
}

/** Removes warm snapshots (and half-written copies of them) of images that no longer exist. */
export async function cleanStaleWarmSnapshots(cache: string, imageKeys: Set<string>): Promise<string[]> {
  const removed: string[] = [];
  if (!existsSync(cache)) return removed;
  for (const name of await readdir(cache)) {
    const key = WARM_FILE.exec(name)?.[1];
    if (key === undefined || imageKeys.has(key)) continue;
    await rm(path.join(cache, name), { force: true });
    removed.push(path.join(cache, name));
  }
  return removed;
}

/** Both cleanups, as a session does them before its first boot; never throws. */
export async function cleanStaleFiles(env: NodeJS.ProcessEnv, imageDir: string): Promise<void> {
  try {
    await cleanStaleRunFolders();
    await cleanStaleWarmSnapshots(cacheDir(env), await existingImageKeys(imageDir));
  } catch (err) {
    if (env.FARFETCHD_LAB_DEBUG) process.stderr.write(`cleanup: ${(err as Error).message}\n`);
  }
}
