// The session's current QEMU process, and its epoch. Each process attached is a new epoch;
// retiring it ends that epoch, so whatever the process still reports afterwards (console
// output, its exit, a panic) never reaches the session.
import { MarkerWatch } from './boot-progress.ts';
import type { BootStep } from './api.ts';
import type { LabProcess } from './qemu-process.ts';
import type { QemuExit } from './session-state.ts';

export interface ProcessHandlers {
  /** Console output, with the boot steps its markers show reached. */
  console(data: string, steps: BootStep[]): void;
  /** Text from the kernel's own console (hvc0). */
  kernelLog(text: string): void;
  panicked(): void;
  exited(exit: QemuExit, epoch: number): void;
}

export class ProcessSlot {
  private proc?: LabProcess;
  private shown = false;
  private epochCount = 0;
  /** Resolves when the current process has shown that its guest runs (a boot marker). */
  proved: Promise<void> = Promise.resolve();

  get current(): LabProcess | undefined {
    return this.proc;
  }

  /**
   * The current process if its console is the user's terminal. A warm-up boot's is not: what
   * is typed while it runs would be saved in its snapshot and replayed at every later start.
   */
  get terminal(): LabProcess | undefined {
    return this.shown ? this.proc : undefined;
  }

  get epoch(): number {
    return this.epochCount;
  }

  /** Makes `proc` current (`shown`: its console is the user's); `handlers` hear from it only while it is. */
  attach(proc: LabProcess, handlers: ProcessHandlers, shown: boolean): LabProcess {
    const epoch = ++this.epochCount;
    const current = () => this.epochCount === epoch;
    this.proc = proc;
    this.shown = shown;
    const markers = new MarkerWatch();
    this.proved = markers.proof;
    proc.onConsole((data) => {
      if (current()) handlers.console(data, markers.feed(data));
    });
    proc.onKernelLog((text) => {
      markers.kernelSpoke(); // any kernel output proves the kernel runs, even an early panic
      if (current()) handlers.kernelLog(text);
    });
    proc.onGuestPanicked(() => {
      if (current()) handlers.panicked();
    });
    void proc.exited.then((exit) => {
      if (current()) handlers.exited(exit, epoch);
    });
    return proc;
  }

  /** Ends the current epoch and disposes its process (all of it: QEMU, sockets, run folder). */
  async retire(): Promise<void> {
    const proc = this.proc;
    this.proc = undefined;
    this.shown = false;
    this.epochCount++;
    await proc?.dispose();
  }
}
