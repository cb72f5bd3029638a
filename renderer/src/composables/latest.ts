// A value that changes often but only matters last (the terminal's size while a window is dragged
// or the text is zoomed): sent after it has been still for a moment, one call at a time, and only
// when it differs from what was sent.

export type Schedule = (fn: () => void, ms: number) => () => void;

const timeout: Schedule = (fn, ms) => {
  const timer = setTimeout(fn, ms);
  return () => clearTimeout(timer);
};

export class LatestOnly<T> {
  private latest: T | undefined;
  private sent: T | undefined;
  private cancel: (() => void) | null = null;
  private inFlight = false;

  constructor(
    private readonly send: (value: T) => Promise<void>,
    private readonly same: (a: T, b: T) => boolean,
    private readonly quietMs = 100,
    private readonly schedule: Schedule = timeout,
  ) {}

  push(value: T): void {
    this.latest = value;
    if (this.inFlight) return; // sent when the call in flight is done
    this.cancel?.();
    this.cancel = this.schedule(() => this.flush(), this.quietMs);
  }

  /** Sends the latest value now (if it is new and no call is in flight). */
  flush(): void {
    this.cancel?.();
    this.cancel = null;
    const value = this.latest;
    if (this.inFlight || value === undefined) return;
    this.latest = undefined;
    if (this.sent !== undefined && this.same(value, this.sent)) return;
    this.sent = value;
    this.inFlight = true;
    this.send(value)
      .catch(() => (this.sent = undefined)) // not applied: the next value is sent even if equal
      .finally(() => {
        this.inFlight = false;
        if (this.latest !== undefined) this.flush();
      });
  }

  dispose(): void {
    this.cancel?.();
    this.cancel = null;
    this.latest = undefined;
  }
}
