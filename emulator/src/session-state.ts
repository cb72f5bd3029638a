// The session's states and what moves it between them, as data: LabSession applies these
// transitions and nothing else, and the unit tests check every one of them.
//
//   stopped ─start─▶ booting ─booted─▶ ready ─kernel-crashed / qemu-died─▶ crashed
//      ▲  ▲             │  ▲             │  │                                 │
//      │  └boot-failed──┘  └guest-rebooted┘  └──guest-powered-off──▶ stopped   │
//      └── disposed ◀── stopping ◀────────── stop (booting, ready, crashed) ◀──┘
//
// A reset of a machine started from the warm snapshot whose QEMU still runs is `restore` (the
// same QEMU loads the snapshot, session-reset.ts) then `booted`; when that cannot be done, or
// fails, it is `stop` then `start`, as every other reset. An exit of QEMU that nobody asked for
// is one of the guest-* or qemu-died events, chosen by classifyExit from how QEMU ended.
//
// Suspend and resume (session-suspend.ts):
//
//   ready ─suspend─▶ suspending ─suspended─▶ stopped ─resume─▶ booting ─booted─▶ ready
//     ▲                 │
//     └─suspend-failed──┘   (refused, or savevm failed: the machine runs on as it was)
//
// While suspending, a crash, QEMU's death or a stop end it as they would end a ready machine.
import type { VmState } from './api.ts';

export type SessionEvent =
  /** start() on a stopped machine. */
  | 'start'
  /** The guest agent answered and the workspace is mounted. */
  | 'booted'
  /** The boot did not reach ready (QEMU missing, timeout, QEMU exited while booting). */
  | 'boot-failed'
  /** reset() in place: the same QEMU loads the warm snapshot (ready or crashed → booting). */
  | 'restore'
  /** stop() or reset(): the QEMU process is being disposed. */
  | 'stop'
  /** The QEMU process is gone (after a stop). */
  | 'disposed'
  /** The kernel oopsed or panicked (console text, or pvpanic). */
  | 'kernel-crashed'
  /** The guest powered itself off (`poweroff`, `halt`). */
  | 'guest-powered-off'
  /** The guest rebooted (`reboot`); under -no-reboot QEMU ends and the session boots it again. */
  | 'guest-rebooted'
  /** QEMU ended in any other way: killed, crashed, exited with an error. */
  | 'qemu-died'
  /** suspend() on a ready machine: the share is released and the machine saved. */
  | 'suspend'
  /** The suspend was refused (something holds the share) or savevm failed; the machine runs on. */
  | 'suspend-failed'
  /** The machine is saved on disk and its QEMU has ended. */
  | 'suspended'
  /** resume() on a stopped machine: a QEMU started from the saved session. */
  | 'resume';

export const TRANSITIONS: Readonly<Record<VmState, Readonly<Partial<Record<SessionEvent, VmState>>>>> = {
  stopped: { start: 'booting', resume: 'booting' },
  booting: {
    booted: 'ready',
    'boot-failed': 'stopped',
    stop: 'stopping',
    'kernel-crashed': 'crashed',
  },
  ready: {
    stop: 'stopping',
    'kernel-crashed': 'crashed',
    'guest-powered-off': 'stopped',
    'guest-rebooted': 'booting',
    'qemu-died': 'crashed',
    restore: 'booting',
    suspend: 'suspending',
  },
  suspending: {
    suspended: 'stopped',
    'suspend-failed': 'ready',
    stop: 'stopping',
    'kernel-crashed': 'crashed',
    'qemu-died': 'crashed',
    'guest-powered-off': 'stopped',
  },
  // An oopsed kernel may limp on: its user can still power it off or reboot it.
  crashed: {
    restore: 'booting',
    stop: 'stopping',
    'guest-powered-off': 'stopped',
    'guest-rebooted': 'booting',
    'qemu-died': 'crashed',
  },
  stopping: { disposed: 'stopped' },
};

export class TransitionError extends Error {
  override name = 'TransitionError';
  constructor(
    readonly from: VmState,
    readonly event: SessionEvent,
  ) {
    super(`impossible session transition: ${event} while ${from}`);
  }
}

/** The state `event` leads to from `from`; throws TransitionError when it cannot happen there. */
export function nextState(from: VmState, event: SessionEvent): VmState {
  const to = TRANSITIONS[from][event];
  if (to === undefined) throw new TransitionError(from, event);
  return to;
}

/** How a QEMU process ended: its exit status and QMP's last SHUTDOWN reason, if any. */
export interface QemuExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** QMP SHUTDOWN's reason: "guest-shutdown", "guest-reset", "host-qmp-quit", "host-signal" … */
  shutdownReason?: string;
}

export type ExitEvent = Extract<SessionEvent, 'guest-powered-off' | 'guest-rebooted' | 'qemu-died'>;

/** What an exit nobody asked for means for the session, and the one line that says so. */
export function classifyExit(exit: QemuExit): { event: ExitEvent; reason: string } {
  // QEMU exits 0 after a guest power-off or (with -no-reboot) a guest reset; it says which in
  // the SHUTDOWN event it sends just before. "guest-panic" never ends QEMU here (panic=none).
  if (exit.signal === null && exit.code === 0 && exit.shutdownReason === 'guest-shutdown') {
    return { event: 'guest-powered-off', reason: 'the guest powered off' };
  }
  if (exit.signal === null && exit.code === 0 && exit.shutdownReason === 'guest-reset') {
    return { event: 'guest-rebooted', reason: 'the guest rebooted' };
  }
  return { event: 'qemu-died', reason: describeExit(exit) };
}

/** "QEMU was killed (SIGKILL)", "QEMU exited (code 1)", "QEMU quit (host-qmp-quit)". */
export function describeExit(exit: QemuExit): string {
  if (exit.signal) return `QEMU was killed (${exit.signal})`;
  if (exit.code !== 0 || !exit.shutdownReason) return `QEMU exited (code ${exit.code ?? 'unknown'})`;
  return `QEMU quit (${exit.shutdownReason})`;
}
