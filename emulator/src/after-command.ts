// When to look at the guest again after the student typed a command in the terminal. An Enter
// opens a watch window; inside it, each time the console has been quiet for a moment the lab
// looks (and at the latest a while after output began, for a command that keeps printing). A
// command that takes long prints nothing until its prompt comes back (insmod under TCG): the look
// after the echo finds nothing new, the look after the prompt finds the module. Nothing is asked
// while nobody types: the guest is never polled.
export interface AfterCommandTimers {
  /** Quiet console this long: look now. */
  quietMs: number;
  /** At the latest this long after the output that a look has not followed yet began. */
  latestMs: number;
  /** How long after an Enter the console's output still counts as that command's. */
  windowMs: number;
  setTimeout: (fn: () => void, ms: number) => unknown;
  clearTimeout: (handle: unknown) => void;
}

export const DEFAULT_TIMERS: AfterCommandTimers = {
  quietMs: 400,
  latestMs: 3000,
  windowMs: 30_000,
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export class AfterCommand {
  private window: unknown = null;
  private quiet: unknown = null;
  private latest: unknown = null;

  constructor(
    private readonly look: () => void,
    private readonly timers: AfterCommandTimers = DEFAULT_TIMERS,
  ) {}

  /** Whether a look is due (the console has not been quiet since the last command or output). */
  get pending(): boolean {
    return this.quiet !== null;
  }

  /** Keystrokes were sent to the console; an Enter among them is a command. */
  input(data: string): void {
    if (!/[\r\n]/.test(data)) return;
    if (this.window !== null) this.timers.clearTimeout(this.window);
    // When the window ends, output no longer counts; a look already due still happens.
    this.window = this.timers.setTimeout(() => (this.window = null), this.timers.windowMs);
    this.due();
  }

  /** The console printed something: inside a command's window, a look is due once it is quiet. */
  output(): void {
    if (this.window !== null) this.due();
  }

  dispose(): void {
    this.cancelLook();
    if (this.window !== null) this.timers.clearTimeout(this.window);
    this.window = null;
  }

  private due(): void {
    if (this.quiet !== null) this.timers.clearTimeout(this.quiet);
    this.quiet = this.timers.setTimeout(() => this.fire(), this.timers.quietMs);
    this.latest ??= this.timers.setTimeout(() => this.fire(), this.timers.latestMs);
  }

  private fire(): void {
    this.cancelLook();
    this.look();
  }

  private cancelLook(): void {
    if (this.quiet !== null) this.timers.clearTimeout(this.quiet);
    if (this.latest !== null) this.timers.clearTimeout(this.latest);
    this.quiet = this.latest = null;
  }
}
