// QemuProcess: one QEMU run, from its run folder to its exit, disposed as a whole.
//
// It owns everything that lives exactly as long as that QEMU: the run folder (a private
// farfetchd-lab-* temp folder with a pid file naming this host process), the qcow2 overlay in
// it, the QEMU child and its console (a pty, or a pipe: qemu-child.ts), the kernel's own console
// (hvc0, KernelLogListener), the QMP and guest-agent channels (unix sockets, or pipes: see
// qemu-transport.ts) and their clients, and the promise of how QEMU ended. dispose() can be
// called at any moment, as often as wanted, even while launch() is still on its way: it ends
// QEMU and removes all of it.
import { existsSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { findQemu, labCacheDir } from './accel.ts';
import { diskAioForStart } from './disk-aio.ts';
import { GuestAgent } from './guest-agent.ts';
import { KernelLogListener } from './kernel-log.ts';
import { tcgLoopsPerJiffy } from './kernel-cmdline.ts';
import { buildQemuArgs, type HostPlatform } from './qemu-args.ts';
import { spawnPipeQemu, spawnPtyQemu, type PipeQemuChild, type QemuChild } from './qemu-child.ts';
import { makeOverlay } from './overlay.ts';
import { makeFifos, openQemuPipe } from './qemu-pipe.ts';
import type { LabProcess, ProcessFactory, QemuProcessSpec, SessionAgent } from './lab-process.ts';
import { channelEndpoints, chooseTransport, type ChannelEndpoints } from './qemu-transport.ts';
import { hmpError, QmpClient } from './qmp.ts';
import { makeRunFolder, makeSpare, runFolderParent } from './run-folders.ts';
import type { QemuExit } from './session-state.ts';

export { withDeathSignal } from './qemu-child.ts';
export { hmpError } from './qmp.ts';
export type { DiskSource, LabProcess, ProcessFactory, QemuProcessSpec, SessionAgent } from './lab-process.ts';

/** How long QEMU may take to quit after QMP `quit` before it is killed. */
const QUIT_GRACE_MS = 2000;
/** QEMU creates its sockets while it starts, before the guest runs: this is plenty. */
const SOCKET_TIMEOUT_MS = 10_000;
const SOCKET_POLL_MS = 10;
/** How much of the console's start is kept to tell why QEMU failed to start. */
const START_OUTPUT_KEPT = 8192;
/** How long an exit waits for QMP's last words (the SHUTDOWN reason) once QEMU is gone. */
const EXIT_REASON_WAIT_MS = 500;

export class ProcessDisposedError extends Error {
  override name = 'ProcessDisposedError';
  constructor() {
    super('the QEMU process was disposed');
  }
}

export class QemuProcess implements LabProcess {
  readonly exited: Promise<QemuExit>;
  private resolveExited!: (exit: QemuExit) => void;
  private runDir?: string;
  private overlay?: string;
  /** Where a `resume` disk goes back to on disposal, until consumeDisk(). */
  private giveBackTo?: string;
  private child?: QemuChild;
  /** Every pipe opened for this run, destroyed with it (a client may never have taken one). */
  private readonly pipes: Duplex[] = [];
  /** Stops the pipe opens' retrying once dispose() starts or QEMU has exited. */
  private readonly pipeRetries = new AbortController();
  private qmp?: QmpClient;
  private agentClient?: GuestAgent;
  private kernelLog?: KernelLogListener;
  private shutdownReason?: string;
  private hasExited = false;
  private launching?: Promise<void>;
  private sparing?: Promise<void>;
  private disposing?: Promise<void>;
  /** Rejects when dispose() starts, so that every wait in launch() ends at once. */
  private readonly aborted: Promise<never>;
  private abort!: (err: Error) => void;
  /** Rejects when QEMU exits: the one promise every step of launch() races. */
  private readonly endedWhileStarting: Promise<never>;
  private readonly consoleListeners: ((data: string) => void)[] = [];
  /** The console's first words (QEMU's own, when it fails to start). */
  private startOutput = '';
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
    this.runDir = await makeRunFolder(runFolderParent(spec.disk));
    if (spec.disk.kind === 'resume') this.giveBackTo = spec.disk.file;
    const qemu = findQemu({ env: spec.env });
    // Chosen while the overlay is made: a first start on this host probes.
    const aio = diskAioForStart(spec.diskAio, { qemuBinary: qemu, cacheDir: labCacheDir(spec.env) });
    const overlay = path.join(this.runDir, 'overlay.qcow2');
    await makeOverlay(spec, overlay);
    if (this.disposing) throw new ProcessDisposedError();
    this.overlay = overlay;
    let workspace = typeof spec.workspace === 'string' ? spec.workspace : undefined;
    if (typeof spec.workspace === 'object') workspace = this.runDir;
    const platform = process.platform as HostPlatform;
    const transport = chooseTransport(process.platform, spec.env, spec.transport);
    const channels = channelEndpoints(transport, this.runDir, platform);
    if (channels.kernelLog.kind === 'unix') {
      // Listening before QEMU starts: QEMU connects to it while starting (it will not start
      // without it), so the kernel's first line is never lost.
      this.kernelLog = await this.late(KernelLogListener.listen(channels.kernelLog));
      this.forwardKernelLog(this.kernelLog);
    } else if (platform !== 'win32') {
      for (const channel of [channels.qmp, channels.agent, channels.kernelLog, channels.console!]) {
        await makeFifos(channel.path);
      }
    }
    const args = buildQemuArgs({
      accel: spec.accel,
      hostPlatform: platform,
      kernelPath: spec.kernelPath,
      diskPath: overlay,
      memoryMiB: spec.memoryMiB,
      cpus: spec.cpus,
      fourLevelPaging: spec.fourLevelPaging,
      loopsPerJiffy: tcgLoopsPerJiffy(process.arch, os.cpus()[0]?.speed),
      qmp: channels.qmp,
      agent: channels.agent,
      kernelLog: channels.kernelLog,
      console: channels.console ?? 'stdio',
      workspace: workspace ? { hostPath: workspace, tag: 'workspace' } : undefined,
      loadvm: spec.disk.kind === 'snapshot' || spec.disk.kind === 'resume' ? spec.disk.loadvm : undefined,
      diskAio: await aio.engine,
    });
    try {
      if (transport === 'pipe') await this.launchOverPipes(qemu, args, channels);
      else await this.launchOverSockets(qemu, args, channels);
    } catch (err) {
      throw await aio.failed(err as Error, this.startOutput);
    }
    this.qmp!.onEvent((event) => {
      if (event.event === 'SHUTDOWN') {
        const reason = (event.data as { reason?: unknown } | undefined)?.reason;
        if (typeof reason === 'string') this.shutdownReason = reason;
      } else if (event.event === 'GUEST_PANICKED') {
        for (const listener of this.panicListeners) listener();
      }
    });
  }

  private async launchOverSockets(qemu: string, args: string[], channels: ChannelEndpoints): Promise<void> {
    this.spawn(await spawnPtyQemu(this.childSpec(qemu, args)));
    const qmpPath = channels.qmp.path;
    this.qmp = await this.connect(qmpPath, (p) => QmpClient.connect(p, { timeoutMs: SOCKET_TIMEOUT_MS }));
    this.agentClient = await this.connect(channels.agent.path, (p) =>
      GuestAgent.connect(p, { timeoutMs: SOCKET_TIMEOUT_MS }),
    );
  }

  /**
   * QEMU opens its pipes while it starts (on Windows it waits for us on each in turn), so all
   * four are opened at once; the clients run on them as on sockets.
   */
  private async launchOverPipes(qemu: string, args: string[], channels: ChannelEndpoints): Promise<void> {
    if (this.disposing) throw new ProcessDisposedError();
    const child: PipeQemuChild = spawnPipeQemu(this.childSpec(qemu, args));
    this.spawn(child);
    const open = (channel: { path: string }) =>
      this.step(
        openQemuPipe(channel.path, {
          platform: process.platform,
          deadline: Date.now() + SOCKET_TIMEOUT_MS,
          signal: this.pipeRetries.signal,
        }).then((stream) => {
          this.pipes.push(stream);
          if (this.disposing) stream.destroy();
          return stream;
        }),
      );
    const [qmp, agent, kernelLog, console] = await Promise.all(
      [channels.qmp, channels.agent, channels.kernelLog, channels.console!].map(open),
    );
    this.kernelLog = KernelLogListener.attach(
      kernelLog!,
      channels.kernelLog as { kind: 'pipe'; path: string },
    );
    this.forwardKernelLog(this.kernelLog);
    child.attachConsole(console!);
    this.qmp = await this.late(QmpClient.open(qmp!, { timeoutMs: SOCKET_TIMEOUT_MS }));
    this.agentClient = GuestAgent.open(agent!);
  }

  private childSpec(file: string, args: string[]) {
    return { file, args, cwd: this.runDir!, cols: this.spec.cols, rows: this.spec.rows };
  }

  private forwardKernelLog(kernelLog: KernelLogListener): void {
    kernelLog.on('data', (text) => {
      for (const listener of this.kernelLogListeners) listener(text);
    });
  }

  /** An await of launch() that ends when dispose() starts or QEMU exits. */
  private step<T>(promise: Promise<T>): Promise<T> {
    return Promise.race([promise, this.aborted, this.endedWhileStarting]);
  }

  private spawn(child: QemuChild): void {
    if (this.disposing) {
      child.kill('SIGKILL');
      throw new ProcessDisposedError();
    }
    this.child = child;
    child.onConsole((data) => {
      if (this.startOutput.length < START_OUTPUT_KEPT) this.startOutput += data;
      for (const listener of this.consoleListeners) listener(data);
    });
    child.onExit((exit) => {
      this.hasExited = true;
      this.pipeRetries.abort();
      // QEMU sends SHUTDOWN before it exits, but the two reach us by different paths: the QMP
      // channel's close comes after all its data, so wait for it (briefly) to know the reason.
      // The timer is cleared then: a CLI whose QEMU has ended must not linger for it.
      let timer: NodeJS.Timeout | undefined;
      const waited = new Promise((resolve) => (timer = setTimeout(resolve, EXIT_REASON_WAIT_MS)));
      void Promise.race([this.qmp?.closed ?? Promise.resolve(), waited]).then(() => {
        clearTimeout(timer);
        this.resolveExited({
          ...exit,
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

  async loadSnapshot(tag: string): Promise<void> {
    if (!this.qmp) throw new Error('QMP is not connected');
    const text = await this.qmp.humanMonitorCommand(`loadvm ${tag}`);
    if (text.trim() !== '') throw new Error(`loadvm: ${hmpError(text)}`);
    // loadvm leaves a machine that was paused (a frozen, panicked guest) paused.
    await this.qmp.execute('cont');
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

  /** Makes the next warm start's disk ahead (run-folders.ts), once; the disposal waits for it. */
  prepareNextStart(): void {
    if (this.spec.disk.kind !== 'snapshot' || this.sparing || this.disposing) return;
    this.sparing = makeSpare(this.spec.disk.file).catch(() => undefined);
  }

  consumeDisk(): void {
    this.giveBackTo = undefined;
  }

  /** A resumed machine that never became its user's: its disk back to the saved session. */
  private async giveBackDisk(): Promise<void> {
    if (!this.giveBackTo || !this.runDir) return;
    const disk = path.join(this.runDir, 'overlay.qcow2');
    if (existsSync(disk) && !existsSync(this.giveBackTo)) await rename(disk, this.giveBackTo).catch(() => {});
  }

  dispose(): Promise<void> {
    this.disposing ??= this.doDispose();
    return this.disposing;
  }

  private async doDispose(): Promise<void> {
    this.abort(new ProcessDisposedError());
    this.pipeRetries.abort();
    await this.launching?.catch(() => undefined);
    // The overlay is thrown away, so there is nothing to flush: quit at once.
    await this.endQemu();
    await this.agentClient?.close().catch(() => undefined);
    await this.qmp?.close().catch(() => undefined);
    // After QEMU's exit, so that everything the kernel printed has been read.
    await this.kernelLog?.close();
    for (const pipe of this.pipes) pipe.destroy();
    await this.giveBackDisk();
    await this.sparing;
    if (this.runDir) await rm(this.runDir, { recursive: true, force: true });
  }
}

export const createQemuProcess: ProcessFactory = (spec) => new QemuProcess(spec);
