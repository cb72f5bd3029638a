// What a LabSession asks of one QEMU run (LabProcess, made by a ProcessFactory from a
// QemuProcessSpec), apart from QemuProcess, the real one, so that fakes need none of its imports.
import type { Accelerator } from './api.ts';
import type { GuestAgent } from './guest-agent.ts';
import type { Transport } from './qemu-transport.ts';
import type { QemuExit } from './session-state.ts';

/** Where the overlay (the guest's disk) of a new QemuProcess comes from. */
export type DiskSource =
  /** An empty overlay over the base image: a fresh machine. */
  | { kind: 'fresh' }
  /** A copy of a warm-state file, started from its snapshot `loadvm`. */
  | { kind: 'snapshot'; file: string; loadvm: string }
  /** The overlay of an earlier process of the same machine, moved here (a reboot keeps its disk). */
  | { kind: 'adopt'; file: string }
  /**
   * A saved session's disk (saved-sessions.ts), moved here and started from its snapshot
   * `loadvm`. The run folder is made next to `file`, so that the move is a rename.
   */
  | { kind: 'resume'; file: string; loadvm: string };

export interface QemuProcessSpec {
  accel: Accelerator;
  kernelPath: string;
  /** The image's base qcow2; never written. */
  baseDisk: string;
  disk: DiskSource;
  memoryMiB: number;
  cpus: number;
  /** LA57 off in the CPU model: the guest runs 4-level paging. */
  fourLevelPaging?: boolean;
  /** A host folder shared at tag "workspace"; `empty` shares an empty folder (same machine shape). */
  workspace?: string | { empty: true };
  cols: number;
  rows: number;
  env: NodeJS.ProcessEnv;
  /** The disk's I/O engine (qemu-args.ts); `auto`: io_uring where it works (disk-aio.ts). Default threads. */
  diskAio?: 'auto' | 'threads' | 'io_uring';
  /** Sockets and a pty, or pipes (default: chooseTransport for this host and `env`). */
  transport?: Transport;
}

/** What the session asks of the guest agent (GuestAgent has it; unit tests fake it). */
export type SessionAgent = Pick<
  GuestAgent,
  'sync' | 'run' | 'writeFile' | 'ping' | 'close' | 'request' | 'abandonPending'
>;

/** What LabSession needs of one QEMU run; QemuProcess is the real one. */
export interface LabProcess {
  /** Resolves once, when QEMU has ended (never rejects). */
  readonly exited: Promise<QemuExit>;
  /** The overlay file, once launch() has made it. */
  readonly overlayPath: string | undefined;
  /** The run folder, once launch() has made it (files QEMU writes for the lab, e.g. pmemsave). */
  readonly runFolder: string | undefined;
  /** A QEMU monitor (HMP) command through QMP, e.g. `xp` to read guest physical memory. */
  monitor(command: string): Promise<string>;
  /** Makes the run folder and overlay, starts QEMU and connects QMP and the agent's socket. */
  launch(): Promise<void>;
  /** The agent's channel (after launch); the agent itself answers once the guest runs it. */
  agent(): SessionAgent;
  /** The student's console (ttyS0): the terminal, and boot markers. Programs write here. */
  onConsole(listener: (data: string) => void): void;
  /** The kernel's own console (hvc0): what only the kernel prints (crashes are read here). */
  onKernelLog(listener: (text: string) => void): void;
  /** QEMU's GUEST_PANICKED event (pvpanic). */
  onGuestPanicked(listener: () => void): void;
  write(data: string): void;
  resize(cols: number, rows: number): void;
  pause(): void;
  resume(): void;
  /** Pauses the vCPUs (a panicked kernel spins forever). */
  freeze(): Promise<void>;
  /** `savevm tag` (HMP reports its errors only in its text, e.g. a mounted 9p share). */
  saveSnapshot(tag: string): Promise<void>;
  /**
   * `loadvm tag` in this same QEMU, then `cont`: the machine (RAM, devices, and the disk, which
   * holds the snapshot) as it was saved, running, also from a frozen guest. HMP reports its
   * errors only in its text: a failure rejects, and the machine is then in no known state.
   */
  loadSnapshot(tag: string): Promise<void>;
  /** Asks QEMU to quit and waits for it, keeping the run folder (the overlay is complete then). */
  quit(): Promise<QemuExit>;
  /**
   * A `resume` disk is the machine's now: disposal removes it. Until this is called, disposal
   * gives it back to where it came from (after QEMU's end), so a failed resume can be tried again.
   */
  consumeDisk(): void;
  /** This warm-started machine is ready: the next warm start's disk can be made ahead. */
  prepareNextStart(): void;
  dispose(): Promise<void>;
}

export type ProcessFactory = (spec: QemuProcessSpec) => LabProcess;
