// QemuProcess: one QEMU run, from its run folder to its exit, disposed as a whole.
//
// It owns everything that lives exactly as long as that QEMU: the run folder (a private
// farfetchd-lab-* temp folder with a pid file naming this host process), the qcow2 overlay in
// it, the pty QEMU's console is on, the kernel's own console (hvc0, KernelLogListener), the QMP
// and guest-agent sockets and their clients, and the promise of how QEMU ended. dispose() can be called at any moment, as often as wanted, even
// while launch() is still on its way: it ends QEMU and removes all of it.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import * as pty from 'node-pty';
import type { Accelerator } from './api.ts';
import { findQemu, findQemuImg } from './accel.ts';
import { GuestAgent } from './guest-agent.ts';
import { KernelLogListener } from './kernel-log.ts';
import { buildQemuArgs } from './qemu-args.ts';
import { QmpClient } from './qmp.ts';
import { makeRunFolder } from './run-folders.ts';
import type { QemuExit } from './session-state.ts';

const execFileAsync = promisify(execFile);

/** How long QEMU may take to quit after QMP `quit` before it is killed. */
const QUIT_GRACE_MS = 2000;
/** QEMU creates its sockets while it starts, before the guest runs: this is plenty. */
const SOCKET_TIMEOUT_MS = 10_000;
const SOCKET_POLL_MS = 10;
/** How long an exit waits for QMP's last words (the SHUTDOWN reason) once QEMU is gone. */
const EXIT_REASON_WAIT_MS = 500;

/** Where the overlay (the guest's disk) of a new QemuProcess comes from. */
export type DiskSource =
  /** An empty overlay over the base image: a fresh machine. */
  | { kind: 'fresh' }
  /** A copy of a warm-state file, started from its snapshot `loadvm`. */
  | { kind: 'snapshot'; file: string; loadvm: string }
  /** The overlay of an earlier process of the same machine, moved here (a reboot keeps its disk). */
  | { kind: 'adopt'; file: string };

export interface QemuProcessSpec {
  accel: Accelerator;
  kernelPath: string;
  /** The image's base qcow2; never written. */
  baseDisk: string;
  disk: DiskSource;
  memoryMiB: number;
  cpus: number;
  /** LA57 off in the CPU model: the guest runs 4-level paging. */
  fourLevelPaging?: boolean;
  /** A host folder shared at tag "workspace"; `empty` shares an empty folder (same machine shape). */
  workspace?: string | { empty: true };
  cols: number;
  rows: number;
  env: NodeJS.ProcessEnv;
}

/** What the session asks of the guest agent (GuestAgent has it; unit tests fake it). */
export type SessionAgent = Pick<GuestAgent, 'sync' | 'run' | 'writeFile' | 'ping' | 'close' | 'request'>;

/** What LabSession needs of one QEMU run; QemuProcess is the real one. */
export interface LabProcess {
  /** Resolves once, when QEMU has ended (never rejects). */
  readonly exited: Promise<QemuExit>;
  /** The overlay file, once launch() has made it. */
  readonly overlayPath: string | undefined;
  /** The run folder, once launch() has made it (files QEMU writes for the lab, e.g. pmemsave). */
  readonly runFolder: string | undefined;
  /** A QEMU monitor (HMP) command through QMP, e.g. `xp` to read guest physical memory. */
  monitor(command: string): Promise<string>;
  /** Makes the run folder and overlay, starts QEMU and connects QMP and the agent's socket. */
  launch(): Promise<void>;
  /** The agent's channel (after launch); the agent itself answers once the guest runs it. */
  agent(): SessionAgent;
  /** The student's console (ttyS0): the terminal, and boot markers. Programs write here. */
  onConsole(listener: (data: string) => void): void;
  /** The kernel's own console (hvc0): what only the kernel prints (crashes are read here). */
  onKernelLog(listener: (text: string) => void): void;
  /** QEMU's GUEST_PANICKED event (pvpanic). */
  onGuestPanicked(listener: () => void): void;
  write(data: string): void;
  resize(cols: number, rows: number): void;
  pause(): void;
  resume(): void;
  /** Pauses the vCPUs (a panicked kernel spins forever). */
  freeze(): Promise<void>;
  /** `savevm tag` (HMP reports its errors only in its text, e.g. a mounted 9p share). */
  saveSnapshot(tag: string): Promise<void>;
  /** Asks QEMU to quit and waits for it, keeping the run folder (the overlay is complete then). */
  quit(): Promise<QemuExit>;
  dispose(): Promise<void>;
}

export type ProcessFactory = (spec: QemuProcessSpec) => LabProcess;

export class ProcessDisposedError extends Error {
  override name = 'ProcessDisposedError';
  constructor() {
    super('the QEMU process was disposed');
  }
}

