// The session's one queue of operations, and the gate of the operation in flight. Operations run
// one after the other; stop(), reset() and a kernel crash do not wait behind the one in flight:
// they interrupt it (every wait it makes through its guard ends at once), so their turn comes.
// A frozen guest never answers, so an operation that waited on it unguarded would hold the queue
// until its command timed out.

export type Guard = <T>(promise: Promise<T>) => Promise<T>;

/** Who interrupted an operation: a stop (stop() or reset()), or the guest kernel crashing. */
export type InterruptedBy = 'stop' | 'crash';

/** Why an operation in flight was abandoned. */
export class OperationInterrupted extends Error {
  constructor(
    readonly by: InterruptedBy,
    what: string,
  ) {
    super(by === 'stop' ? `the machine was stopped while ${what}` : `the guest kernel crashed while ${what}`);
  }
}

/** One operation's interruption: interrupt() ends every wait of that operation at once. */
export class OperationGate {
  by?: InterruptedBy;
  private readonly interruption: Promise<never>;
  private reject!: (err: OperationInterrupted) => void;

  constructor(private readonly what: string) {
    this.interruption = new Promise<never>((_, reject) => (this.reject = reject));
    this.interruption.catch(() => undefined);
  }

  interrupt(by: InterruptedBy): void {
    this.by ??= by;
    this.reject(new OperationInterrupted(by, this.what));
  }

  readonly guard: Guard = (promise) => Promise.race([promise, this.interruption]);
}

export class OperationQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private gate?: OperationGate;
  private stops = 0;

  /** Runs `operation` once every operation queued before it has ended, however it ended. */
  enqueue<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.tail.then(operation, operation);
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** Runs `work` (from inside an operation) under a gate that interrupt() ends; `what` names it. */
  async gated<T>(what: string, work: (gate: OperationGate) => Promise<T>): Promise<T> {
    const gate = (this.gate = new OperationGate(what));
    try {
      return await work(gate);
    } finally {
      if (this.gate === gate) this.gate = undefined;
    }
  }

  /** Interrupts the gated work in flight, if any. */
  interrupt(by: InterruptedBy): void {
    this.gate?.interrupt(by);
  }

  /** stop() was called: what is in flight is interrupted, and the stop counted (stoppedSince). */
  stopAsked(): void {
    this.stops++;
    this.interrupt('stop');
  }

  /** A mark for stoppedSince(): the stop() calls so far. */
  get stopMark(): number {
    return this.stops;
  }

  /** Whether stop() was called after `mark` was taken: a boot asked for before that is void. */
  stoppedSince(mark: number): boolean {
    return this.stops !== mark;
  }
}
