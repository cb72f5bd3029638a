// Suspend and resume: the whole running machine saved with QEMU's own snapshot (savevm) into a
// saved session's disk (saved-sessions.ts), and brought back from it (-loadvm), also by another
// lab process after the app was closed.
//
// QEMU refuses savevm while the guest has the 9p workspace share mounted (hw/9pfs/9p.c adds a
// migration blocker at the first attach and drops it only when the guest clunks the share's root
// fid, which a real unmount does and a lazy one with busy references does not). So the guest lets
// the share go first (suspend-guest.ts): the console's shells step out of /root/work (their
// profile's SIGWINCH trap, build/guest/profile.sh) and it is unmounted. A program that still
// uses it (a file open, its working directory there, a mapped binary) makes the suspend refused,
// with each such program named; a refused or failed suspend mounts the share again and sends the
// shells back, leaving the machine as it was. QMP's human-monitor-command answers "success" even
// when savevm failed, with the error only in its text: saveSnapshot() throws on any text, and
// snapshotFailure() says what it means.
//
// For the state machine (session-state.ts) a suspend is ready → suspending → stopped (saved) or
// back to ready (refused, failed); a resume is stopped → booting → ready, as a start is. Resume
// consumes the saved session: the machine runs on its disk from then on, and only a new Suspend
// saves it again (a stop or a reset after a resume throws it away, as they do a fresh machine).
import type { Accelerator, ModuleName, SavedSessionInfo, VmState } from './api.ts';
import type { ConsoleSize } from './console-size.ts';
import { runOn, settleGuest, shOn } from './guest-commands.ts';
import type { DiskSource, LabProcess } from './lab-process.ts';
import type { Guard } from './operation-queue.ts';
import { hostHasVirtfs, type HostPlatform } from './qemu-args.ts';
import {
  cleanStaleSavedSessions,
  resumeMismatch,
  SavedSessionSlot,
  savedSessionsDir,
  SUSPEND_SNAPSHOT,
  type SavedSession,
} from './saved-sessions.ts';
import type { LabSessionOptions } from './session-options.ts';
import type { SessionEvent } from './session-state.ts';
import {
  parseHolders,
  refusalMessage,
  RELEASE_SHARE,
  RESTORE_SHARE,
  SETTLE_SHELLS_BACK,
  snapshotFailure,
  SuspendError,
} from './suspend-guest.ts';
import { sessionShape } from './warm-state.ts';

export { sessionShape };

export { SuspendError } from './suspend-guest.ts';

/** Whether the session's guest mounts the workspace share (no virtio-9p in QEMU for Windows). */
export function hasShare(opts: LabSessionOptions): boolean {
  return opts.workspace !== undefined && hostHasVirtfs(process.platform as HostPlatform);
}

/** What suspendMachine needs of the session. */
export interface SuspendSteps {
  proc: LabProcess;
  guard: Guard;
  /** Whether the workspace share is mounted in this guest. */
  share: boolean;
  /** Keeps the quit machine's complete disk as the saved session. */
  keep(overlay: string): Promise<void>;
}

/**
 * Releases the share, saves the machine into its overlay (savevm), quits QEMU and keeps the
 * overlay. Throws SuspendError, with the guest as it was, when it cannot.
 */
export async function suspendMachine({ proc, guard, share, keep }: SuspendSteps): Promise<void> {
  // Whatever stops the suspend before the snapshot, the share is mounted again and the shells
  // sent back; a share that does not come back is said, as it changes where edits go.
  const giveBackShare = async (why: SuspendError | Error): Promise<never> => {
    if (share) {
      const restored = await guard(shOn(proc, RESTORE_SHARE)).then(
        () => true,
        () => false,
      );
      if (!restored)
        throw new SuspendError(
          `${why.message.replace(/\.?$/, '.')} The workspace could not be mounted again at /root/work: ` +
            'save your work elsewhere, then Reset machine (your files on the host are safe).',
        );
    }
    throw why;
  };
  if (share) {
    const released = await guard(runOn(proc, '/bin/sh', ['-c', RELEASE_SHARE], { timeoutMs: 60_000 })).catch(
      (err: Error) => giveBackShare(err),
    );
    if (released.exitCode !== 0) {
      const report = released.stdout.toString();
      const holders = parseHolders(report);
      await giveBackShare(new SuspendError(refusalMessage(holders, released.stderr.toString()), holders));
    }
  }
  try {
    await guard(proc.saveSnapshot(SUSPEND_SNAPSHOT));
  } catch (err) {
    const why = snapshotFailure((err as Error).message) ?? (err as Error).message;
    await giveBackShare(new SuspendError(`Suspend failed: ${why}. The machine runs on as it was.`));
  }
  await guard(proc.quit());
  try {
    await keep(proc.overlayPath!);
  } catch (err) {
    const why = `Suspend failed after the machine had stopped (${(err as Error).message})`;
    throw new SuspendError(`${why}: its processes are lost; your files in /root/work are kept.`, [], true);
  }
}

/** What resumeMachine needs of the session. */
export interface ResumeSteps {
  slot: SavedSessionSlot;
  imageKey: string;
  shape: string;
  /** Starts a machine on `disk` and waits for its agent (the session's startMachine). */
  start(disk: DiskSource): Promise<LabProcess>;
  guard: Guard;
  /** Whether the machine has the workspace share (it is mounted again, the shells sent back). */
  share: boolean;
  /** The session's console size now. */
  consoleSize: ConsoleSize;
  /** The session's console size applied to `proc`'s guest, which has `applied` already (if known). */
  sizeConsole(proc: LabProcess, applied?: ConsoleSize): Promise<void>;
}

