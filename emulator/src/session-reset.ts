// Reset in place. A machine started from the warm snapshot runs on a copy of the warm-state
// file, so its own overlay still holds the `lab-ready` snapshot. A reset of it (after a panic,
// an oops, or from ready) loads that snapshot into the same QEMU (`loadvm`, then `cont`)
// instead of ending QEMU and starting another: no QEMU start-up, no copy of the warm file, no
// socket connects. A panicked guest is frozen, not dead, so this is the usual case.
//
// What loadvm brings back is the guest exactly as it was saved: its RAM, its devices and its
// disk (the overlay returns to the snapshot, so /tmp, /root and everything the student changed
// in the guest are gone), before anything was mounted. loadvm resets the devices, so the 9p
// server forgets the old mount's fids: the session settles the guest as after any warm start
// (clock, `mount` of the workspace, console size). The workspace itself is a host folder, and
// `cache=none` (guest-commands.ts) left nothing of it unwritten in the old guest.
//
// When the machine was booted cold (no snapshot in its overlay), adopted after a guest reboot,
// or its QEMU has ended, or any step fails, the caller falls back to stop + a new boot.
import type { VmState } from './api.ts';
import { raceExit } from './guest-commands.ts';
import type { Guard } from './operation-queue.ts';
import type { DiskSource, LabProcess } from './qemu-process.ts';
import { WARM_SNAPSHOT } from './warm-state.ts';

/** How long the restored guest's agent may take to answer (it was running when saved). */
export const RESTORED_AGENT_TIMEOUT_MS = 20_000;

/** Which of the session's processes can be reset in place: the last one started from the snapshot. */
export class InPlaceOrigin {
  private warm?: LabProcess;
  private warmEnded = false;

  /** A process of the session has started on `disk` (its agent answered). */
  started(proc: LabProcess, disk: DiskSource): void {
    if (disk.kind !== 'snapshot') {
      this.warm = undefined;
      return;
    }
    this.warm = proc;
    this.warmEnded = false;
    void proc.exited.then(() => {
      if (this.warm === proc) this.warmEnded = true;
    });
  }

  /** Why `current` cannot be reset in place while the session is `state`; null when it can. */
  blocker(state: VmState, current: LabProcess | undefined): string | null {
    return inPlaceBlocker({
      state,
      running: current !== undefined,
      fromWarmSnapshot: current !== undefined && current === this.warm,
      qemuEnded: this.warmEnded,
    });
  }
}

/** Pure: why a machine in this situation cannot be reset in place, or null when it can. */
export function inPlaceBlocker(machine: {
  state: VmState;
  running: boolean;
  fromWarmSnapshot: boolean;
  qemuEnded: boolean;
}): string | null {
  if (machine.state !== 'ready' && machine.state !== 'crashed') return `the machine is ${machine.state}`;
  if (!machine.running) return 'no QEMU runs';
  if (!machine.fromWarmSnapshot) return 'the machine was not started from the warm snapshot';
  if (machine.qemuEnded) return 'its QEMU has ended';
  return null;
}

/**
 * Loads the warm snapshot into `proc` and waits until the restored guest's agent answers. What
 * the host had asked the old guest's agent is abandoned: the restored agent never saw it, and
 * the channel would keep the sync waiting behind it. `loaded` runs as soon as the restored guest
 * runs; `restored` once the agent answered: the session forgets the kernel log there, so that
 * the old kernel's last lines, still on their way while loadvm ran (a panic's "---[ end Kernel
 * panic" trailer), are never taken for a crash of the restored one, which was idle when saved
 * and has printed nothing since.
 */
export async function restoreWarmSnapshot(
  proc: LabProcess,
  guard: Guard,
  steps: { loaded: () => void; restored: () => void },
  agentTimeoutMs = RESTORED_AGENT_TIMEOUT_MS,
): Promise<void> {
  await guard(raceExit(proc, proc.loadSnapshot(WARM_SNAPSHOT)));
  steps.loaded();
  proc.agent().abandonPending('the guest was reset to its warm snapshot');
  await guard(raceExit(proc, proc.agent().sync(agentTimeoutMs)));
  steps.restored();
}

/** With FARFETCHD_LAB_DEBUG set, `message` on stderr. False: a reset in place not done. */
export function debugLog(env: NodeJS.ProcessEnv, message: string): false {
  if (env.FARFETCHD_LAB_DEBUG) process.stderr.write(`${message}\n`);
  return false;
}
