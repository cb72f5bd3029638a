// A client for qemu-guest-agent (qemu-ga) over the host end of its virtio-serial port
// (`-chardev socket,…` + `-device virtserialport,name=org.qemu.guest_agent.0`).
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
import type net from 'node:net';
import { connectWithRetry, type QmpAddress } from './qmp.ts';

/** A unix socket path, or a loopback TCP port (Windows). */
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

/** guest-exec-status, with the output decoded. */
export interface GuestExecStatus {
  exited: boolean;
  /** Set when the program exited normally. */
  exitCode?: number;
  /** Set when a signal ended the program. */
  signal?: number;
  stdout: Buffer;
  stderr: Buffer;
  /** qemu-ga keeps at most 16 MiB of each stream; more is cut off. */
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
}

export interface GuestRunResult {
  /** The exit status; 128 + the signal number when a signal ended it, as a shell reports it. */
  exitCode: number;
  signal?: number;
  stdout: Buffer;
  stderr: Buffer;
  /** Present (true) when qemu-ga cut off some of the output. */
  truncated?: boolean;
}

/** The environment of a guest program: "NAME=value" strings, or an object. */
export type GuestEnv = string[] | Record<string, string>;

export interface GuestExecOptions {
  env?: GuestEnv;
  /** Fed to the program's stdin, which is then closed. */
  inputData?: Buffer;
  /** Collect stdout and stderr for guest-exec-status (the default). */
  captureOutput?: boolean;
}

export interface GuestRunOptions {
  timeoutMs: number;
  env?: GuestEnv;
  input?: Buffer;
  /**
   * qemu-ga 7.2 cannot kill what guest-exec started. When the program runs past `timeoutMs`,
   * run() kills it and its descendants with a second guest-exec (kill -KILL through /bin/sh,
   * children found with pgrep) unless this is false. That is best effort: the caller owns
   * the outcome either way and gets GuestAgentTimeoutError with the pid.
   */
  killOnTimeout?: boolean;
}

interface RawExecStatus {
  exited: boolean;
  exitcode?: number;
  signal?: number;
  'out-data'?: string;
  'err-data'?: string;
  'out-truncated'?: boolean;
  'err-truncated'?: boolean;
}

type JsonObject = Record<string, unknown>;

/** Write chunk: 48 KiB is 64 KiB of base64, far below qemu-ga's request size limits. */
export const FILE_WRITE_CHUNK = 48 * 1024;
/** Read chunk: qemu-ga allows up to 48 MiB per guest-file-read; 1 MiB keeps replies modest. */
const FILE_READ_CHUNK = 1024 * 1024;
const SENTINEL = 0xff;
const NEWLINE = 0x0a;
const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** A line longer than this is not an agent reply (16 MiB of output is ≈ 22 MiB of base64). */
const MAX_LINE_BYTES = 64 * 1024 * 1024;
/** First resend of an unanswered sync, growing to the cap: fast when the agent is nearly up. */
const SYNC_RETRY_FIRST_MS = 100;
const SYNC_RETRY_MAX_MS = 1000;
/** guest-exec-status polling: a few ms per round trip, so short programs finish fast. */
const POLL_FIRST_MS = 2;
const POLL_MAX_MS = 20;

/** Kills a process tree: stop the parent first so that it cannot start new children. */
const KILL_TREE_SCRIPT =
  't() { kill -STOP "$1" 2>/dev/null; for c in $(pgrep -P "$1" 2>/dev/null); do t "$c"; done; ' +
  'kill -KILL "$1" 2>/dev/null; }; t "$0"';

