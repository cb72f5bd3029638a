// The warm state: a snapshot of a freshly booted guest, so that later sessions start from it
// (`-loadvm`, a fraction of a second) instead of booting the kernel (seconds under TCG).
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { labCacheDir } from './accel.ts';
import { SilentBootError } from './boot-watchdog.ts';
import { DiskAioRefusedError } from './disk-aio.ts';
import type { GuestImage } from './image.ts';
import { raceExit } from './guest-commands.ts';
import { OperationInterrupted, type Guard } from './operation-queue.ts';
import { removeSpares } from './run-folders.ts';
import { DEFAULT_KERNEL_CMDLINE } from './qemu-args.ts';
import type { DiskSource, LabProcess } from './qemu-process.ts';

/** The savevm tag inside a warm-state file. */
export const WARM_SNAPSHOT = 'lab-ready';

/** The text every prompt of the guest's login shell holds (build/guest/profile.sh). */
export const GUEST_PROMPT = '[farfetchd-lab guest]';

/** How long a warm-up waits for the shell's prompt after its agent has answered. */
const PROMPT_WAIT_MS = 20_000;

/**
 * How long a warm-up lets the guest go quiet after the prompt, before `savevm`. Saved in the
 * middle of bash's start-up churn, the guest's RCU has a grace period in flight, waiting on a
 * timer; a reset loads the snapshot into the same QEMU, whose guest clock has gone on, the
 * kernel's jiffies catch up at once, and RCU reports a stall on the student's console ("rcu_sched
 * kthread timer wakeup didn't happen for 5371 jiffies", every reset in 3 of 3 tries). An idle
 * guest has no grace period waiting (0 of 3). Paid once per image and machine shape.
 */
const QUIET_AFTER_PROMPT_MS = 1000;

/** Where the snapshot of a freshly booted guest is kept for this image and machine shape. */
export function warmStatePath(
  image: GuestImage,
  shape: string,
  env: NodeJS.ProcessEnv = process.env,
): string {
  return path.join(labCacheDir(env), `warm-${image.manifest.key}-${shape}.qcow2`);
}

/**
 * What a snapshot depends on besides the image: the machine QEMU builds, and the kernel's
 * default command line (a snapshot holds a kernel booted with it; the per-host `lpj=` is left
 * out: a delay-loop constant read once at boot, which a loaded snapshot never reads again).
 */
export function machineShape(
  accel: string,
  memoryMiB: number,
  cpus: number,
  workspace: boolean,
  fourLevelPaging = false,
  kernel: 'main' | 'debug' = 'main',
): string {
  const cmdline = createHash('sha256').update(DEFAULT_KERNEL_CMDLINE).digest('hex').slice(0, 8);
  const shape = [cmdline, accel, memoryMiB, cpus, workspace ? 'ws' : 'nows'];
  // A 4-level snapshot loaded into a 5-level CPU (or the reverse) would resume a kernel whose
  // page tables the CPU cannot walk: the paging mode is part of the shape.
  if (fourLevelPaging) shape.push('4lvl');
  // The snapshot holds a booted kernel: the debug kernel's is another machine.
  if (kernel === 'debug') shape.push('debug');
  return shape.join('-');
}

/** What a session's machine looks like to a snapshot (machineShape with the session's defaults). */
export interface ShapeOptions {
  memoryMiB?: number;
  cpus?: number;
  workspace?: string;
  fourLevelPaging?: boolean;
  kernel?: 'main' | 'debug';
}

/** The machine shape of a session with these options under `accel`. */
export function sessionShape(opts: ShapeOptions, accel: string): string {
  const { memoryMiB = 512, cpus = 2, workspace, fourLevelPaging = false, kernel = 'main' } = opts;
  return machineShape(accel, memoryMiB, cpus, workspace !== undefined, fourLevelPaging, kernel);
}

/** The warm-state file of a session with these options, or null when it boots cold. */
export function sessionWarmState(
  image: GuestImage,
  accel: string,
  opts: ShapeOptions & { warmBoot?: boolean },
  env: NodeJS.ProcessEnv,
): string | null {
  if (opts.warmBoot === false) return null;
  return warmStatePath(image, sessionShape(opts, accel), env);
}

/** What a fresh boot from the warm state needs of the session. */
export interface WarmBootSteps {
  /** The warm-up machine: fresh, with an empty share, its console not the user's. */
  warmUpProcess(): LabProcess;
  /** Launches `proc` and waits until its agent answers (the session's boot, watchdog and all). */
  untilAgent(proc: LabProcess): Promise<void>;
  /** Starts the session's machine on `disk` and waits until its agent answers. */
  start(disk: DiskSource): Promise<LabProcess>;
  /** Brings a started machine to ready (clock, workspace, console size). */
  ready(proc: LabProcess, disk: DiskSource): Promise<void>;
  /** Lets the current process go, all of it. */
  retire(): Promise<void>;
  /** The boot starts over: its steps and console begin again. */
  restart(): void;
  /** Whether the session still boots (a kernel crash has made it `crashed`). */
  booting(): boolean;
  debug(message: string): void;
}

