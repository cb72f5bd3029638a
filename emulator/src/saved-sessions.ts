// Saved sessions: what Suspend leaves on disk for a later Resume, also after the app was closed.
//
// One per workspace folder (a student's machine belongs to their folder), in the lab's cache
// folder: sessions/<id>.qcow2, the suspended machine's own disk (an overlay over the image, with
// the whole machine in its internal snapshot SUSPEND_SNAPSHOT), and sessions/<id>.json, what the
// machine was (image, machine shape, module), written last: a disk without it is half-written.
// A resumed machine runs on that disk, moved into a run folder made in sessions/ (same file
// system: a rename, never a copy); the saved session is consumed once the machine is ready.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { labCacheDir } from './accel.ts';
import type { ModuleName, SavedSessionInfo } from './api.ts';
import { cleanStaleRunFolders } from './run-folders.ts';

/** The savevm tag inside a saved session's disk. */
export const SUSPEND_SNAPSHOT = 'lab-suspended';
const FORMAT = 1;

/** What a saved session was, beside its disk. */
export interface SavedSession {
  format: typeof FORMAT;
  /** The guest image's key (manifest.json): a snapshot only resumes on the image it was made on. */
  imageKey: string;
  /** machineShape(): accelerator, memory, CPUs, share, paging mode, kernel, default command line. */
  shape: string;
  /** The workspace folder it belongs to (absolute), or null for a machine without one. */
  workspace: string | null;
  /** The reference module loaded when it was saved (the status bar shows it again). */
  module: ModuleName;
  /** ISO time of the suspend. */
  savedAt: string;
}

/** Where saved sessions live: <cache>/sessions. */
export function savedSessionsDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(labCacheDir(env), 'sessions');
}

/** The file name of a workspace's saved session (its absolute path, hashed). */
export function savedSessionId(workspace: string | undefined): string {
  const key = workspace === undefined ? 'no-workspace' : `ws:${path.resolve(workspace)}`;
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

/** Why `saved` cannot resume on this image and machine shape, in one line; null when it can. */
export function resumeMismatch(saved: SavedSession, imageKey: string, shape: string): string | null {
  if (saved.imageKey !== imageKey) {
    return (
      `the saved session was made on another guest image (${saved.imageKey.slice(0, 12)}, ` +
      `this lab has ${imageKey.slice(0, 12)})`
    );
  }
  if (saved.shape !== shape) {
    return `the saved session was made on another machine shape (${saved.shape}, this lab starts ${shape})`;
  }
  return null;
}

function parseSaved(text: string): SavedSession | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  const v = value as Partial<SavedSession> | null;
  const ok =
    v !== null &&
    typeof v === 'object' &&
    v.format === FORMAT &&
    typeof v.imageKey === 'string' &&
    typeof v.shape === 'string' &&
    (v.workspace === null || typeof v.workspace === 'string') &&
    (v.module === 'none' || v.module === 'p1' || v.module === 'p2' || v.module === 'p3') &&
    typeof v.savedAt === 'string';
  return ok ? (v as SavedSession) : null;
}

/** The saved session of one workspace. */
export class SavedSessionSlot {
  readonly disk: string;
  readonly meta: string;

  constructor(
    readonly dir: string,
    readonly workspace: string | undefined,
  ) {
    const id = savedSessionId(workspace);
    this.disk = path.join(dir, `${id}.qcow2`);
    this.meta = path.join(dir, `${id}.json`);
  }

  /** The saved session, or null (none, half-written, or damaged: never resumable). */
  read(): SavedSession | null {
    if (!existsSync(this.disk)) return null;
    let text: string;
    try {
      text = readFileSync(this.meta, 'utf8');
    } catch {
      return null;
    }
    return parseSaved(text);
  }

  /** What the UI shows of it. */
  info(): SavedSessionInfo | null {
    const saved = this.read();
    return saved && { savedAt: saved.savedAt, module: saved.module };
  }

  /**
   * Keeps `overlay` (a quit QEMU's complete disk) as this workspace's saved session, replacing
   * the one before. A rename when it is on the same file system, else a copy.
   */
  async save(overlay: string, saved: Omit<SavedSession, 'format' | 'savedAt' | 'workspace'>): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await rm(this.meta, { force: true }); // from here on the old one is gone
    const tmp = `${this.disk}.${process.pid}-${Date.now()}.tmp`;
    try {
      await rename(overlay, tmp).catch(async (err: NodeJS.ErrnoException) => {
        if (err.code !== 'EXDEV') throw err;
        await copyFile(overlay, tmp);
      });
      await rename(tmp, this.disk);
    } finally {
      await rm(tmp, { force: true });
    }
    const full: SavedSession = {
      format: FORMAT,
      ...saved,
      workspace: this.workspace === undefined ? null : path.resolve(this.workspace),
      savedAt: new Date().toISOString(),
    };
    await writeFile(`${this.meta}.tmp`, JSON.stringify(full, null, 2) + '\n');
    await rename(`${this.meta}.tmp`, this.meta);
  }

  /** The resumed machine is ready on the disk: the saved session is used up. */
  async consumed(): Promise<void> {
    await rm(this.meta, { force: true });
  }

  /** Removes the saved session, disk and all. */
  async discard(): Promise<void> {
    await rm(this.meta, { force: true });
    await rm(this.disk, { force: true });
  }
}

/** Half-written files older than this are left over from a lab that was stopped hard. */
export const STALE_PARTIAL_MS = 3600_000;

/**
 * Removes what nobody can resume: a disk without its description (a suspend cut short), copies
 * half-written, both once older than STALE_PARTIAL_MS (a suspend may be writing them right now),
 * and the run folders of resumed machines whose lab process is gone (the disk inside went with
 * its machine). A description without its disk is left: it is that of a machine being resumed
 * right now, or harmless. Returns what it removed; never throws.
 */
export async function cleanStaleSavedSessions(dir: string, now = Date.now()): Promise<string[]> {
  const removed = await cleanStaleRunFolders(dir).catch(() => [] as string[]);
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    const disk = /^([0-9a-f]{16})\.qcow2$/.exec(name);
    const partial = (disk && !names.includes(`${disk[1]}.json`)) || /\.tmp$/.test(name);
    if (!partial) continue;
    const file = path.join(dir, name);
    const info = await stat(file).catch(() => null);
    if (info && now - info.mtimeMs > STALE_PARTIAL_MS) {
      await rm(file, { force: true }).catch(() => undefined);
      removed.push(file);
    }
  }
  return removed;
}
