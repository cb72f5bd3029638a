// The guest console shared by every attached client (a browser tab, an Electron window): one
// scrollback ring of recent output, and per client what it was sent and what it acknowledged.
//
// Positions are absolute offsets (UTF-16 units) into everything the console printed since the hub
// was made. A client is sent output in batches (≈ 16 ms, as VS Code's terminal does); when its
// unacknowledged output passes the high watermark it is *blocked* (sent nothing more) until it
// acknowledges down to the low watermark. QEMU's pty is paused only while every client is blocked,
// so a slow tab never holds back another; a blocked client whose next byte has already left the ring
// is resynced from the oldest full line the ring still has, told how much it missed. A new client
// gets the ring (from a line start) and then live output: each position is sent at most once.

/** Console output is sent at most this often, in one batch. */
export const CONSOLE_BATCH_MS = 16;
/** Unacknowledged characters above which a client is sent nothing more... */
export const CONSOLE_HIGH_WATERMARK = 100_000;
/** ...until it has acknowledged down to below this. */
export const CONSOLE_LOW_WATERMARK = 5_000;
/** How much recent output the hub keeps, for new pages and for clients that fell behind. */
export const CONSOLE_RING_CHARS = 512 * 1024;

/** Receives one batch: `skipped` characters that this client will never get come before `data`. */
export type ConsoleSink = (data: string, skipped: number) => void;

export interface ConsoleClient {
  /** The client has rendered this many more characters of what it was sent. */
  ack(chars: number): void;
  /** The client went away: it no longer holds anything back. Idempotent. */
  detach(): void;
}

export type Scheduler = (fn: () => void, ms: number) => () => void;

export interface ConsoleHubOptions {
  /** Pauses (true) or resumes (false) the producer, QEMU's pty. Called on changes only. */
  setPaused(paused: boolean): void;
  ringChars?: number;
  highWatermark?: number;
  lowWatermark?: number;
  batchMs?: number;
  /** Runs fn after ms; returns a cancel function. */
  schedule?: Scheduler;
}

/** The last `capacity` characters of a stream, addressed by absolute position. */
export class ScrollbackRing {
  private chunks: { at: number; data: string }[] = [];
  private first = 0;
  private last = 0;

  constructor(private readonly capacity: number) {}

  /** Position of the oldest character kept. */
  get start(): number {
    return this.first;
  }

  /** Position after the newest character. */
  get end(): number {
    return this.last;
  }

  append(data: string): void {
    if (data === '') return;
    const tail = this.chunks.at(-1);
    // Keystroke echoes come one character at a time: keep chunks a useful size.
    if (tail && tail.data.length < 4096) tail.data += data;
    else this.chunks.push({ at: this.last, data });
    this.last += data.length;
    this.trim();
  }

  /** Up to `max` characters from `from` (clamped to what is kept). */
  read(from: number, max: number): string {
    const begin = Math.max(from, this.first);
    const stop = Math.min(this.last, begin + max);
    const parts: string[] = [];
    for (const chunk of this.chunks) {
      const chunkEnd = chunk.at + chunk.data.length;
      if (chunkEnd <= begin) continue;
      if (chunk.at >= stop) break;
      parts.push(chunk.data.slice(Math.max(0, begin - chunk.at), stop - chunk.at));
    }
    return parts.join('');
  }

  /**
   * Where to start showing the kept output at or after `from` without beginning in the middle of a
   * line (or of an escape sequence): `from` itself when nothing before it was lost, else just after
   * the first newline. No newline at all: `from`.
   */
  lineStart(from: number): number {
    const begin = Math.max(from, this.first);
    if (begin === 0) return 0;
    for (const chunk of this.chunks) {
      if (chunk.at + chunk.data.length <= begin) continue;
      const newline = chunk.data.indexOf('\n', Math.max(0, begin - chunk.at));
      if (newline >= 0) return chunk.at + newline + 1;
    }
    return begin;
  }

  private trim(): void {
    while (this.last - this.first > this.capacity) {
      const head = this.chunks[0];
      const excess = this.last - this.first - this.capacity;
      if (head.data.length <= excess) {
        this.chunks.shift();
        this.first = head.at + head.data.length;
      } else {
        head.data = head.data.slice(excess);
        head.at += excess;
        this.first = head.at;
      }
    }
  }
}

interface ClientState {
  sink: ConsoleSink;
  /** Everything before this position was sent (or skipped). */
  sent: number;
  /** Everything before this position was acknowledged (or skipped). */
  acked: number;
  blocked: boolean;
}

