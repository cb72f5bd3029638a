// A client for the QEMU Machine Protocol, in the manner of QEMU's own python/qemu/qmp
// (protocol.py, qmp_client.py):
//
//   connecting ──greeting + qmp_capabilities──▶ running ──socket closed / close()──▶ disconnected
//
// Every command carries a unique `id` and waits in `pending` until the reply with that id
// arrives; replies may come in any order and events may arrive between them. When the
// connection ends, for whatever reason, every pending call is rejected with
// QmpDisconnectedError, so no caller is ever left waiting on a dead QEMU.
//
// The wire format is one JSON object per line (QEMU ends lines with "\r\n"), cut by
// qmp-protocol.ts's LineSplitter; the message types and the errors are defined there too and
// exported from here as well, so that callers import one module.
import type { Duplex } from 'node:stream';
import {
  describeAddress,
  connectWithRetry,
  isObject,
  LineSplitter,
  QmpCommandError,
  QmpConnectError,
  QmpDisconnectedError,
  QmpError,
  QmpProtocolError,
  QmpTimeoutError,
  type JsonObject,
  type QmpAddress,
  type QmpConnectOptions,
  type QmpEvent,
  type QmpGreeting,
  type QmpRunstate,
} from './qmp-protocol.ts';
import { EventStream } from './qmp-event-stream.ts';

export {
  connectWithRetry,
  QmpCommandError,
  QmpConnectError,
  QmpDisconnectedError,
  QmpError,
  QmpProtocolError,
  QmpTimeoutError,
  type QmpAddress,
  type QmpConnectOptions,
  type QmpEvent,
  type QmpGreeting,
  type QmpRunstate,
};

interface PendingCall {
  command: string;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

/** 10 MiB without a newline is not QMP: the same limit as QEMU's python client and libvirt. */
const MAX_LINE_BYTES = 10 * 1024 * 1024;
const DEFAULT_CONNECT_TIMEOUT_MS = 5000;

export class QmpClient {
  private state: QmpRunstate = 'connecting';
  private greetingValue?: QmpGreeting;
  private greetingWaiter?: { resolve: (g: QmpGreeting) => void; reject: (e: Error) => void };
  private readonly pending = new Map<string, PendingCall>();
  private nextId = 0;
  private readonly listeners = new Set<(event: QmpEvent) => void>();
  private readonly streams = new Set<EventStream>();
  private readonly lines = new LineSplitter(MAX_LINE_BYTES);
  /** Why the connection ended, once it has; given to every call that was or will be refused. */
  private closeReason?: Error;
  private readonly closedPromise: Promise<void>;
  private resolveClosed!: () => void;

  private constructor(private readonly stream: Duplex) {
    this.closedPromise = new Promise((resolve) => (this.resolveClosed = resolve));
    stream.on('data', (chunk: Buffer) => this.onData(chunk));
    // A stream error is always followed by 'close'; keep it as the reason given to callers.
    stream.on('error', (err) => {
      this.closeReason ??= new QmpDisconnectedError(`QMP connection failed: ${err.message}`, { cause: err });
    });
    // The peer hung up: nothing more can arrive, so end our side too (a child's stdio pair
    // would otherwise stay half open).
    stream.on('end', () => stream.destroy());
    stream.on('close', () => this.onClose());
  }

  /**
   * Connects to QEMU's QMP socket, waiting for QEMU to create it (it appears shortly after
   * QEMU starts), then reads the greeting and negotiates capabilities.
   */
  static async connect(address: QmpAddress, opts: QmpConnectOptions = {}): Promise<QmpClient> {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const deadline = Date.now() + timeoutMs;
    const socket = await connectWithRetry(address, deadline, timeoutMs);
    return QmpClient.handshake(socket, Math.max(deadline - Date.now(), 0), describeAddress(address));
  }

  /**
   * Runs QMP over an already open stream, e.g. a child's stdio for `-qmp stdio`
   * (`Duplex.from({ readable: child.stdout, writable: child.stdin })`).
   */
  static async open(stream: Duplex, opts: QmpConnectOptions = {}): Promise<QmpClient> {
    return QmpClient.handshake(stream, opts.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, 'the QMP stream');
  }