interface Waiter {
  resolve: (message: JsonObject) => void;
  reject: (error: Error) => void;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class GuestAgent {
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
  private isClosed = false;
  private closeReason = 'the guest agent channel closed';
  private readonly closedPromise: Promise<void>;
  private resolveClosed!: () => void;

  private constructor(
    private readonly socket: net.Socket,
    private readonly requestTimeoutMs: number,
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
  static async connect(address: GuestAgentAddress, opts: GuestAgentConnectOptions = {}): Promise<GuestAgent> {
    const timeoutMs = opts.timeoutMs ?? 10_000;
    let socket: net.Socket;
    try {
      socket = await connectWithRetry(address, Date.now() + timeoutMs, timeoutMs);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new GuestAgentTimeoutError(`no guest agent socket: ${why}`);
    }
    return new GuestAgent(socket, opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS);
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

  async ping(): Promise<void> {
    await this.request('guest-ping');
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

  /** Starts a program (guest-exec); resolves with its guest pid. */
  async exec(path: string, args: string[], opts: GuestExecOptions = {}): Promise<number> {
    const request: JsonObject = { path, arg: args, 'capture-output': opts.captureOutput ?? true };
    if (opts.env !== undefined) request.env = envList(opts.env);
    if (opts.inputData !== undefined) request['input-data'] = opts.inputData.toString('base64');
    const reply = await this.request<{ pid: number }>('guest-exec', request);
    return reply.pid;
  }

  /**
   * guest-exec-status. Once it has reported `exited: true`, qemu-ga forgets the pid: asking
   * again is an error.
   */
  async execStatus(pid: number): Promise<GuestExecStatus> {
    const raw = await this.request<RawExecStatus>('guest-exec-status', { pid });
    return {
      exited: raw.exited,
      exitCode: raw.exitcode,
      signal: raw.signal,
      stdout: Buffer.from(raw['out-data'] ?? '', 'base64'),
      stderr: Buffer.from(raw['err-data'] ?? '', 'base64'),
      stdoutTruncated: raw['out-truncated'] === true,
      stderrTruncated: raw['err-truncated'] === true,
    };
  }

  /**
   * Runs a program to its end and returns its status and output. Polls guest-exec-status
   * with a backoff from 2 ms to 20 ms: a round trip costs a few ms, so short programs
   * return almost at once and long ones cost little. Past `timeoutMs` it throws
   * GuestAgentTimeoutError (see GuestRunOptions.killOnTimeout for what happens to the program).
   */
  async run(path: string, args: string[], opts: GuestRunOptions): Promise<GuestRunResult> {
    const deadline = Date.now() + opts.timeoutMs;
    const pid = await this.exec(path, args, { env: opts.env, inputData: opts.input, captureOutput: true });
    let delay = POLL_FIRST_MS;
    for (;;) {
      const status = await this.execStatus(pid);
      if (status.exited) {
        const result: GuestRunResult = {
          exitCode: status.exitCode ?? (status.signal !== undefined ? 128 + status.signal : 0),
          stdout: status.stdout,
          stderr: status.stderr,
        };
        if (status.signal !== undefined) result.signal = status.signal;
        if (status.stdoutTruncated || status.stderrTruncated) result.truncated = true;
        return result;
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        let what = 'it is still running';
        if (opts.killOnTimeout !== false)
          what = (await this.killTree(pid)) ? 'it was killed' : 'killing it failed';
        throw new GuestAgentTimeoutError(
          `${path} (guest pid ${pid}) ran longer than ${opts.timeoutMs} ms; ${what}`,
          pid,
        );
      }
      await sleep(Math.min(delay, left));
      delay = Math.min(delay * 2, POLL_MAX_MS);
    }
  }

  /**
   * Writes a whole file in the guest (created or truncated), in 48 KiB chunks. qemu-ga creates
   * new files with mode 0666 whatever the umask, so `mode` is applied afterwards with chmod.
   */
  async writeFile(guestPath: string, data: Buffer, mode?: number): Promise<void> {
    const handle = await this.request<number>('guest-file-open', { path: guestPath, mode: 'w' });
    try {
      let offset = 0;
      while (offset < data.length) {
        const chunk = data.subarray(offset, offset + FILE_WRITE_CHUNK);
        const reply = await this.request<{ count: number; eof: boolean }>('guest-file-write', {
          handle,
          'buf-b64': chunk.toString('base64'),
        });
        // qemu-ga reports what fwrite() wrote; zero would loop forever.
        if (!(reply.count > 0))
          throw new GuestAgentProtocolError(`guest-file-write wrote nothing to ${guestPath}`);
        offset += Math.min(reply.count, chunk.length);
      }
    } catch (err) {
      // The handle would leak in the agent; a close error must not hide the first one.
      await this.request('guest-file-close', { handle }).catch(() => undefined);
      throw err;
    }
    await this.request('guest-file-close', { handle });
    if (mode !== undefined) {
      const octal = (mode & 0o7777).toString(8).padStart(4, '0');
      const chmod = await this.run('/bin/chmod', [octal, guestPath], { timeoutMs: this.requestTimeoutMs });
      if (chmod.exitCode !== 0) {
        throw new GuestAgentError(
          'chmod',
          'GenericError',
          chmod.stderr.toString().trim() || `exit ${chmod.exitCode}`,
        );
      }
    }
  }

  /** Reads a whole file from the guest. */
  async readFile(guestPath: string): Promise<Buffer> {
    const handle = await this.request<number>('guest-file-open', { path: guestPath, mode: 'r' });
    const parts: Buffer[] = [];
    try {
      for (;;) {
        const reply = await this.request<{ count: number; 'buf-b64': string; eof: boolean }>(
          'guest-file-read',
          {
            handle,
            count: FILE_READ_CHUNK,
          },
        );
        parts.push(Buffer.from(reply['buf-b64'], 'base64'));
        if (reply.eof || reply.count === 0) break;
      }
    } catch (err) {
      await this.request('guest-file-close', { handle }).catch(() => undefined);
      throw err;
    }
    await this.request('guest-file-close', { handle });
    return Buffer.concat(parts);
  }

  /** Closes the channel; the request in flight and all queued ones are rejected. */
  async close(): Promise<void> {
    if (!this.isClosed) {
      this.closeReason = 'the guest agent channel was closed by the client';
      this.socket.destroy();
    }
    await this.closedPromise;
  }

  /** Runs `task` after every task queued before it has settled. */
  private serialize<T>(task: () => Promise<T>): Promise<T> {
    const run = (): Promise<T> => (this.isClosed ? Promise.reject(this.disconnectedError()) : task());
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async doSync(timeoutMs: number): Promise<void> {
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

  /** Best effort: true when the kill command itself ran. */
  private async killTree(pid: number): Promise<boolean> {
    try {
      const killer = await this.exec('/bin/sh', ['-c', KILL_TREE_SCRIPT, String(pid)], {
        env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'],
      });
      // Reap both records in the agent: it keeps an exited program's status until asked.
      const deadline = Date.now() + 2000;
      const pending = new Set([killer, pid]);
      while (pending.size > 0 && Date.now() < deadline) {
        for (const p of [...pending]) {
          if ((await this.execStatus(p)).exited) pending.delete(p);
        }
        if (pending.size > 0) await sleep(POLL_MAX_MS);
      }
      return !pending.has(pid);
    } catch {
      return false;
    }
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

function envList(env: GuestEnv): string[] {
  return Array.isArray(env) ? env : Object.entries(env).map(([name, value]) => `${name}=${value}`);
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Quotes a word for a POSIX shell; safe words are left as they are, for readable commands. */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