const defaultSchedule: Scheduler = (fn, ms) => {
  const timer = setTimeout(fn, ms);
  return () => clearTimeout(timer);
};

export class ConsoleHub {
  private readonly ring: ScrollbackRing;
  private readonly clients = new Set<ClientState>();
  private readonly high: number;
  private readonly low: number;
  private readonly batchMs: number;
  private readonly schedule: Scheduler;
  private cancelFlush: (() => void) | undefined;
  private pausedNow = false;
  private disposed = false;

  constructor(private readonly opts: ConsoleHubOptions) {
    this.ring = new ScrollbackRing(opts.ringChars ?? CONSOLE_RING_CHARS);
    this.high = opts.highWatermark ?? CONSOLE_HIGH_WATERMARK;
    this.low = opts.lowWatermark ?? CONSOLE_LOW_WATERMARK;
    this.batchMs = opts.batchMs ?? CONSOLE_BATCH_MS;
    this.schedule = opts.schedule ?? defaultSchedule;
  }

  /** Whether QEMU's pty is paused right now. */
  get paused(): boolean {
    return this.pausedNow;
  }

  get clientCount(): number {
    return this.clients.size;
  }

  /** Output from the guest console. */
  write(data: string): void {
    if (this.disposed || data === '') return;
    this.ring.append(data);
    if (this.clients.size > 0) this.scheduleFlush();
  }

  /** A new client: it is sent the recent history, then live output. */
  attach(sink: ConsoleSink): ConsoleClient {
    const start = this.ring.lineStart(this.ring.start);
    const client: ClientState = { sink, sent: start, acked: start, blocked: false };
    this.clients.add(client);
    this.updatePause();
    if (this.ring.end > start) this.scheduleFlush();
    return {
      ack: (chars) => this.ack(client, chars),
      detach: () => {
        if (!this.clients.delete(client)) return;
        this.updatePause();
      },
    };
  }

  /**
   * A new boot (or a stop): the new QEMU's pty starts unpaused, so the hub does too, and every
   * client starts with nothing unacknowledged. What a client has not been sent yet it still gets.
   */
  newBoot(): void {
    for (const client of this.clients) {
      client.acked = client.sent;
      client.blocked = false;
    }
    this.setPaused(false);
    if (this.clients.size > 0) this.scheduleFlush();
  }

  /** Sends every client that is not blocked what it has not been sent yet. */
  flush(): void {
    this.cancelFlush?.();
    this.cancelFlush = undefined;
    if (this.disposed) return;
    let more = false;
    for (const client of this.clients) {
      this.sendTo(client);
      if (!client.blocked && client.sent < this.ring.end) more = true;
    }
    this.updatePause();
    // A client sent one watermark's worth gets the rest in the next batch, if not blocked by then.
    if (more) this.scheduleFlush();
  }

  dispose(): void {
    this.disposed = true;
    this.cancelFlush?.();
    this.cancelFlush = undefined;
    this.clients.clear();
  }

  private sendTo(client: ClientState): void {
    if (client.blocked || client.sent >= this.ring.end) return;
    // What this client still needed may have left the ring: it continues at a line start.
    const from = client.sent < this.ring.start ? this.ring.lineStart(this.ring.start) : client.sent;
    const skipped = from - client.sent;
    const data = this.ring.read(from, this.high);
    client.sent = from + data.length;
    client.acked += skipped; // never to be acknowledged: not owed
    if (client.sent - client.acked > this.high) client.blocked = true;
    if (data === '' && skipped === 0) return;
    try {
      client.sink(data, skipped);
    } catch {
      // A transport that fails to send is the transport's problem (it detaches on close).
    }
  }

  private ack(client: ClientState, chars: number): void {
    if (!this.clients.has(client) || !(chars > 0)) return;
    client.acked = Math.min(client.sent, client.acked + chars);
    if (client.blocked && client.sent - client.acked < this.low) {
      client.blocked = false;
      if (client.sent < this.ring.end) this.scheduleFlush();
    }
    this.updatePause();
  }

  private updatePause(): void {
    const everyoneBlocked = this.clients.size > 0 && [...this.clients].every((c) => c.blocked);
    this.setPaused(everyoneBlocked);
  }

  private setPaused(paused: boolean): void {
    if (paused === this.pausedNow) return;
    this.pausedNow = paused;
    this.opts.setPaused(paused);
  }

  private scheduleFlush(): void {
    if (this.cancelFlush || this.disposed) return;
    this.cancelFlush = this.schedule(() => {
      this.cancelFlush = undefined;
      this.flush();
    }, this.batchMs);
  }
}
