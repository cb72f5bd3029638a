// The warm state: a snapshot of a freshly booted guest, so that later sessions start from it
// (`-loadvm`, a fraction of a second) instead of booting the kernel (seconds under TCG).
import { createHash } from 'node:crypto';
import { copyFile, mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { GuestImage } from './image.ts';
import { DEFAULT_KERNEL_CMDLINE } from './qemu-args.ts';
import type { LabProcess } from './qemu-process.ts';
import { cacheDir } from './run-folders.ts';

/** The savevm tag inside a warm-state file. */
export const WARM_SNAPSHOT = 'lab-ready';

/** Where the snapshot of a freshly booted guest is kept for this image and machine shape. */
export function warmStatePath(
  image: GuestImage,
  shape: string,
  env: NodeJS.ProcessEnv = process.env,
): string {
  return path.join(cacheDir(env), `warm-${image.manifest.key}-${shape}.qcow2`);
}

/**
 * What a snapshot depends on besides the image: the machine QEMU builds, and the kernel's
 * command line (a snapshot holds a kernel booted with it).
 */
export function machineShape(accel: string, memoryMiB: number, cpus: number, workspace: boolean): string {
  const cmdline = createHash('sha256').update(DEFAULT_KERNEL_CMDLINE).digest('hex').slice(0, 8);
  return [cmdline, accel, memoryMiB, cpus, workspace ? 'ws' : 'nows'].join('-');
}

/**
 * Boots `proc` (a fresh machine of the session's shape, with an empty share in place of the
 * workspace) until its agent answers, saves it (`savevm`) before anything is mounted, lets QEMU
 * quit and installs its overlay as `warm`. The caller owns `proc` and disposes it.
 */
export async function prepareWarmState(
  proc: LabProcess,
  warm: string,
  guard: <T>(promise: Promise<T>) => Promise<T>,
  /** Launches `proc` and waits until its agent answers (the session's boot, watchdog and all). */
  untilAgent: () => Promise<void>,
): Promise<void> {
  await mkdir(path.dirname(warm), { recursive: true });
  await untilAgent();
  await guard(proc.saveSnapshot(WARM_SNAPSHOT));
  await guard(proc.quit());
  // Sessions starting at the same time may each make one: the last rename wins, whole.
  const tmp = `${warm}.${process.pid}-${Date.now()}.tmp`;
  try {
    await guard(copyFile(proc.overlayPath!, tmp));
    await rename(tmp, warm);
  } finally {
    await rm(tmp, { force: true });
  }
}