  private static async handshake(stream: Duplex, timeoutMs: number, where: string): Promise<QmpClient> {
    const client = new QmpClient(stream);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(new QmpConnectError(`no QMP greeting and negotiation from ${where} within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      await Promise.race([client.negotiate(), timeout]);
      return client;
    } catch (err) {
      stream.destroy();
      if (err instanceof QmpConnectError) throw err;
      const message = err instanceof Error ? err.message : String(err);
      throw new QmpConnectError(`QMP handshake with ${where} failed: ${message}`, { cause: err });
    } finally {
      clearTimeout(timer);
    }
  }

  private async negotiate(): Promise<void> {
    await new Promise<QmpGreeting>((resolve, reject) => {
      if (this.state === 'disconnected') {
        reject(this.disconnectedError());
        return;
      }
      this.greetingWaiter = { resolve, reject };
    });
    // The 'oob' capability the greeting offers is not enabled: it only matters for
    // out-of-band commands, which this client does not send.
    await this.execute('qmp_capabilities');
    this.state = 'running';
  }

  get runstate(): QmpRunstate {
    return this.state;
  }

  /** The greeting QEMU sent (its version and capabilities). */
  get greeting(): QmpGreeting {
    if (!this.greetingValue) throw new QmpError('no QMP greeting received yet');
    return this.greetingValue;
  }

  /** Resolves once the connection has ended, whichever side ended it. */
  get closed(): Promise<void> {
    return this.closedPromise;
  }

  /**
   * Runs one command. Resolves with its `return` value; rejects with QmpCommandError when
   * QEMU answers with an error, and QmpDisconnectedError when the connection ends first.
   */
  execute<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T> {
    if (this.state === 'disconnected') return Promise.reject(this.disconnectedError());
    // The same form as QEMU's python client; any JSON value would do, QEMU echoes it back.
    const id = `__qmp#${String(this.nextId++).padStart(5, '0')}`;
    const message: JsonObject = { execute: command, id };
    if (args !== undefined) message.arguments = args;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { command, resolve: resolve as (value: unknown) => void, reject });
      // A failed write (EPIPE: QEMU has exited) makes Node destroy the socket, dropping any
      // reply not yet read, and 'close' then rejects this call with the rest. So a command
      // written right behind `quit` can cost the reply to `quit` itself: don't pipeline there.
      this.stream.write(JSON.stringify(message) + '\n');
    });
  }

  /** Runs a monitor (HMP) command line such as "savevm base" and returns its text output. */
  async humanMonitorCommand(commandLine: string): Promise<string> {
    return this.execute<string>('human-monitor-command', { 'command-line': commandLine });
  }

  /** Calls `listener` for every event from now on; returns the function that stops it. */
  onEvent(listener: (event: QmpEvent) => void): () => void {
    // Wrapped so that the same function can subscribe twice and unsubscribe independently.
    const entry = (event: QmpEvent): void => listener(event);
    this.listeners.add(entry);
    return () => this.listeners.delete(entry);
  }

  /**
   * The events that arrive from now on, as an async iterator; it ends when the connection
   * ends. Breaking out of a `for await` loop unsubscribes it.
   */
  events(): AsyncIterableIterator<QmpEvent> {
    const stream = new EventStream(() => this.streams.delete(stream));
    if (this.state === 'disconnected') stream.end();
    else this.streams.add(stream);
    return stream;
  }

  /**
   * Waits for the next event with this name (or matching this predicate). Rejects with
   * QmpTimeoutError after `timeoutMs`, or QmpDisconnectedError if the connection ends first.
   */
  waitForEvent(
    match: string | ((event: QmpEvent) => boolean),
    opts: { timeoutMs?: number } = {},
  ): Promise<QmpEvent> {
    const test = typeof match === 'string' ? (e: QmpEvent) => e.event === match : match;
    const name = typeof match === 'string' ? `${match} event` : 'matching event';
    if (this.state === 'disconnected') return Promise.reject(this.disconnectedError());
    return new Promise<QmpEvent>((resolve, reject) => {
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const settle = (finish: () => void): void => {
        if (settled) return;
        settled = true;
        unsubscribe();
        clearTimeout(timer);
        finish();
      };
      const unsubscribe = this.onEvent((event) => {
        if (test(event)) settle(() => resolve(event));
      });
      void this.closedPromise.then(() => settle(() => reject(this.disconnectedError())));
      if (opts.timeoutMs !== undefined) {
        const ms = opts.timeoutMs;
        timer = setTimeout(() => settle(() => reject(new QmpTimeoutError(`no ${name} within ${ms} ms`))), ms);
      }
    });
  }

  /** Ends the connection; pending calls are rejected with QmpDisconnectedError. */
  async close(): Promise<void> {
    if (this.state !== 'disconnected') {
      this.closeReason ??= new QmpDisconnectedError('QMP connection closed by the client');
      this.stream.destroy();
    }
    await this.closedPromise;
  }

