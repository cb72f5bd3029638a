// The host end of a QEMU `-chardev pipe,path=P` channel, as one Duplex stream.
//
// Windows: QEMU creates the named pipe \\.\pipe\P (one instance, its user's default security
// descriptor) and waits while it starts until one client opens it; Node's net module is that
// client (libuv opens named pipes as it opens unix sockets). ENOENT means "not created yet".
//
// Linux and macOS (the same code path, for tests; see qemu-transport.ts): QEMU opens the FIFOs
// P.in (it reads) and P.out (it writes), both O_RDWR, so it never blocks on them and never sees
// an end of file. The host makes both FIFOs beforehand, mode 0600 in the session's 0700 run
// folder, so no other user can open them. Opening our ends in the right order matters:
//  - A non-blocking write-only open of a FIFO fails with ENXIO until someone has it open for
//    reading, and QEMU is the only one who can: so success on P.in (kept as our write end) and
//    on a probe of P.out (closed at once) proves QEMU has opened both.
//  - Only then is P.out opened read-only. Opened earlier, it would read an end of file at once
//    (no writer yet); opened now, its end of file comes exactly when QEMU exits, after the last
//    bytes it wrote, as a socket's close does.
import { execFile } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import net from 'node:net';
import { Duplex } from 'node:stream';
import { promisify } from 'node:util';
import { connectWithRetry } from './qmp-protocol.ts';

const execFileAsync = promisify(execFile);
const RETRY_MS = 10;

/** The Windows path of QEMU's named pipe `name` (QEMU prefixes \\.\pipe\ itself). */
export function windowsPipePath(name: string): string {
  return `\\\\.\\pipe\\${name}`;
}

/** The two FIFOs QEMU opens for `-chardev pipe,path=base` outside Windows. */
export function fifoPaths(base: string): { toQemu: string; fromQemu: string } {
  return { toQemu: `${base}.in`, fromQemu: `${base}.out` };
}

/** Makes the two FIFOs of `base` with mode 0600 (Node has no mkfifo; coreutils and macOS do). */
export async function makeFifos(base: string): Promise<void> {
  const { toQemu, fromQemu } = fifoPaths(base);
  await execFileAsync('mkfifo', ['-m', '600', toQemu, fromQemu]);
}

export interface OpenPipeOptions {
  platform: NodeJS.Platform;
  /** Give up (rejecting) at this Date.now(). */
  deadline: number;
  /** Stops the retrying at once (the session is going away). */
  signal?: AbortSignal;
}

/** Opens the host end of QEMU's pipe chardev `path`, waiting for QEMU to create or open it. */
export async function openQemuPipe(path: string, opts: OpenPipeOptions): Promise<Duplex> {
  if (opts.platform === 'win32') {
    return connectWithRetry(windowsPipePath(path), opts.deadline, Math.max(opts.deadline - Date.now(), 1));
  }
  const { toQemu, fromQemu } = fifoPaths(path);
  const writeFd = await openWhenQemuReads(toQemu, opts);
  try {
    closeSync(await openWhenQemuReads(fromQemu, opts));
    const readFd = openSync(fromQemu, constants.O_RDONLY | constants.O_NONBLOCK);
    return new FifoDuplex(readFd, writeFd);
  } catch (err) {
    closeSync(writeFd);
    throw err;
  }
}

/** A non-blocking write-only fd of `fifo`, once a reader (QEMU) has it open. */
async function openWhenQemuReads(fifo: string, opts: OpenPipeOptions): Promise<number> {
  for (;;) {
    try {
      return openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENXIO') throw err;
    }
    if (opts.signal?.aborted) throw new Error(`gave up waiting for QEMU to open ${fifo}`);
    if (Date.now() > opts.deadline) throw new Error(`QEMU did not open ${fifo}`);
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
  }
}

/**
 * Two FIFO fds as one Duplex: what QEMU writes comes out of it, what is written to it goes to
 * QEMU. Each fd is a libuv pipe (net.Socket), so reads and writes never block a thread.
 */
export class FifoDuplex extends Duplex {
  private readonly reader: net.Socket;
  private readonly writer: net.Socket;

  constructor(readFd: number, writeFd: number) {
    super();
    this.reader = new net.Socket({ fd: readFd, readable: true, writable: false });
    this.writer = new net.Socket({ fd: writeFd, readable: false, writable: true });
    this.reader.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) this.reader.pause();
    });
    this.reader.on('end', () => this.push(null));
    this.reader.on('error', (err) => this.destroy(err));
    // EPIPE once QEMU has exited (nobody reads P.in any more).
    this.writer.on('error', (err) => this.destroy(err));
  }

  override _read(): void {
    this.reader.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    this.writer.write(chunk, done);
  }

  override _final(done: (err?: Error | null) => void): void {
    this.writer.end(done);
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.reader.destroy();
    this.writer.destroy();
    done(err);
  }
}
