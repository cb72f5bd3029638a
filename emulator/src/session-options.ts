// What a LabSession is made with, and the errors its boots end with.
import type { Accelerator, AcceleratorInfo, CrashInfo, VmStatus } from './api.ts';
import type { AcceleratorPolicy } from './boot-watchdog.ts';
import type { ConsoleSize } from './console-size.ts';
import { kernelOf, type GuestImage, type KernelChoice } from './image.ts';
import type { DiskSource, ProcessFactory, QemuProcessSpec } from './qemu-process.ts';
import type { Transport } from './qemu-transport.ts';

export interface LabSessionOptions {
  image?: GuestImage;
  /** Skips the accelerator probe (tests, or a value the caller probed once). */
  accelerator?: AcceleratorInfo;
  memoryMiB?: number;
  cpus?: number;
  /**
   * Boot with LA57 off in the CPU model (`-cpu max,la57=off` under TCG): the guest runs 4-level
   * paging, as on most KVM hosts. Part of the warm snapshot's machine shape.
   */
  fourLevelPaging?: boolean;
  /**
   * `debug` boots the image's debug kernel (KASAN, lockdep, DEBUG_VM …: build/kernel-debug.config),
   * for the tests' fuzz and stress runs; several times slower than `main` (the default). Part of
   * the warm snapshot's machine shape.
   */
  kernel?: KernelChoice;
  /** Host folder shared into the guest at /root/work (virtio-9p). */
  workspace?: string;
  /** How long booting may take before it counts as failed. TCG on 2 cores needs a few seconds. */
  bootTimeoutMs?: number;
  cols?: number;
  rows?: number;
  /**
   * Nobody reads the console as a terminal (`exec`): its size is never set in the guest, one
   * guest command fewer per boot. Default false.
   */
  noTerminal?: boolean;
  /**
   * With `noTerminal` and no workspace (`exec`): a restored guest's clock is set by its first
   * command's own program start, not by one of its own before (one cold program fewer under TCG).
   * Files copied in before that command get the snapshot's older time: `make` rebuilds more,
   * never less. Default false.
   */
  clockWithFirstCommand?: boolean;
  env?: NodeJS.ProcessEnv;
  /**
   * Boot from a saved snapshot of a freshly booted guest (default on). The first start on a new
   * image boots cold once more to make it; `false` always boots cold.
   */
  warmBoot?: boolean;
  /** Makes the QEMU process of each boot (unit tests pass fakes). */
  createProcess?: ProcessFactory;
  /** Chooses the accelerator and handles a silent hardware boot (unit tests pass their own). */
  accelerators?: AcceleratorPolicy;
  /** Where saved sessions (Suspend, Resume) live; default <cache>/sessions (saved-sessions.ts). */
  savedSessions?: string;
  /** Remove stale run folders and warm snapshots at the first start (default on). */
  cleanStale?: boolean;
  /**
   * How the host talks to QEMU (qemu-transport.ts): `pipe` is Windows' and, elsewhere, a test
   * of it. Default: chooseTransport (FARFETCHD_LAB_TRANSPORT, else this host's).
   */
  transport?: Transport;
}

/** What a LabSession emits. */
export interface SessionEvents {
  status: [VmStatus];
  console: [string];
  crash: [CrashInfo];
}

export class LabBootError extends Error {
  constructor(
    message: string,
    /** The end of the kernel's log (its own console, hvc0) from the failed boot. */
    readonly kernelLogTail: string,
  ) {
    super(message);
    this.name = 'LabBootError';
  }
}

/** The QEMU process of one boot of this session's machine. */
export function processSpec(
  opts: LabSessionOptions,
  machine: { image: GuestImage; accel: Accelerator; size: ConsoleSize; env: NodeJS.ProcessEnv },
  disk: DiskSource,
  warmUp: boolean,
): QemuProcessSpec {
  return {
    accel: machine.accel,
    kernelPath: kernelOf(machine.image, opts.kernel).path,
    baseDisk: machine.image.diskPath,
    disk,
    memoryMiB: opts.memoryMiB ?? 512,
    cpus: opts.cpus ?? 2,
    fourLevelPaging: opts.fourLevelPaging,
    // The warm state is made with an empty share in the workspace's place: the same machine.
    workspace: opts.workspace && (warmUp ? { empty: true } : opts.workspace),
    cols: machine.size.cols,
    rows: machine.size.rows,
    env: machine.env,
    diskAio: 'auto',
    ...(opts.transport ? { transport: opts.transport } : {}),
  };
}