  private onData(chunk: Buffer): void {
    const fits = this.lines.push(chunk, (line) => {
      this.onLine(line);
      return this.state !== 'disconnected' && !this.stream.destroyed;
    });
    if (!fits) this.fail(new QmpProtocolError(`a QMP message longer than ${MAX_LINE_BYTES} bytes`));
  }

  private onLine(line: string): void {
    const text = line.trim();
    if (text === '') return;
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      this.fail(new QmpProtocolError(`QEMU sent a line that is not JSON: ${text.slice(0, 200)}`));
      return;
    }
    if (!isObject(message)) {
      this.fail(new QmpProtocolError(`QEMU sent JSON that is not an object: ${text.slice(0, 200)}`));
      return;
    }
    this.onMessage(message, text);
  }

  private onMessage(message: JsonObject, text: string): void {
    if ('QMP' in message) {
      if (this.greetingValue) {
        this.fail(new QmpProtocolError('QEMU sent a second greeting'));
        return;
      }
      if (!isGreeting(message)) {
        this.fail(new QmpProtocolError(`not a QMP greeting: ${text.slice(0, 200)}`));
        return;
      }
      this.greetingValue = message;
      this.greetingWaiter?.resolve(message);
      this.greetingWaiter = undefined;
      return;
    }
    if (!this.greetingValue) {
      this.fail(new QmpProtocolError(`expected the QMP greeting, got: ${text.slice(0, 200)}`));
      return;
    }
    if (typeof message.event === 'string') {
      this.dispatchEvent(message as unknown as QmpEvent);
      return;
    }
    if (!('id' in message)) {
      if ('error' in message) {
        // An error without an id means QEMU could not parse what we sent, so it cannot be
        // matched to a call; like QEMU's python client, treat the stream as broken.
        const desc = isObject(message.error) ? String(message.error.desc) : text;
        this.fail(new QmpProtocolError(`QEMU could not parse a command: ${desc}`));
      }
      return;
    }
    const id = typeof message.id === 'string' ? message.id : JSON.stringify(message.id);
    const call = this.pending.get(id);
    // qmp-spec: "Clients should drop all the responses that have an unknown id field."
    if (!call) return;
    this.pending.delete(id);
    if ('return' in message) {
      call.resolve(message.return);
    } else if (isObject(message.error)) {
      call.reject(new QmpCommandError(call.command, String(message.error.class), String(message.error.desc)));
    } else {
      call.reject(new QmpProtocolError(`a reply to ${call.command} with neither return nor error: ${text}`));
    }
  }

  private dispatchEvent(event: QmpEvent): void {
    for (const stream of this.streams) stream.push(event);
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch (err) {
        // One faulty listener must not stop the others nor the reader; report it the way
        // EventTarget does, as an uncaught exception.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }

  private fail(error: QmpError): void {
    this.closeReason ??= new QmpDisconnectedError(`QMP connection dropped: ${error.message}`, {
      cause: error,
    });
    this.stream.destroy();
  }

  private disconnectedError(): QmpDisconnectedError {
    const reason = this.closeReason;
    if (reason instanceof QmpDisconnectedError)
      return new QmpDisconnectedError(reason.message, { cause: reason.cause });
    return new QmpDisconnectedError('QMP connection closed', { cause: reason });
  }

  private onClose(): void {
    if (this.state === 'disconnected') return;
    this.state = 'disconnected';
    this.closeReason ??= new QmpDisconnectedError('QMP connection closed by QEMU');
    this.greetingWaiter?.reject(this.disconnectedError());
    this.greetingWaiter = undefined;
    const calls = [...this.pending.values()];
    this.pending.clear();
    for (const call of calls) call.reject(this.disconnectedError());
    for (const stream of this.streams) stream.end();
    this.streams.clear();
    this.listeners.clear();
    this.resolveClosed();
  }
}

function isGreeting(message: JsonObject): message is JsonObject & QmpGreeting {
  const qmp = message.QMP;
  return (
    isObject(qmp) && isObject(qmp.version) && isObject(qmp.version.qemu) && Array.isArray(qmp.capabilities)
  );
}

/**
 * HMP's answer to savevm/loadvm, which print nothing on success and their error otherwise
 * ("Error: Snapshot 'x' does not exist in one or more devices\r\n"), as one line.
 */
export function hmpError(text: string): string {
  return text
    .trim()
    .replace(/^Error:\s*/, '')
    .replace(/\s*\r?\n\s*/g, '; ');
}
