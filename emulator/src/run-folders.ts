// The lab's files outside the repo, and their cleanup: one run folder per QEMU process (its
// overlay and sockets) in the temp folder, and warm snapshots in the cache folder. A lab host
// process killed hard (SIGKILL, a crash, a power cut) leaves both behind; the next session
// removes what nobody owns any more.
import { createHash, randomBytes } from 'node:crypto';
import { constants, existsSync } from 'node:fs';
import {
  copyFile,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  realpath,
  rename,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { labCacheDir } from './accel.ts';
import type { DiskSource } from './lab-process.ts';

export const RUN_FOLDER_PREFIX = 'farfetchd-lab-';
/** Names the host process that owns a run folder. */
export const PID_FILE = 'pid';

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

// Warm snapshots: warm-<image key>-<shape>.qcow2, and warm-….qcow2.<pid>-<ms>.tmp while one is
// being written. One cache serves every image folder on the host (an installed app's, a dev
// checkout's out/, out-<name>/ …), and no session can see the others' folders; so each session
// registers its image folder in a sidecar, warm-<image key>.<folder hash>.image, and a snapshot
// goes only when every folder that registered its key provably holds another image or none.
const WARM_FILE = /^warm-([0-9a-f]+)-.*\.qcow2$/;
const WARM_TMP = /^warm-([0-9a-f]+)-.*\.qcow2\.(\d+)-\d+\.tmp$/;
const SIDECAR = /^warm-([0-9a-f]+)\.[0-9a-f]{16}\.image$/;
/** A snapshot nobody registered (made before sidecars existed) goes after this long unchanged. */
export const UNREGISTERED_SNAPSHOT_MAX_AGE_MS = 30 * 24 * 3600 * 1000;

/** The key in `dir`'s manifest.json, or undefined (no folder, no manifest, a damaged one). */
async function manifestKey(dir: string): Promise<string | undefined> {
  const text = await readFile(path.join(dir, 'manifest.json'), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const key = (JSON.parse(text) as { key?: unknown }).key;
    return typeof key === 'string' ? key : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Records in `cache` that `imageDir` (and the folder it resolves to, when it is a link such as
 * out/image) holds the image its manifest names: that image's snapshots are live while it does.
 * One sidecar per folder: two sessions registering at once never overwrite each other.
 */
export async function registerImageFolder(cache: string, imageDir: string): Promise<void> {
  const dir = path.resolve(imageDir);
  const key = await manifestKey(dir);
  if (key === undefined || !/^[0-9a-f]+$/.test(key)) return;
  const dirs = [...new Set([dir, await realpath(dir).catch(() => dir)])];
  const id = createHash('sha256').update(dir).digest('hex').slice(0, 16);
  const file = path.join(cache, `warm-${key}.${id}.image`);
  await mkdir(cache, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify({ dirs }) + '\n');
  await rename(tmp, file);
}

/** Whether some folder a sidecar names still holds image `key`; a damaged sidecar names none. */
async function stillHeld(cache: string, sidecar: string, key: string): Promise<boolean> {
  const text = await readFile(path.join(cache, sidecar), 'utf8').catch(() => undefined);
  if (text === undefined) return true; // unreadable right now: not proof of anything
  let dirs: unknown;
  try {
    dirs = (JSON.parse(text) as { dirs?: unknown }).dirs;
  } catch {
    return false;
  }
  if (!Array.isArray(dirs)) return false;
  for (const dir of dirs) {
    if (typeof dir === 'string' && (await manifestKey(dir)) === key) return true;
  }
  return false;
}

/** A file of the warm-snapshot cache that the next session removes, and why. */
export interface StaleWarmFile {
  /** Its name in the cache folder. */
  name: string;
  reason: 'image gone' | 'unfinished copy' | 'unregistered and old';
}

/**
 * The warm snapshots whose image is provably gone (every folder registered for it holds
 * another image or none), with their sidecars; half-written copies whose writer is dead; and
 * unregistered snapshots older than UNREGISTERED_SNAPSHOT_MAX_AGE_MS. Removes nothing.
 * `liveKeys`: images known to be here (doctor's own), whatever the sidecars say.
 */
export async function findStaleWarmSnapshots(
  cache: string,
  opts: { isAlive?: (pid: number) => boolean; now?: number; liveKeys?: string[] } = {},
): Promise<StaleWarmFile[]> {
  const { isAlive = processAlive, now = Date.now(), liveKeys = [] } = opts;
  const names = await readdir(cache).catch(() => [] as string[]);
  const sidecars = new Map<string, string[]>();
  for (const name of names) {
    const key = SIDECAR.exec(name)?.[1];
    if (key !== undefined) sidecars.set(key, [...(sidecars.get(key) ?? []), name]);
  }
  const gone = new Set<string>();
  for (const [key, files] of sidecars) {
    if (liveKeys.includes(key)) continue;
    const held = await Promise.all(files.map((f) => stillHeld(cache, f, key)));
    if (!held.includes(true)) gone.add(key);
  }
  const stale: StaleWarmFile[] = [];
  for (const name of names) {
    const snapshot = WARM_FILE.exec(name);
    const tmp = WARM_TMP.exec(name);
    const key = snapshot?.[1] ?? tmp?.[1] ?? SIDECAR.exec(name)?.[1];
    if (key === undefined) continue;
    if (gone.has(key)) {
      stale.push({ name, reason: 'image gone' });
    } else if (tmp) {
      const pid = Number(tmp[2]);
      if (pid !== process.pid && !isAlive(pid)) stale.push({ name, reason: 'unfinished copy' });
    } else if (snapshot && !sidecars.has(key) && !liveKeys.includes(key)) {
      const info = await stat(path.join(cache, name)).catch(() => undefined);
      if (info && now - info.mtimeMs > UNREGISTERED_SNAPSHOT_MAX_AGE_MS)
        stale.push({ name, reason: 'unregistered and old' });
    }
  }
  return stale;
}

/**
 * The warm snapshots that no image folder registered (made by a lab from before sidecars, or
 * whose sidecar was lost) and that are not of `liveKeys`: kept until unused for
 * UNREGISTERED_SNAPSHOT_MAX_AGE_MS, since nothing proves their image gone.
 */
export async function unregisteredWarmSnapshots(cache: string, liveKeys: string[] = []): Promise<string[]> {
  const names = await readdir(cache).catch(() => [] as string[]);
  const registered = new Set(names.map((n) => SIDECAR.exec(n)?.[1]).filter((k) => k !== undefined));
  return names.filter((name) => {
    const key = WARM_FILE.exec(name)?.[1];
    return key !== undefined && !registered.has(key) && !liveKeys.includes(key);
  });
}

/** Removes what findStaleWarmSnapshots finds. Returns the paths it removed. */
export async function cleanStaleWarmSnapshots(
  cache: string,
  opts: { isAlive?: (pid: number) => boolean; now?: number } = {},
): Promise<string[]> {
  const removed: string[] = [];
  for (const { name } of await findStaleWarmSnapshots(cache, opts)) {
    await rm(path.join(cache, name), { force: true });
    // Its spare copies (below) go with it.
    if (WARM_FILE.test(name)) await removeSpares(path.join(cache, name));
    removed.push(path.join(cache, name));
  }
  return removed;
}

/**
 * Both cleanups, as a session does them before its first boot, after registering its own image
 * folder (so its snapshots are live); never throws.
 */
export async function cleanStaleFiles(env: NodeJS.ProcessEnv, imageDir: string): Promise<void> {
  try {
    await cleanStaleRunFolders();
    const cache = labCacheDir(env);
    await registerImageFolder(cache, imageDir);
    await cleanStaleWarmSnapshots(cache);
    await cleanStaleSpares();
  } catch (err) {
    if (env.FARFETCHD_LAB_DEBUG) process.stderr.write(`cleanup: ${(err as Error).message}\n`);
  }
}

/**
 * Where a machine's run folder goes: beside the disk it takes over by renaming (a saved session's,
 * or the run folder of the machine it follows after a reboot), so that the rename never crosses
 * file systems (a tmpfs /tmp); elsewhere the temp folder.
 */
export function runFolderParent(disk: DiskSource): string | undefined {
  if (disk.kind === 'resume') return path.dirname(disk.file);
  if (disk.kind === 'adopt') return path.dirname(path.dirname(disk.file));
  return undefined;
}

// Spare overlays. A warm start's overlay is a copy of the warm snapshot file (≈ 42 MB: 20–25 ms
// on a quiet machine, 60–90 ms on a busy one, on the way to every prompt). So a machine that is
// ready makes the next start's copy ahead, a spare, in a private folder of this user's in the
// temp folder, beside the run folders (the same file system: it is taken with a rename). A folder
// of that name that is not this user's, or that others may write, is not used: a spare is a disk
// the guest boots from. A spare is named by the warm file's path and by its inode, mtime and
// size: a spare of a warm file that was made again since is never taken, and goes at the next
// makeSpare; the spares of a warm file that is removed go with it.
export const SPARE_PREFIX = 'farfetchd-lab-spare-';
/** The name's end of the file that says which warm file a prefix's spares are of. */
const WARM_MARKER = 'warm';

/** `farfetchd-lab-spare-<hash of the warm file's path>-`: every spare of that warm file. */
function sparePrefix(warm: string): string {
  return `${SPARE_PREFIX}${createHash('sha256').update(path.resolve(warm)).digest('hex').slice(0, 16)}-`;
}

/** The folder of this user's spares, in the temp folder (made when a spare is). */
export function spareFolder(): string {
  return path.join(os.tmpdir(), `farfetchd-lab-spares-${process.getuid?.() ?? os.userInfo().username}`);
}

/** Whether `dir` is a folder (made if missing) that only this user can write to. */
async function privateFolder(dir: string): Promise<boolean> {
  await mkdir(dir, { mode: 0o700 }).catch(() => undefined);
  const info = await lstat(dir).catch(() => undefined);
  if (!info?.isDirectory()) return false;
  if (process.platform === 'win32') return true; // the temp folder is the user's own
  return info.uid === process.getuid?.() && (info.mode & 0o022) === 0;
}

/** The spare of the warm file as it is now, or undefined (no warm file, no private folder). */
async function spareOf(warm: string, dir: string): Promise<string | undefined> {
  const info = await stat(warm).catch(() => undefined);
  if (!info || !(await privateFolder(dir))) return undefined;
  return path.join(dir, `${sparePrefix(warm)}${info.ino}-${Math.trunc(info.mtimeMs)}-${info.size}.qcow2`);
}

/** Moves the warm file's spare to `overlay`; false when there is none (another start took it). */
export async function takeSpare(warm: string, overlay: string, dir = spareFolder()): Promise<boolean> {
  const spare = await spareOf(warm, dir);
  if (!spare) return false;
  return rename(spare, overlay).then(
    () => true,
    () => false,
  );
}

/**
 * Makes the next start's spare of `warm`, unless there is one, and removes the spares of its
 * older versions. Written under a temporary name first: a spare is always a whole copy.
 */
export async function makeSpare(warm: string, dir = spareFolder()): Promise<void> {
  const spare = await spareOf(warm, dir);
  if (!spare) return;
  const prefix = sparePrefix(warm);
  const marker = path.join(dir, `${prefix}${WARM_MARKER}`);
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const full = path.join(dir, name);
    if (!name.startsWith(prefix) || full === spare || full === marker) continue;
    // Another version's spare, or a copy left half-made by a lab process that was killed.
    const writer = /\.(\d+)-[0-9a-f]+\.tmp$/.exec(name)?.[1];
    if (writer === undefined || !processAlive(Number(writer))) await rm(full, { force: true });
  }
  if (existsSync(spare)) return;
  if (!existsSync(marker)) await writeFile(marker, `${path.resolve(warm)}\n`);
  const tmp = `${spare}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  try {
    await copyFile(warm, tmp, constants.COPYFILE_FICLONE);
    await rename(tmp, spare);
  } finally {
    await rm(tmp, { force: true });
  }
}

/**
 * Removes the spares of warm files that are gone (a test's own cache folder, a cache emptied by
 * hand): each warm file's spares have a marker naming it, `<prefix>warm`. Returns what it removed.
 */
export async function cleanStaleSpares(dir = spareFolder()): Promise<string[]> {
  const removed: string[] = [];
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const markerName of names.filter((n) => n.startsWith(SPARE_PREFIX) && n.endsWith(WARM_MARKER))) {
    const warm = (await readFile(path.join(dir, markerName), 'utf8').catch(() => '')).trim();
    if (warm === '' || existsSync(warm)) continue;
    const prefix = markerName.slice(0, -WARM_MARKER.length);
    for (const name of names.filter((n) => n.startsWith(prefix))) {
      await rm(path.join(dir, name), { force: true });
      removed.push(name);
    }
  }
  return removed;
}

/** Removes every spare of `warm` (its warm file is being removed). */
export async function removeSpares(warm: string, dir = spareFolder()): Promise<void> {
  const prefix = sparePrefix(warm);
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (name.startsWith(prefix)) await rm(path.join(dir, name), { force: true });
  }
}
