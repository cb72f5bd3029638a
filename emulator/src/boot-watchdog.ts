// The hardware-accelerator watchdog. Some hosts offer an accelerator that passes the probe and
// then does not run the real boot (QEMU spins, the guest never prints a byte). So every boot
// under a hardware accelerator must show, within a bound, that the guest runs: a line on the
// console (BOOT_MARKERS), any text on the kernel's own log, or the guest agent answering.
//
// What that measures: the boot runs with `quiet`, so a healthy kernel prints nothing on either
// console; the first sign is usually init's "farfetchd-lab: init started", which comes after
// the kernel, the root mount and init's exec, and from a snapshot the agent's answer. A slow but
// working accelerator (a loaded host, a cold disk cache) can miss the bound. So a silent boot is
// abandoned and the session boots again under TCG *for this session*; the policy then probes
// the accelerator again (the kernel-boot probe, accel-probe.ts) and only a failing probe makes
// later starts skip it.
import type { Accelerator, AcceleratorInfo } from './api.ts';
import {
  HW_BOOT_WATCHDOG_MS,
  detectAccelerator,
  fallBackAfterSilentBoot,
  findQemu,
  noConsoleOutputReason,
} from './accel.ts';
import { raceExit } from './guest-commands.ts';
import type { GuestImage } from './image.ts';
import type { LabProcess } from './qemu-process.ts';

/** What the console shows once the guest kernel runs: its banner, or our init's first line. */
export const BOOT_MARKERS = { kernel: 'Linux version', init: 'farfetchd-lab: init started' } as const;

export class SilentBootError extends Error {
  override name = 'SilentBootError';
  constructor(readonly reason: string) {
    super(`the guest showed no sign of life: ${reason}`);
  }
}

/** How the session chooses its accelerator and what it does when a hardware boot stays silent. */
export interface AcceleratorPolicy {
  detect(): Promise<AcceleratorInfo>;
  /**
   * `accel` showed no sign of life within the watchdog (`reason`): returns the TCG info to boot
   * with instead, for this session. Whether later starts skip `accel` is the policy's call.
   */
  bootFailed(accel: AcceleratorInfo, reason: string): Promise<AcceleratorInfo>;
  watchdogMs: number;
}

/**
 * The verdicts of accel.ts: probed once per host, QEMU and kernel, remembered; after a silent
 * boot, TCG for the session and a new probe that decides what later starts do.
 */
export function defaultAcceleratorPolicy(env: NodeJS.ProcessEnv, image: GuestImage): AcceleratorPolicy {
  const opts = () => ({
    qemuBinary: findQemu({ env }),
    env,
    kernelPath: image.kernelPath,
    kernelKey: image.manifest.kernelKey,
  });
  return {
    detect: () => detectAccelerator(opts()),
    bootFailed: (accel, reason) => fallBackAfterSilentBoot(opts(), accel.accel, reason),
    watchdogMs: HW_BOOT_WATCHDOG_MS,
  };
}

/**
 * Resolves or rejects as `work` does, unless `accel` is a hardware accelerator and neither
 * `proof` (the guest's first sign of life; under `quiet`, init's line) nor `work` settles within
 * `ms`: then it rejects with SilentBootError. TCG is never watched: it is the fallback, and slow
 * machines are slow.
 */
export async function watchBoot<T>(
  accel: Accelerator,
  ms: number,
  proof: Promise<void>,
  work: Promise<T>,
): Promise<T> {
  if (accel === 'tcg') return work;
  let timer: NodeJS.Timeout | undefined;
  const silent = new Promise<'silent'>((resolve) => (timer = setTimeout(() => resolve('silent'), ms)));
  const alive = Promise.race([proof, work]).then(
    () => 'alive' as const,
    () => 'alive' as const,
  );
  const verdict = await Promise.race([silent, alive]);
  clearTimeout(timer);
  if (verdict === 'silent') {
    work.catch(() => undefined); // abandoned: the caller disposes the process it waits on
    throw new SilentBootError(noConsoleOutputReason(ms));
  }
  return work;
}

/** Launches `proc` and waits for its guest agent to answer, under the hardware watchdog. */
export async function launchUntilAgent(
  proc: LabProcess,
  guard: <T>(promise: Promise<T>) => Promise<T>,
  boot: { accel: Accelerator; watchdogMs: number; proof: Promise<void>; timeoutMs: number },
  launched: () => void = () => {},
): Promise<void> {
  await guard(raceExit(proc, proc.launch()));
  launched();
  const agentUp = guard(raceExit(proc, proc.agent().sync(boot.timeoutMs)));
  await watchBoot(boot.accel, boot.watchdogMs, boot.proof, agentUp);
}

/**
 * Runs `attempt`; a hardware boot that stays silent is `abandon`ed, `fallBack` switches the
 * session to TCG (for `reason`), and the boot is tried again. Under TCG silence is an error.
 */
export async function withTcgFallback(
  accel: () => Accelerator,
  attempt: () => Promise<void>,
  abandon: () => Promise<unknown>,
  fallBack: (reason: string) => Promise<void>,
): Promise<void> {
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      if (!(err instanceof SilentBootError) || accel() === 'tcg') throw err;
      await abandon();
      await fallBack(err.reason);
    }
  }
}