/**
 * Starts QEMU on the saved session's disk from its snapshot, then brings the guest up to date:
 * the clock, the share mounted again, the shells back in it, the console sized and redrawn.
 * Resolves with what was saved once the machine is ready (the saved session is consumed then);
 * a resume that fails gives the disk back, so the saved session can be resumed again.
 */
export async function resumeMachine(steps: ResumeSteps): Promise<SavedSession> {
  const { slot, guard } = steps;
  const saved = slot.read();
  if (!saved) throw new Error('there is no saved session to resume: start a fresh machine');
  const mismatch = resumeMismatch(saved, steps.imageKey, steps.shape);
  if (mismatch) {
    // Made on another image: nothing will ever resume it. Another shape (memory, accelerator …)
    // may come back: kept until the next Suspend replaces it.
    const gone = saved.imageKey !== steps.imageKey;
    if (gone) await slot.discard();
    const what = gone ? 'it was removed' : 'start the lab as it was to resume it';
    throw new Error(`${mismatch}: it cannot be resumed here (${what}); start a fresh machine`);
  }
  // A resume that fails before this end gives the disk back when its process is disposed
  // (qemu-process.ts), once its QEMU has ended: never while a QEMU may still write it.
  const proc = await steps.start({ kind: 'resume', file: slot.disk, loadvm: SUSPEND_SNAPSHOT });
  // The clock, the share (unmounted for the snapshot), the shells back into it and the console
  // size in one program, as after the warm snapshot (every program a restored guest starts is
  // started cold). A share that does not mount keeps the shells out (lab-settle.c).
  await settleGuest(proc, guard, {
    fromSnapshot: true,
    workspace: steps.share,
    consoleSize: steps.consoleSize,
    sizeConsole: (applied) => steps.sizeConsole(proc, applied),
    newline: false,
    ...(steps.share ? { afterMount: SETTLE_SHELLS_BACK } : {}),
  });
  // Ctrl-L: readline redraws the prompt and the line being typed (an editor redraws too); a
  // newline, as after the warm snapshot, would run the half-typed line.
  proc.write('\x0c');
  proc.consumeDisk();
  await slot.consumed();
  return saved;
}

/** What a Suspension asks of its LabSession: closures over the session's own parts. */
export interface SuspendPort {
  state(): VmState;
  transition(event: SessionEvent): void;
  /** The ready machine's process; throws when the machine is not ready. */
  ready(): LabProcess;
  /** This session's image key and the accelerator it boots with (a boot has loaded both). */
  machine(): { imageKey: string; accel: Accelerator };
  /** The reference module loaded now. */
  module(): ModuleName;
  /** Starts a machine on `disk` and waits for its agent. */
  start(disk: DiskSource, guard: Guard): Promise<LabProcess>;
  /** The saved machine is ready: its boot steps, its module. */
  resumed(module: ModuleName): void;
  /** The session's console size now. */
  consoleSize(): ConsoleSize;
  sizeConsole(proc: LabProcess, applied?: ConsoleSize): Promise<void>;
  /** Lets the quit machine's process go (it is not ready any more). */
  retire(): Promise<void>;
  /** Stops the machine (stopping → stopped). */
  stop(): Promise<void>;
}

/** A session's saved session and the two operations on it; LabSession runs them from its queue. */
export class Suspension {
  readonly slot: SavedSessionSlot;
  private saved: SavedSessionInfo | null;

  constructor(
    private readonly opts: LabSessionOptions,
    env: NodeJS.ProcessEnv,
    private readonly port: SuspendPort,
  ) {
    this.slot = new SavedSessionSlot(opts.savedSessions ?? savedSessionsDir(env), opts.workspace);
    this.saved = this.slot.info();
  }

  /** What the status shows: the saved session waiting to be resumed, if any. */
  get info(): SavedSessionInfo | undefined {
    return this.saved ?? undefined;
  }

  /** Leftovers of suspends and resumes cut short (once per session, before its first boot). */
  async cleanStale(): Promise<void> {
    await cleanStaleSavedSessions(this.slot.dir);
  }

  /** The suspend operation: ready → suspending → stopped, or back to ready with a SuspendError. */
  async suspend(guard: Guard): Promise<void> {
    const { port } = this;
    const proc = port.ready();
    port.transition('suspend');
    const keep = (disk: string) => this.slot.save(disk, { module: port.module(), ...this.key() });
    try {
      await suspendMachine({ proc, guard, share: hasShare(this.opts), keep });
    } catch (err) {
      // Refused or failed, the machine running on; one whose QEMU has quit is stopped.
      if (err instanceof SuspendError && err.stopped) await port.stop();
      else if (port.state() === 'suspending') port.transition('suspend-failed');
      throw err;
    }
    await port.retire();
    this.saved = this.slot.info();
    port.transition('suspended');
  }

  /** The resume boot (the session is booting): the saved machine, up to date and ready. */
  async resume(guard: Guard): Promise<void> {
    const { port } = this;
    try {
      const saved = await resumeMachine({
        slot: this.slot,
        ...this.key(),
        guard,
        share: hasShare(this.opts),
        start: (disk) => port.start(disk, guard),
        consoleSize: port.consoleSize(),
        sizeConsole: (proc, applied) => port.sizeConsole(proc, applied),
      });
      port.resumed(saved.module);
    } finally {
      this.saved = this.slot.info();
    }
  }

  private key(): { imageKey: string; shape: string } {
    const { imageKey, accel } = this.port.machine();
    return { imageKey, shape: sessionShape(this.opts, accel) };
  }
}
