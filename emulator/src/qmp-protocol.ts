// QMP's wire and its vocabulary, below the client (qmp.ts), as QEMU's python/qemu/qmp keeps
// protocol.py apart from qmp_client.py: the message types, the error hierarchy, the framing (one
// JSON object per line, cut on raw bytes) and connecting to a socket that may not exist yet.
import net from 'node:net';

/** A unix socket path or a Windows named pipe (\\.\pipe\…), or a TCP port (fake peers in tests). */
export type QmpAddress = string | { host: string; port: number };

export interface QmpGreeting {
  QMP: {
    version: { qemu: { major: number; minor: number; micro: number }; package: string };
    capabilities: string[];
  };
}

export interface QmpEvent {
  /** e.g. "SHUTDOWN", "RESET", "STOP", "RESUME", "GUEST_PANICKED". */
  event: string;
  data?: Record<string, unknown>;
  timestamp: { seconds: number; microseconds: number };
}

export type QmpRunstate = 'connecting' | 'running' | 'disconnected';

export interface QmpConnectOptions {
  /** Time allowed for the socket to appear, the greeting and the negotiation together. */
  timeoutMs?: number;
}

/** Base class of every error this module throws. */
export class QmpError extends Error {
  override name = 'QmpError';
}

/** QEMU answered a command with an error reply. */
export class QmpCommandError extends QmpError {
  override name = 'QmpCommandError';
  /** QMP's error class, e.g. "GenericError", "CommandNotFound", "DeviceNotFound". */
  readonly class: string;

  constructor(
    /** The command that failed. */
    readonly command: string,
    errorClass: string,
    /** QEMU's human-readable description. */
    readonly desc: string,
  ) {
    super(`${command}: ${desc} (${errorClass})`);
    this.class = errorClass;
  }
}

/** The connection ended before a reply arrived, or the call was made after it ended. */
export class QmpDisconnectedError extends QmpError {
  override name = 'QmpDisconnectedError';
}

/** Connecting failed: no socket before the deadline, no greeting, or negotiation refused. */
export class QmpConnectError extends QmpError {
  override name = 'QmpConnectError';
}

/** The peer sent something that is not QMP; the connection is dropped when this happens. */
export class QmpProtocolError extends QmpError {
  override name = 'QmpProtocolError';
}

export class QmpTimeoutError extends QmpError {
  override name = 'QmpTimeoutError';
}

export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Cuts a byte stream into lines at "\n". The socket hands us chunks split anywhere, even inside
 * a multi-byte UTF-8 character, so lines are cut on the raw bytes and only whole lines decoded.
 */
export class LineSplitter {
  private partial: Buffer[] = [];
  private partialBytes = 0;

  constructor(private readonly maxLineBytes: number) {}

  /**
   * Calls `onLine` with each whole line of `chunk` (joined to what came before it), until it
   * returns false. Returns false when the unfinished line left over is longer than the limit.
   */
  push(chunk: Buffer, onLine: (line: string) => boolean): boolean {
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf(0x0a, start);
      if (newline < 0) break;
      const piece = chunk.subarray(start, newline);
      const line = this.partial.length ? Buffer.concat([...this.partial, piece]) : piece;
      this.partial = [];
      this.partialBytes = 0;
      start = newline + 1;
      if (!onLine(line.toString('utf8'))) return true;
    }
    if (start < chunk.length) {
      // Copied: the socket may reuse the chunk's memory once this handler returns.
      const rest = Buffer.from(chunk.subarray(start));
      this.partial.push(rest);
      this.partialBytes += rest.length;
      if (this.partialBytes > this.maxLineBytes) return false;
    }
    return true;
  }
}

/** How often to look again for a socket QEMU has not created yet. */
const CONNECT_RETRY_MS = 25;

export function describeAddress(address: QmpAddress): string {
  return typeof address === 'string' ? address : `${address.host}:${address.port}`;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Connects to a unix socket or TCP port, trying again while it does not exist yet (ENOENT)
 * or nobody listens on it yet (ECONNREFUSED), until the deadline. Shared with the guest agent.
 */
export async function connectWithRetry(
  address: QmpAddress,
  deadline: number,
  timeoutMs: number,
): Promise<net.Socket> {
  let lastError: NodeJS.ErrnoException | undefined;
  for (;;) {
    try {
      return await connectOnce(address, deadline);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ECONNREFUSED' && code !== 'ETIMEDOUT') throw err;
      lastError = err as NodeJS.ErrnoException;
    }
    const left = deadline - Date.now();
    if (left <= 0) {
      throw new QmpConnectError(
        `could not connect to ${describeAddress(address)} within ${timeoutMs} ms (${lastError.code ?? lastError.message})`,
        { cause: lastError },
      );
    }
    await sleep(Math.min(CONNECT_RETRY_MS, left));
  }
}

function connectOnce(address: QmpAddress, deadline: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket =
      typeof address === 'string'
        ? net.createConnection(address)
        : net.createConnection(address.port, address.host);
    // A TCP connect can hang (a filtered port); a unix socket connect never does.
    const timer = setTimeout(
      () => {
        socket.destroy();
        reject(Object.assign(new Error('connect timed out'), { code: 'ETIMEDOUT' }));
      },
      Math.max(deadline - Date.now(), 1),
    );
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    });
  });
}
