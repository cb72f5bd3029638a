// What QmpClient.events() returns: one subscriber's queue of QMP events, read with `for await`.
import type { QmpEvent } from './qmp-protocol.ts';

/** Events kept for an `events()` iterator nobody reads; beyond this the oldest are dropped. */
const MAX_BUFFERED_EVENTS = 1024;

/** One subscriber's queue of events, read through the async iterator protocol. */
export class EventStream implements AsyncIterableIterator<QmpEvent> {
  private readonly buffer: QmpEvent[] = [];
  private readonly waiters: ((result: IteratorResult<QmpEvent>) => void)[] = [];
  private done = false;

  constructor(private readonly unsubscribe: () => void) {}

  push(event: QmpEvent): void {
    const waiter = this.waiters.shift();
    if (waiter) {
      waiter({ value: event, done: false });
      return;
    }
    this.buffer.push(event);
    if (this.buffer.length > MAX_BUFFERED_EVENTS) this.buffer.shift();
  }

  end(): void {
    this.done = true;
    for (const waiter of this.waiters.splice(0)) waiter({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<QmpEvent>> {
    const event = this.buffer.shift();
    if (event) return Promise.resolve({ value: event, done: false });
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  return(): Promise<IteratorResult<QmpEvent>> {
    this.unsubscribe();
    this.buffer.length = 0;
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<QmpEvent> {
    return this;
  }
}
