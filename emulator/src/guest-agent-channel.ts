// The channel to qemu-guest-agent (qemu-ga): the host end of its virtio-serial port
// (`-chardev socket,…` + `-device virtserialport,name=org.qemu.guest_agent.0`), its framing,
// the resync, and one request at a time. guest-agent.ts builds exec and file operations on it.
//
// Unlike QMP, the agent's protocol has no request ids and no greeting, and the channel outlives
// both ends: QEMU keeps whatever we write in the socket until the agent opens the port (before
// that it does not read), and an agent that restarts may find half a request from before. So:
//
//  - The conversation starts with guest-sync-delimited: we send a 0xFF byte (the agent's JSON
//    parser drops whatever partial input it holds and answers it with a parse error) and then
//    the sync request with a random id. The agent answers with a 0xFF byte followed by
//    {"return": id}. We discard everything up to each 0xFF, and an answer with another id is
//    stale (a sync we gave up on, answered only now), so we keep discarding. While the agent is
//    not up, the sync is sent again now and then; once it starts, it answers all of them in
//    order, and only the last id counts.
//  - Requests go one at a time (the agent handles one at a time, and replies carry no id to
//    match them by), and a request that timed out makes the next one resync first, because its
//    late reply would otherwise be taken for the next request's.
import { randomInt } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { connectWithRetry, isObject, type JsonObject, type QmpAddress } from './qmp-protocol.ts';

/** A unix socket path or a Windows named pipe, or a TCP port (fake peers in tests). */
export type GuestAgentAddress = QmpAddress;

/** The agent answered with an error. */
export class GuestAgentError extends Error {
  override name = 'GuestAgentError';
  /** qemu-ga's error class, e.g. "GenericError", "CommandNotFound". */
  readonly class: string;

  constructor(
    readonly command: string,
    errorClass: string,
    readonly desc: string,
  ) {
    super(`guest agent ${command}: ${desc} (${errorClass})`);
    this.class = errorClass;
  }
}

/** No answer in time: the agent is not up (yet), or a guest program ran too long. */
export class GuestAgentTimeoutError extends Error {
  override name = 'GuestAgentTimeoutError';
  constructor(
    message: string,
    /** For run(): the guest pid of the program that was still running. */
    readonly pid?: number,
  ) {
    super(message);
  }
}

/** The channel closed before the answer came (QEMU exited, or close() was called). */
export class GuestAgentDisconnectedError extends Error {
  override name = 'GuestAgentDisconnectedError';
}

/** The request was given up on by abandonPending() (the guest was restored from a snapshot). */
export class GuestAgentAbandonedError extends Error {
  override name = 'GuestAgentAbandonedError';
}

/** The agent sent something that is not a JSON reply. */
export class GuestAgentProtocolError extends Error {
  override name = 'GuestAgentProtocolError';
}

export interface GuestAgentConnectOptions {
  /** How long to wait for QEMU to create the socket. */
  timeoutMs?: number;
  /** How long one request may wait for its answer (default 30 s). */
  requestTimeoutMs?: number;
}

const SENTINEL = 0xff;
const NEWLINE = 0x0a;
const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** A line longer than this is not an agent reply (16 MiB of output is ≈ 22 MiB of base64). */
const MAX_LINE_BYTES = 64 * 1024 * 1024;
/** First resend of an unanswered sync, growing to the cap: fast when the agent is nearly up. */
const SYNC_RETRY_FIRST_MS = 100;
const SYNC_RETRY_MAX_MS = 1000;

interface Waiter {
  resolve: (message: JsonObject) => void;
  reject: (error: Error) => void;
}

export class GuestAgentChannel {
  /** 'discard' drops bytes up to the next 0xFF; 'lines' reads newline-ended JSON replies. */
  private mode: 'discard' | 'lines' = 'lines';
  private partial: Buffer[] = [];
  private partialBytes = 0;
  /** The id of the sync we are waiting for, if any. */
  private syncId?: number;
  private syncWaiter?: () => void;
  /** The request in flight (there is at most one). */
  private waiter?: Waiter;
  /** A fresh channel, or one after a timeout, must be synced before the next request. */
  private needsSync = true;
  private queue: Promise<unknown> = Promise.resolve();
  /** Bumped by abandonPending(): what was queued before it is rejected instead of sent. */
  private generation = 0;
  private abandonReason = '';
  private isClosed = false;
  private closeReason = 'the guest agent channel closed';
  private readonly closedPromise: Promise<void>;
  private resolveClosed!: () => void;

