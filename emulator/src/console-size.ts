// The guest console's window size. A serial line carries no size, so the guest's tty is told
// with a guest command (lab-settle --winsize, a static stand-in for stty: build/guest/lab-settle.c).
// A window being dragged sends dozens of sizes a second: only the last one matters, so at most
// one command is in flight and, when it ends, one more runs only if the size wanted by then
// differs from the one applied.

export interface ConsoleSize {
  cols: number;
  rows: number;
}

export type ApplySize = (size: ConsoleSize) => Promise<void>;

/** The arguments of `lab-settle` that set the size of the console's tty (/dev/ttyS0). */
export function winsizeArgs(size: ConsoleSize): string[] {
  return ['--winsize', String(size.rows), String(size.cols)];
}

const sizeKey = (size: ConsoleSize) => `${size.cols}x${size.rows}`;

export class ConsoleSizer {
  private wanted: ConsoleSize;
  private applied?: string;
  private apply?: ApplySize;
  /** Resolves when the guest `apply` reaches goes away: a command in flight is not waited for. */
  private gone?: { promise: Promise<void>; resolve: () => void };
  private running?: Promise<void>;
  /** The last size whose command failed: not retried until another size is asked for. */
  private failed?: string;

  constructor(initial: ConsoleSize) {
    this.wanted = { ...initial };
  }

  get size(): ConsoleSize {
    return { ...this.wanted };
  }

  /**
   * A guest that can take commands: the size wanted now is applied through `apply`, unless the
   * guest has it already (`applied`: set by the command that settled the guest). Resolves once
   * the guest's size is the wanted one (or applying it failed).
   */
  attach(apply: ApplySize, applied?: ConsoleSize): Promise<void> {
    this.gone?.resolve();
    this.apply = apply;
    let resolve!: () => void;
    this.gone = { promise: new Promise((r) => (resolve = r)), resolve };
    this.applied = applied && sizeKey(applied);
    this.failed = undefined;
    return this.settle();
  }

  /**
   * The guest went away (or froze): nothing more is applied until the next attach(), and a
   * command in flight, which may never end, is waited for no longer.
   */
  detach(): void {
    this.gone?.resolve();
    this.gone = undefined;
    this.apply = undefined;
    this.applied = undefined;
  }

  /** Asks for a size; resolves when the guest has the last size asked for (or has none). */
  set(size: ConsoleSize): Promise<void> {
    this.wanted = { ...size };
    this.failed = undefined;
    return this.settle();
  }

  private settle(): Promise<void> {
    this.running ??= this.loop().finally(() => (this.running = undefined));
    return this.running;
  }

  private async loop(): Promise<void> {
    for (;;) {
      const { apply, gone } = this;
      const size = { ...this.wanted };
      const key = sizeKey(size);
      if (!apply || !gone || key === this.applied || key === this.failed) return;
      try {
        await Promise.race([apply(size), gone.promise]);
        if (this.apply === apply) this.applied = key;
      } catch {
        if (this.apply === apply) this.failed = key;
      }
    }
  }
}
