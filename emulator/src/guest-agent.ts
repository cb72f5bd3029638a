// A client for qemu-guest-agent (qemu-ga): programs (guest-exec, its status, a run to the end
// with a timeout that kills the program's tree) and whole files (guest-file-*), over the
// resynchronising, one-request-at-a-time channel of guest-agent-channel.ts.
import type { Duplex } from 'node:stream';
import type { JsonObject } from './qmp-protocol.ts';
import {
  GuestAgentAbandonedError,
  GuestAgentChannel,
  GuestAgentDisconnectedError,
  GuestAgentError,
  GuestAgentProtocolError,
  GuestAgentTimeoutError,
  type GuestAgentAddress,
  type GuestAgentConnectOptions,
} from './guest-agent-channel.ts';

export {
  GuestAgentAbandonedError,
  GuestAgentDisconnectedError,
  GuestAgentError,
  GuestAgentProtocolError,
  GuestAgentTimeoutError,
  type GuestAgentAddress,
  type GuestAgentConnectOptions,
};

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

/** Write chunk: 48 KiB is 64 KiB of base64, far below qemu-ga's request size limits. */
export const FILE_WRITE_CHUNK = 48 * 1024;
/** Read chunk: qemu-ga allows up to 48 MiB per guest-file-read; 1 MiB keeps replies modest. */
const FILE_READ_CHUNK = 1024 * 1024;
/** guest-exec-status polling: a few ms per round trip, so short programs finish fast. */
const POLL_FIRST_MS = 2;
const POLL_MAX_MS = 20;

/** Kills a process tree: stop the parent first so that it cannot start new children. */
const KILL_TREE_SCRIPT =
  't() { kill -STOP "$1" 2>/dev/null; for c in $(pgrep -P "$1" 2>/dev/null); do t "$c"; done; ' +
  'kill -KILL "$1" 2>/dev/null; }; t "$0"';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class GuestAgent {
  private constructor(private readonly channel: GuestAgentChannel) {}

  /**
   * Connects to the host end of the agent's port, waiting for QEMU to create the socket.
   * The agent itself may not be running yet: call sync() to wait for it.
   */
  static async connect(address: GuestAgentAddress, opts: GuestAgentConnectOptions = {}): Promise<GuestAgent> {
    return new GuestAgent(await GuestAgentChannel.connect(address, opts));
  }

  /** The agent over a stream that is already open (a QEMU `-chardev pipe`). */
  static open(stream: Duplex, opts: Pick<GuestAgentConnectOptions, 'requestTimeoutMs'> = {}): GuestAgent {
    return new GuestAgent(GuestAgentChannel.open(stream, opts));
  }

  /** Resolves once the channel has closed. */
  get closed(): Promise<void> {
    return this.channel.closed;
  }

  /**
   * Waits until the agent answers guest-sync-delimited (the guest has booted far enough to run
   * qemu-ga), resending the sync with a new id until `timeoutMs` has passed.
   */
  sync(timeoutMs?: number): Promise<void> {
    return this.channel.sync(timeoutMs);
  }

  /** Gives up on every request in flight or queued; see GuestAgentChannel.abandonPending. */
  abandonPending(reason: string): void {
    this.channel.abandonPending(reason);
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
    return this.channel.request<T>(command, args, opts);
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
      const chmod = await this.run('/bin/chmod', [octal, guestPath], {
        timeoutMs: this.channel.requestTimeoutMs,
      });
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
  close(): Promise<void> {
    return this.channel.close();
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
}

function envList(env: GuestEnv): string[] {
  return Array.isArray(env) ? env : Object.entries(env).map(([name, value]) => `${name}=${value}`);
}

/** Quotes a word for a POSIX shell; safe words are left as they are, for readable commands. */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
