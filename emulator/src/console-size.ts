// The guest console's window size. A serial line carries no size, so the guest's tty is told
// with a guest command (stty). A window being dragged sends dozens of sizes a second: only the
// last one matters, so at most one command is in flight and, when it ends, one more runs only
// if the size wanted by then differs from the one applied.

export interface ConsoleSize {
  cols: number;
  rows: number;
}

export type ApplySize = (size: ConsoleSize) => Promise<void>;

/** The arguments of `stty` that set the size of the console's tty. */
export function sttyArgs(size: ConsoleSize): string[] {
  return ['-F', '/dev/ttyS0', 'rows', String(size.rows), 'cols', String(size.cols)];
}

/** The same as one shell command. */
export function sttyCommand(size: ConsoleSize): string {
  return ['stty', ...sttyArgs(size)].join(' ');
}

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
   * A guest that can take commands: the size wanted now is applied through `apply`. Resolves
   * once the guest's size is the wanted one (or applying it failed).
   */
  attach(apply: ApplySize): Promise<void> {
    this.gone?.resolve();
    this.apply = apply;
    let resolve!: () => void;
    this.gone = { promise: new Promise((r) => (resolve = r)), resolve };
    this.applied = undefined;
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
      const key = `${size.cols}x${size.rows}`;
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