/**
 * If this process dies without stopping the guest, QEMU must not live on: on Linux the kernel
 * kills it (PR_SET_PDEATHSIG through setpriv, which then execs QEMU: same pid); everywhere, the
 * pty's hang-up (SIGHUP when our end closes) ends a console QEMU too.
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

export class QemuProcess implements LabProcess {
  readonly exited: Promise<QemuExit>;
  private resolveExited!: (exit: QemuExit) => void;
  private runDir?: string;
  private overlay?: string;
  private child?: pty.IPty;
  private qmp?: QmpClient;
  private agentClient?: GuestAgent;
  private kernelLog?: KernelLogListener;
  private shutdownReason?: string;
  private hasExited = false;
  private launching?: Promise<void>;
  private disposing?: Promise<void>;
  /** Rejects when dispose() starts, so that every wait in launch() ends at once. */
  private readonly aborted: Promise<never>;
  private abort!: (err: Error) => void;
  /** Rejects when QEMU exits: the one promise every step of launch() races. */
  private readonly endedWhileStarting: Promise<never>;
  private readonly consoleListeners: ((data: string) => void)[] = [];
  private readonly kernelLogListeners: ((text: string) => void)[] = [];
  private readonly panicListeners: (() => void)[] = [];

  constructor(private readonly spec: QemuProcessSpec) {
    this.exited = new Promise((resolve) => (this.resolveExited = resolve));
    this.aborted = new Promise<never>((_, reject) => (this.abort = reject));
    this.aborted.catch(() => undefined);
    this.endedWhileStarting = this.exited.then((exit): never => {
      throw new Error(`QEMU ended while starting (code ${exit.code}, signal ${exit.signal})`);
    });
    this.endedWhileStarting.catch(() => undefined);
  }

  get overlayPath(): string | undefined {
    return this.overlay;
  }

  get runFolder(): string | undefined {
    return this.runDir;
  }

  launch(): Promise<void> {
    this.launching ??= this.doLaunch();
    return this.launching;
  }

  private async doLaunch(): Promise<void> {
    const { spec } = this;
    // The files are made without racing dispose(): it is quick, and dispose() waits for it so
    // that nothing is written into the run folder after it has been removed.
    this.runDir = await makeRunFolder();
    const overlay = path.join(this.runDir, 'overlay.qcow2');
    // The base image is never written: every machine runs on its own overlay, and a reset is
    // throwing that overlay away.
    if (spec.disk.kind === 'snapshot') await copyFile(spec.disk.file, overlay);
    else if (spec.disk.kind === 'adopt') await rename(spec.disk.file, overlay);
    else {
      const create = ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', spec.baseDisk, overlay];
      await execFileAsync(findQemuImg({ env: spec.env }), create);
    }
    if (this.disposing) throw new ProcessDisposedError();
    this.overlay = overlay;
    let workspace = typeof spec.workspace === 'string' ? spec.workspace : undefined;
    if (typeof spec.workspace === 'object') workspace = this.runDir;
    const qmpPath = path.join(this.runDir, 'qmp.sock');
    const agentPath = path.join(this.runDir, 'agent.sock');
    // Listening before QEMU starts: QEMU connects to it while starting (it will not start
    // without it), so the kernel's first line is never lost.
    this.kernelLog = await this.late(
      KernelLogListener.listen({ kind: 'unix', path: path.join(this.runDir, 'kernel-log.sock') }),
    );
    this.kernelLog.on('data', (text) => {
      for (const listener of this.kernelLogListeners) listener(text);
    });
    const args = buildQemuArgs({
      accel: spec.accel,
      hostPlatform: process.platform as 'linux' | 'darwin' | 'win32',
      kernelPath: spec.kernelPath,
      diskPath: overlay,
      memoryMiB: spec.memoryMiB,
      cpus: spec.cpus,
      fourLevelPaging: spec.fourLevelPaging,
      qmp: { kind: 'unix', path: qmpPath },
      agent: { kind: 'unix', path: agentPath },
      kernelLog: this.kernelLog!.endpoint,
      workspace: workspace ? { hostPath: workspace, tag: 'workspace' } : undefined,
      loadvm: spec.disk.kind === 'snapshot' ? spec.disk.loadvm : undefined,
    });
    this.spawn(findQemu({ env: spec.env }), args);
    this.qmp = await this.connect(qmpPath, (p) => QmpClient.connect(p, { timeoutMs: SOCKET_TIMEOUT_MS }));
    this.qmp.onEvent((event) => {
      if (event.event === 'SHUTDOWN') {
        const reason = (event.data as { reason?: unknown } | undefined)?.reason;
        if (typeof reason === 'string') this.shutdownReason = reason;
      } else if (event.event === 'GUEST_PANICKED') {
        for (const listener of this.panicListeners) listener();
      }
    });
    this.agentClient = await this.connect(agentPath, (p) =>
      GuestAgent.connect(p, { timeoutMs: SOCKET_TIMEOUT_MS }),
    );
  }

  /** An await of launch() that ends when dispose() starts or QEMU exits. */
  private step<T>(promise: Promise<T>): Promise<T> {
    return Promise.race([promise, this.aborted, this.endedWhileStarting]);
  }

  private spawn(qemuBinary: string, args: string[]): void {
    if (this.disposing) throw new ProcessDisposedError();
    const [file, argv] = withDeathSignal(qemuBinary, args);
    const child = pty.spawn(file, argv, {
      name: 'xterm-256color',
      cols: this.spec.cols,
      rows: this.spec.rows,
      cwd: this.runDir,
      env: process.env as Record<string, string>,
    });
    this.child = child;
    child.onData((data) => {
      for (const listener of this.consoleListeners) listener(data);
    });
    child.onExit(({ exitCode, signal }) => {
      this.hasExited = true;
      const name = signalName(signal);
      // QEMU sends SHUTDOWN before it exits, but the two reach us by different paths: the QMP
      // socket's close comes after all its data, so wait for it (briefly) to know the reason.
      // The timer is cleared then: a CLI whose QEMU has ended must not linger for it.
      let timer: NodeJS.Timeout | undefined;
      const waited = new Promise((resolve) => (timer = setTimeout(resolve, EXIT_REASON_WAIT_MS)));
      void Promise.race([this.qmp?.closed ?? Promise.resolve(), waited]).then(() => {
        clearTimeout(timer);
        this.resolveExited({
          code: name ? null : exitCode,
          signal: name,
          ...(this.shutdownReason ? { shutdownReason: this.shutdownReason } : {}),
        });
      });
    });
  }

  /** Waits for QEMU to create the socket, then connects; a client that comes too late is closed. */
  private async connect<T extends { close(): Promise<void> }>(
    socketPath: string,
    open: (socketPath: string) => Promise<T>,
  ): Promise<T> {
    const deadline = Date.now() + SOCKET_TIMEOUT_MS;
    while (!existsSync(socketPath)) {
      if (Date.now() > deadline) throw new Error(`QEMU did not create ${path.basename(socketPath)}`);
      // Checked, not raced: a race per poll would add a reaction to `exited` every 10 ms.
      if (this.disposing || this.hasExited) return this.step(new Promise<never>(() => {}));
      await new Promise((resolve) => setTimeout(resolve, SOCKET_POLL_MS));
    }
    return this.late(open(socketPath));
  }

  /** A step whose result must be closed if it only arrives after dispose() has begun. */
  private late<T extends { close(): Promise<void> }>(opening: Promise<T>): Promise<T> {
    opening.then(
      (client) => {
        if (this.disposing) void client.close().catch(() => undefined);
      },
      () => undefined,
    );
    return this.step(opening);
  }

  agent(): SessionAgent {
    if (!this.agentClient) throw new Error('the guest agent is not connected yet');
    return this.agentClient;
  }

  onConsole(listener: (data: string) => void): void {
    this.consoleListeners.push(listener);
  }

  onKernelLog(listener: (text: string) => void): void {
    this.kernelLogListeners.push(listener);
  }

  onGuestPanicked(listener: () => void): void {
    this.panicListeners.push(listener);
  }

  write(data: string): void {
    if (!this.hasExited) this.child?.write(data);
  }

  resize(cols: number, rows: number): void {
    if (!this.hasExited) this.child?.resize(cols, rows);
  }

  pause(): void {
    this.child?.pause();
  }

  resume(): void {
    this.child?.resume();
  }

  async freeze(): Promise<void> {
    await this.qmp?.execute('stop');
  }

  async monitor(command: string): Promise<string> {
    if (!this.qmp) throw new Error('QMP is not connected');
    return this.qmp.humanMonitorCommand(command);
  }

  async saveSnapshot(tag: string): Promise<void> {
    if (!this.qmp) throw new Error('QMP is not connected');
    const text = await this.qmp.humanMonitorCommand(`savevm ${tag}`);
    if (text.trim() !== '') throw new Error(`savevm: ${text.trim()}`);
  }

  async quit(): Promise<QemuExit> {
    await this.endQemu();
    return this.exited;
  }

  /** Asks QEMU to quit and waits for its exit, killing one that does not quit (or has no QMP). */
  private async endQemu(): Promise<void> {
    const child = this.child;
    if (!child || this.hasExited) return;
    if (!this.qmp) {
      // Nobody to ask: waiting could only waste seconds.
      child.kill('SIGKILL');
      await this.exited;
      return;
    }
    // A wedged main loop never quits: it is killed after a grace.
    const timer = setTimeout(() => child.kill('SIGKILL'), QUIT_GRACE_MS);
    await this.qmp.execute('quit').catch(() => undefined);
    await this.exited;
    clearTimeout(timer);
  }

  dispose(): Promise<void> {
    this.disposing ??= this.doDispose();
    return this.disposing;
  }

  private async doDispose(): Promise<void> {
    this.abort(new ProcessDisposedError());
    await this.launching?.catch(() => undefined);
    // The overlay is thrown away, so there is nothing to flush: quit at once.
    await this.endQemu();
    await this.agentClient?.close().catch(() => undefined);
    await this.qmp?.close().catch(() => undefined);
    // After QEMU's exit, so that everything the kernel printed has been read.
    await this.kernelLog?.close();
    if (this.runDir) await rm(this.runDir, { recursive: true, force: true });
  }
}

export const createQemuProcess: ProcessFactory = (spec) => new QemuProcess(spec);
