// The remembered accelerator verdicts: one small JSON file in the lab's cache folder, so that
// only the first start on a host (and the first after QEMU or the kernel changes) pays for a
// probe boot.
//
// A verdict holds for one host (its name and its running kernel: a host kernel update can fix
// or break KVM), one QEMU binary and one guest kernel. The QEMU binary is known
// by path, size and mtime, not by running `qemu --version` (that would cost a process start on
// every lab start); the version is recorded when a probe runs, for display only.
import { stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Accelerator } from './api.ts';
import { readVerdictList, writeVerdictList } from './verdict-file.ts';

export const VERDICT_FILE = 'accel-verdicts.json';
const FILE_VERSION = 1;
/** Old verdicts (other kernels, older QEMUs) beyond this many are dropped, newest kept. */
const MAX_VERDICTS = 16;

/** The lab's cache folder: $FARFETCHD_LAB_CACHE, else $XDG_CACHE_HOME/farfetchd-lab, else ~/.cache/farfetchd-lab. */
export function labCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.FARFETCHD_LAB_CACHE) return path.resolve(env.FARFETCHD_LAB_CACHE);
  return path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'farfetchd-lab');
}

/** What a verdict is about. Two keys are the same when every field is. */
export interface VerdictKey {
  host: string;
  /** os.release(): the host's kernel (absent in verdicts of older labs: they match nothing). */
  hostRelease?: string;
  qemu: QemuIdentity;
  /** The image manifest's kernelKey, else "size:mtimeMs" of the bzImage. */
  kernel: string;
}

export interface Verdict extends VerdictKey {
  /** The hardware accelerator that was judged (never TCG: TCG is not probed). */
  accel: Exclude<Accelerator, 'tcg'>;
  ok: boolean;
  /** Why it is not usable, when !ok. */
  reason?: string;
  source: 'probe' | 'watchdog';
  decidedAt: string;
  /** How long the probe boot took (absent for a watchdog verdict). */
  probeMs?: number;
  /** `qemu --version`'s first line, when a probe recorded it. */
  qemuVersion?: string;
}

/** A QEMU binary as a remembered verdict knows it: by path, size and mtime (no process start). */
export interface QemuIdentity {
  path: string;
  size: number;
  mtimeMs: number;
}

export function sameQemu(a: QemuIdentity, b: QemuIdentity): boolean {
  return a.path === b.path && a.size === b.size && a.mtimeMs === b.mtimeMs;
}

/** Whether a value read from a verdict file is a QemuIdentity. */
export function isQemuIdentity(q: unknown): q is QemuIdentity {
  if (typeof q !== 'object' || q === null) return false;
  const r = q as Record<string, unknown>;
  return typeof r.path === 'string' && typeof r.size === 'number' && typeof r.mtimeMs === 'number';
}

/** The key for this host, QEMU binary and kernel. Throws (with the file named) if one is missing. */
export async function verdictKey(
  qemuBinary: string,
  kernelPath: string,
  kernelKey?: string,
): Promise<VerdictKey> {
  const qemuPath = path.resolve(qemuBinary);
  const q = await stat(qemuPath).catch((err: NodeJS.ErrnoException) => {
    throw new Error(`QEMU binary ${qemuPath} cannot be read (${err.code ?? err.message})`);
  });
  let kernel = kernelKey;
  if (!kernel) {
    const k = await stat(kernelPath).catch((err: NodeJS.ErrnoException) => {
      throw new Error(
        `guest kernel ${kernelPath} cannot be read (${err.code ?? err.message}): build the image`,
      );
    });
    kernel = `${k.size}:${Math.trunc(k.mtimeMs)}`;
  }
  return {
    host: os.hostname(),
    hostRelease: os.release(),
    qemu: { path: qemuPath, size: q.size, mtimeMs: Math.trunc(q.mtimeMs) },
    kernel,
  };
}

function sameKey(a: VerdictKey, b: VerdictKey): boolean {
  return (
    a.host === b.host && a.hostRelease === b.hostRelease && a.kernel === b.kernel && sameQemu(a.qemu, b.qemu)
  );
}

export function verdictFilePath(cacheDir: string): string {
  return path.join(cacheDir, VERDICT_FILE);
}

/** Every verdict in the file; a missing, unreadable or corrupt file has none. */
export function readVerdicts(cacheDir: string): Promise<Verdict[]> {
  return readVerdictList(verdictFilePath(cacheDir), FILE_VERSION, isVerdict);
}

function isVerdict(v: unknown): v is Verdict {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return (
    typeof r.host === 'string' &&
    (r.hostRelease === undefined || typeof r.hostRelease === 'string') &&
    typeof r.kernel === 'string' &&
    isQemuIdentity(r.qemu) &&
    (r.accel === 'kvm' || r.accel === 'hvf' || r.accel === 'whpx') &&
    typeof r.ok === 'boolean' &&
    (r.source === 'probe' || r.source === 'watchdog') &&
    typeof r.decidedAt === 'string'
  );
}

/** The verdict for this key, if one is remembered. */
export async function findVerdict(cacheDir: string, key: VerdictKey): Promise<Verdict | undefined> {
  return (await readVerdicts(cacheDir)).find((v) => sameKey(v, key));
}

/**
 * Remembers `verdict`, replacing any for the same key. Atomic (a temporary file renamed over
 * the old one): a reader sees the old file or the new one, never half of one.
 */
export async function saveVerdict(cacheDir: string, verdict: Verdict): Promise<void> {
  const others = (await readVerdicts(cacheDir)).filter((v) => !sameKey(v, verdict));
  await writeVerdicts(cacheDir, [verdict, ...others].slice(0, MAX_VERDICTS));
}

/** Forgets the verdict for this key (the next detection probes again). */
export async function dropVerdict(cacheDir: string, key: VerdictKey): Promise<void> {
  const verdicts = await readVerdicts(cacheDir);
  const kept = verdicts.filter((v) => !sameKey(v, key));
  if (kept.length !== verdicts.length) await writeVerdicts(cacheDir, kept);
}

function writeVerdicts(cacheDir: string, verdicts: Verdict[]): Promise<void> {
  return writeVerdictList(verdictFilePath(cacheDir), FILE_VERSION, verdicts);
}