  private constructor(
    private readonly socket: Duplex,
    /** How long one request may wait for its answer unless told otherwise. */
    readonly requestTimeoutMs: number,
  ) {
    this.closedPromise = new Promise((resolve) => (this.resolveClosed = resolve));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => {
      this.closeReason = `the guest agent channel failed: ${err.message}`;
    });
    socket.on('end', () => socket.destroy());
    socket.on('close', () => this.onClose());
  }

  /**
   * Connects to the host end of the agent's port, waiting for QEMU to create the socket.
   * The agent itself may not be running yet: call sync() to wait for it.
   */
  static async connect(
    address: GuestAgentAddress,
    opts: GuestAgentConnectOptions = {},
  ): Promise<GuestAgentChannel> {
    const timeoutMs = opts.timeoutMs ?? 10_000;
    let socket: Duplex;
    try {
      socket = await connectWithRetry(address, Date.now() + timeoutMs, timeoutMs);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new GuestAgentTimeoutError(`no guest agent socket: ${why}`);
    }
    return new GuestAgentChannel(socket, opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS);
  }

  /** Runs the channel over a stream that is already open (a QEMU `-chardev pipe`, see qemu-pipe.ts). */
  static open(
    stream: Duplex,
    opts: Pick<GuestAgentConnectOptions, 'requestTimeoutMs'> = {},
  ): GuestAgentChannel {
    return new GuestAgentChannel(stream, opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS);
  }

  /** Resolves once the channel has closed. */
  get closed(): Promise<void> {
    return this.closedPromise;
  }

  /**
   * Waits until the agent answers guest-sync-delimited (the guest has booted far enough to run
   * qemu-ga), resending the sync with a new id until `timeoutMs` has passed.
   */
  sync(timeoutMs = DEFAULT_REQUEST_TIMEOUT_MS): Promise<void> {
    return this.serialize(() => this.doSync(timeoutMs));
  }

  /**
   * Sends one command and resolves with its `return` value. Commands that qemu-ga never
   * answers on success (guest-shutdown, guest-suspend-*) must not be sent this way.
   */
  request<T = unknown>(
    command: string,
    args?: Record<string, unknown>,
    opts: { timeoutMs?: number } = {},
  ): Promise<T> {
    const timeoutMs = opts.timeoutMs ?? this.requestTimeoutMs;
    return this.serialize(async () => {
      if (this.needsSync) await this.doSync(timeoutMs);
      return (await this.roundTrip(command, args, timeoutMs)) as T;
    });
  }

  /** Closes the channel; the request in flight and all queued ones are rejected. */
  async close(): Promise<void> {
    if (!this.isClosed) {
      this.closeReason = 'the guest agent channel was closed by the client';
      this.socket.destroy();
    }
    await this.closedPromise;
  }

  /**
   * Gives up on the request in flight and on every queued one (each rejects with
   * GuestAgentAbandonedError) and resyncs before the next: for a guest just restored from a
   * snapshot (`loadvm`), whose agent never saw what was asked before, and would keep the next
   * request waiting behind an answer that never comes. The channel stays open.
   */
  abandonPending(reason: string): void {
    this.generation++;
    this.abandonReason = reason;
    this.needsSync = true;
    const waiter = this.waiter;
    this.waiter = undefined;
    this.syncWaiter = undefined;
    waiter?.reject(new GuestAgentAbandonedError(reason));
  }

  /** Runs `task` after every task queued before it has settled. */
  private serialize<T>(task: () => Promise<T>): Promise<T> {
    const generation = this.generation;
    const run = (): Promise<T> => {
      if (this.isClosed) return Promise.reject(this.disconnectedError());
      if (generation !== this.generation)
        return Promise.reject(new GuestAgentAbandonedError(this.abandonReason));
      return task();
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async doSync(timeoutMs: number): Promise<void> {
    const generation = this.generation;
    const deadline = Date.now() + timeoutMs;
    let retryMs = SYNC_RETRY_FIRST_MS;
    for (;;) {
      const id = randomInt(1, 2 ** 47);
      this.syncId = id;
      this.mode = 'discard';
      const answered = new Promise<boolean>((resolve) => {
        this.syncWaiter = () => resolve(true);
        this.waiter = { resolve: () => resolve(true), reject: () => resolve(false) };
      });
      const request = JSON.stringify({ execute: 'guest-sync-delimited', arguments: { id } });
      this.socket.write(Buffer.concat([Buffer.from([SENTINEL]), Buffer.from(request + '\n')]));
      const wait = Math.min(retryMs, Math.max(deadline - Date.now(), 0));
      let timer: NodeJS.Timeout | undefined;
      const ok = await Promise.race([
        answered,
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), wait))),
      ]);
      clearTimeout(timer);
      this.syncWaiter = undefined;
      this.waiter = undefined;
      if (ok && this.syncId === undefined) {
        this.needsSync = false;
        return;
      }
      if (this.isClosed) throw this.disconnectedError();
      if (generation !== this.generation) throw new GuestAgentAbandonedError(this.abandonReason);
      if (Date.now() >= deadline) {
        // Leave the reader discarding: a late answer to this sync must not be taken for the
        // reply to the next request, which will resync first anyway.
        this.needsSync = true;
        throw new GuestAgentTimeoutError(
          `the guest agent did not answer guest-sync-delimited within ${timeoutMs} ms`,
        );
      }
      retryMs = Math.min(retryMs * 2, SYNC_RETRY_MAX_MS);
    }
  }

  private async roundTrip(
    command: string,
    args: Record<string, unknown> | undefined,
    timeoutMs: number,
  ): Promise<unknown> {
    const message: JsonObject = { execute: command };
    if (args !== undefined) message.arguments = args;
    const reply = await new Promise<JsonObject>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        this.needsSync = true;
        reject(
          new GuestAgentTimeoutError(`the guest agent did not answer ${command} within ${timeoutMs} ms`),
        );
      }, timeoutMs);
      this.waiter = {
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.socket.write(JSON.stringify(message) + '\n');
    });
    if ('return' in reply) return reply.return;
    const error = reply.error;
    if (isObject(error)) throw new GuestAgentError(command, String(error.class), String(error.desc));
    this.needsSync = true;
    throw new GuestAgentProtocolError(
      `a reply to ${command} with neither return nor error: ${JSON.stringify(reply)}`,
    );
  }

  private onData(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      if (this.mode === 'discard') {
        const sentinel = chunk.indexOf(SENTINEL, start);
        if (sentinel < 0) return;
        this.mode = 'lines';
        this.dropPartial();
        start = sentinel + 1;
        continue;
      }
      const newline = chunk.indexOf(NEWLINE, start);
      const sentinel = chunk.indexOf(SENTINEL, start);
      if (sentinel >= 0 && (newline < 0 || sentinel < newline)) {
        // 0xFF never occurs in UTF-8 text: the agent starts a fresh message after it.
        this.dropPartial();
        start = sentinel + 1;
        continue;
      }
      if (newline < 0) {
        const rest = Buffer.from(chunk.subarray(start));
        this.partial.push(rest);
        this.partialBytes += rest.length;
        if (this.partialBytes > MAX_LINE_BYTES) {
          this.closeReason = `the guest agent sent a line longer than ${MAX_LINE_BYTES} bytes`;
          this.socket.destroy();
        }
        return;
      }
      const piece = chunk.subarray(start, newline);
      const line = this.partial.length ? Buffer.concat([...this.partial, piece]) : piece;
      this.dropPartial();
      start = newline + 1;
      this.onLine(line.toString('utf8').trim());
    }
  }

  private onLine(line: string): void {
    if (line === '') return;
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch {
      message = undefined;
    }
    if (this.syncId !== undefined) {
      // Only the answer to the latest sync ends the resync; anything else is from before it.
      if (isObject(message) && message.return === this.syncId) {
        this.syncId = undefined;
        this.syncWaiter?.();
      } else {
        this.mode = 'discard';
      }
      return;
    }
    const waiter = this.waiter;
    this.waiter = undefined;
    if (!waiter) {
      // A reply nobody waits for: the channel is out of step; resync before the next request.
      this.needsSync = true;
      return;
    }
    if (!isObject(message)) {
      this.needsSync = true;
      waiter.reject(
        new GuestAgentProtocolError(
          `the guest agent sent a line that is not a JSON object: ${line.slice(0, 200)}`,
        ),
      );
      return;
    }
    waiter.resolve(message);
  }

  private dropPartial(): void {
    this.partial = [];
    this.partialBytes = 0;
  }

  private disconnectedError(): GuestAgentDisconnectedError {
    return new GuestAgentDisconnectedError(this.closeReason);
  }

  private onClose(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.reject(this.disconnectedError());
    this.resolveClosed();
  }
}
