// When to look at the guest again after the student typed a command in the terminal: once the
// console has been quiet for a moment after an Enter (the command has likely finished: insmod
// prints nothing, the shell its prompt), or after a longer while at the latest, for a command that
// keeps printing. Nothing is asked while nobody types: the guest is never polled.
export interface AfterCommandTimers {
  /** Quiet console this long after a command: look now. */
  quietMs: number;
  /** At the latest this long after the first Enter not yet looked after. */
  latestMs: number;
  setTimeout: (fn: () => void, ms: number) => unknown;
  clearTimeout: (handle: unknown) => void;
}

export const DEFAULT_TIMERS: AfterCommandTimers = {
  quietMs: 400,
  latestMs: 3000,
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export class AfterCommand {
  private quiet: unknown = null;
  private latest: unknown = null;

  constructor(
    private readonly look: () => void,
    private readonly timers: AfterCommandTimers = DEFAULT_TIMERS,
  ) {}

  /** Whether a command is waiting to be looked after. */
  get pending(): boolean {
    return this.quiet !== null;
  }

  /** Keystrokes were sent to the console; an Enter among them is a command. */
  input(data: string): void {
    if (!/[\r\n]/.test(data)) return;
    this.latest ??= this.timers.setTimeout(() => this.fire(), this.timers.latestMs);
    this.restartQuiet();
  }

  /** The console printed something: not quiet yet. */
  output(): void {
    if (this.quiet !== null) this.restartQuiet();
  }

  dispose(): void {
    this.cancel();
  }

  private restartQuiet(): void {
    if (this.quiet !== null) this.timers.clearTimeout(this.quiet);
    this.quiet = this.timers.setTimeout(() => this.fire(), this.timers.quietMs);
  }

  private cancel(): void {
    if (this.quiet !== null) this.timers.clearTimeout(this.quiet);
    if (this.latest !== null) this.timers.clearTimeout(this.latest);
    this.quiet = this.latest = null;
  }

  private fire(): void {
    this.cancel();
    this.look();
  }
}
