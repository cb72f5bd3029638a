// The QEMU child process and the console that comes with it, in the two ways a session runs it
// (qemu-transport.ts):
//  - PtyQemuChild: QEMU on a pty (node-pty); its stdio is the guest's serial console.
//  - PipeQemuChild: QEMU as a plain child process with no pty; the console is a pipe chardev
//    (attached once QEMU has opened it), and what QEMU itself prints (stdout, stderr: its
//    errors) is shown on the console too, as it is on a pty.
// A serial line has no window size (the guest is told through the agent, console-size.ts), so neither
// needs the terminal's size to reach the guest; the pty is given it only to be a sane terminal.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import type { Duplex } from 'node:stream';
import type { IPty } from 'node-pty';

export interface QemuChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface QemuChildSpec {
  file: string;
  args: string[];
  cwd: string;
  cols: number;
  rows: number;
}

/** What QemuProcess needs of its QEMU child. */
export interface QemuChild {
  onConsole(listener: (data: string) => void): void;
  /** Called once, when QEMU has exited. */
  onExit(listener: (exit: QemuChildExit) => void): void;
  write(data: string): void;
  resize(cols: number, rows: number): void;
  /** Flow control: stop reading the console until resume(). */
  pause(): void;
  resume(): void;
  kill(signal: NodeJS.Signals): void;
}

/**
 * If this process dies without stopping the guest, QEMU must not live on: on Linux the kernel
 * kills it (PR_SET_PDEATHSIG through setpriv, which then execs QEMU: same pid); on a pty, its
 * hang-up (SIGHUP when our end closes) ends QEMU too; on Windows libuv puts every child in a job
 * object that is killed when this process ends (JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE).
 */
export function withDeathSignal(qemuBinary: string, args: string[]): [string, string[]] {
  if (process.platform === 'linux' && existsSync('/usr/bin/setpriv')) {
    return ['/usr/bin/setpriv', ['--pdeathsig', 'KILL', '--', qemuBinary, ...args]];
  }
  return [qemuBinary, args];
}

function signalName(signal: number | undefined): NodeJS.Signals | null {
  if (!signal) return null;
  const entry = Object.entries(os.constants.signals).find(([, n]) => n === signal);
  return (entry?.[0] as NodeJS.Signals | undefined) ?? null;
}

/**
 * QEMU on a pty. node-pty is loaded only here: the pipe transport (Windows) never needs it.
 * Required, not imported: an ESM import of a CommonJS package first scans its source for its
 * exports, which made the load ≈ 45 ms instead of ≈ 15 (on every `exec`).
 */
export async function spawnPtyQemu(spec: QemuChildSpec): Promise<QemuChild> {
  const pty = createRequire(import.meta.url)('node-pty') as typeof import('node-pty');
  const [file, argv] = withDeathSignal(spec.file, spec.args);
  return new PtyQemuChild(
    pty.spawn(file, argv, {
      name: 'xterm-256color',
      cols: spec.cols,
      rows: spec.rows,
      cwd: spec.cwd,
      env: process.env as Record<string, string>,
    }),
  );
}

class PtyQemuChild implements QemuChild {
  private exited = false;

  constructor(private readonly pty: IPty) {
    pty.onExit(() => (this.exited = true));
  }

  onConsole(listener: (data: string) => void): void {
    this.pty.onData(listener);
  }

  onExit(listener: (exit: QemuChildExit) => void): void {
    this.pty.onExit(({ exitCode, signal }) => {
      const name = signalName(signal);
      listener({ code: name ? null : exitCode, signal: name });
    });
  }

  write(data: string): void {
    if (!this.exited) this.pty.write(data);
  }

  resize(cols: number, rows: number): void {
    if (!this.exited) this.pty.resize(cols, rows);
  }

  pause(): void {
    this.pty.pause();
  }

  resume(): void {
    this.pty.resume();
  }

  kill(signal: NodeJS.Signals): void {
    this.pty.kill(signal);
  }
}

/** QEMU without a pty; call attachConsole() with its console pipe once QEMU has opened it. */
export function spawnPipeQemu(spec: QemuChildSpec): PipeQemuChild {
  const [file, argv] = withDeathSignal(spec.file, spec.args);
  return new PipeQemuChild(
    spawn(file, argv, { cwd: spec.cwd, stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true }),
  );
}

export class PipeQemuChild implements QemuChild {
  private console?: Duplex;
  /** Keystrokes typed before the console pipe is open: sent when it is. */
  private pending: string[] = [];
  private paused = false;
  private exited = false;
  private readonly consoleListeners: ((data: string) => void)[] = [];

  constructor(private readonly child: ChildProcess) {
    // QEMU's own messages, with the newline a terminal needs (a pty would have added the \r).
    for (const stream of [child.stdout, child.stderr]) {
      stream?.setEncoding('utf8');
      stream?.on('data', (text: string) => this.emit(text.replace(/\r?\n/g, '\r\n')));
    }
    child.on('exit', () => (this.exited = true));
    // A binary that cannot start at all (ENOENT) ends as an exit with no code.
    child.on('error', () => undefined);
  }

  /** The console pipe (qemu-pipe.ts openQemuPipe); it is destroyed with the child's exit. */
  attachConsole(stream: Duplex): void {
    this.console = stream;
    stream.setEncoding('utf8');
    stream.on('data', (text: string) => this.emit(text));
    // QEMU's exit ends the stream (or breaks it, on Windows): its exit is reported by onExit.
    stream.on('error', () => undefined);
    if (this.paused) stream.pause();
    for (const data of this.pending.splice(0)) stream.write(data);
  }

  onConsole(listener: (data: string) => void): void {
    this.consoleListeners.push(listener);
  }

  onExit(listener: (exit: QemuChildExit) => void): void {
    let reported = false;
    const report = (code: number | null, signal: NodeJS.Signals | null) => {
      if (reported) return;
      reported = true;
      listener({ code: signal ? null : code, signal });
    };
    // 'close', not 'exit': QEMU's last words on stderr (why it failed) are shown first.
    this.child.on('close', report);
    this.child.on('error', () => report(null, null));
  }

  write(data: string): void {
    if (this.exited) return;
    if (this.console) this.console.write(data);
    else this.pending.push(data);
  }

  resize(): void {
    // Nothing to resize: no pty. The guest's tty size is set through the agent (console-size.ts).
  }

  pause(): void {
    this.paused = true;
    this.console?.pause();
  }

  resume(): void {
    this.paused = false;
    this.console?.resume();
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  private emit(text: string): void {
    if (text === '') return;
    for (const listener of this.consoleListeners) listener(text);
  }
}