/**
 * A fresh machine: from the warm snapshot `warm` (made first if missing), or cold when `warm`
 * is null or the snapshot cannot be made. A snapshot that does not start (QEMU cannot load it,
 * or its guest never answers) is deleted and the machine boots cold; a failure after its agent
 * has answered (a mount, the clock, a loaded host) fails the boot and keeps the snapshot, which
 * has just proven itself.
 */
export async function bootWarmOrCold(warm: string | null, guard: Guard, steps: WarmBootSteps): Promise<void> {
  const fresh = { kind: 'fresh' } as const;
  if (warm && !existsSync(warm)) {
    const proc = steps.warmUpProcess();
    try {
      await prepareWarmState(proc, warm, guard, () => steps.untilAgent(proc));
    } catch (err) {
      if (err instanceof SilentBootError || err instanceof OperationInterrupted) throw err;
      steps.debug(`warm state: ${(err as Error).message}`);
      warm = null; // a cold boot still works; the next start tries again
    } finally {
      await steps.retire();
    }
  }
  if (!warm) return steps.ready(await startOnce(steps, fresh), fresh);
  const snapshot = { kind: 'snapshot', file: warm, loadvm: WARM_SNAPSHOT } as const;
  let proc: LabProcess;
  try {
    proc = await startOnce(steps, snapshot);
  } catch (err) {
    if (err instanceof SilentBootError || err instanceof OperationInterrupted || !steps.booting()) throw err;
    // A snapshot QEMU cannot load (QEMU upgraded, file damaged): forget it and boot cold.
    await steps.retire();
    await rm(warm, { force: true });
    await removeSpares(warm);
    steps.restart();
    return steps.ready(await startOnce(steps, fresh), fresh);
  }
  await steps.ready(proc, snapshot);
  proc.prepareNextStart();
}

/**
 * steps.start, once more when QEMU refused the io_uring its probe had found (disk-aio.ts): the
 * refusal is remembered by then, so the second start uses QEMU's thread pool. Says nothing
 * about the snapshot, which is kept.
 */
async function startOnce(steps: WarmBootSteps, disk: DiskSource): Promise<LabProcess> {
  try {
    return await steps.start(disk);
  } catch (err) {
    if (!(err instanceof DiskAioRefusedError)) throw err;
    steps.debug(`disk I/O: ${err.message}`);
    await steps.retire();
    steps.restart();
    return steps.start(disk);
  }
}

/**
 * Boots `proc` (a fresh machine of the session's shape, with an empty share in place of the
 * workspace) until its agent answers and its login shell has printed its prompt, saves it
 * (`savevm`) before anything is mounted, lets QEMU quit and installs its overlay as `warm`. The
 * caller owns `proc` and disposes it.
 *
 * Why the prompt: init starts the agent and then the shell, so the agent answers while bash is
 * still reading its profile. A snapshot taken then makes every start, reset and resume finish
 * bash's start-up again, on the cold translation cache a new QEMU (or a `loadvm`) has: ≈ 0.35 s
 * of TCG (docs/benchmarks.md, "Warm start"). A shell that never shows the prompt (a changed
 * profile) still gets its snapshot after `promptWaitMs`, only a slower one.
 */
export async function prepareWarmState(
  proc: LabProcess,
  warm: string,
  guard: Guard,
  /** Launches `proc` and waits until its agent answers. */
  untilAgent: () => Promise<void>,
  promptWaitMs = PROMPT_WAIT_MS,
  quietMs = QUIET_AFTER_PROMPT_MS,
): Promise<void> {
  const prompt = consoleShows(proc, GUEST_PROMPT);
  await mkdir(path.dirname(warm), { recursive: true });
  await untilAgent();
  let timer: NodeJS.Timeout | undefined;
  const waited = new Promise<boolean>((resolve) => (timer = setTimeout(resolve, promptWaitMs, false)));
  let shown: boolean;
  try {
    shown = await guard(raceExit(proc, Promise.race([prompt.then(() => true), waited])));
  } finally {
    clearTimeout(timer);
  }
  if (shown) await guard(raceExit(proc, new Promise((resolve) => setTimeout(resolve, quietMs))));
  await guard(proc.saveSnapshot(WARM_SNAPSHOT));
  await guard(proc.quit());
  // Sessions starting at the same time may each make one: the last rename wins, whole. The
  // copy is not interrupted: a short local copy, and an abandoned one could still create `tmp`
  // after the rm below has run.
  const tmp = `${warm}.${process.pid}-${Date.now()}.tmp`;
  try {
    await copyFile(proc.overlayPath!, tmp);
    await rename(tmp, warm);
  } finally {
    await rm(tmp, { force: true });
  }
}

/**
 * Resolves once `proc`'s console has shown `text` (which may arrive split across chunks). The
 * listener stays (a LabProcess has no off()): it lives as long as the warm-up process.
 */
function consoleShows(proc: LabProcess, text: string): Promise<void> {
  return new Promise((resolve) => {
    let tail = '';
    let seen = false;
    proc.onConsole((data) => {
      if (seen) return;
      const window = tail + data;
      seen = window.includes(text);
      if (seen) resolve();
      else tail = window.slice(-(text.length - 1));
    });
  });
}
