// LabSession: one guest machine, from QEMU start to stop.
//
//   stopped ──start()──▶ booting ──agent answers──▶ ready ──oops/panic──▶ crashed
//      ▲                    │                         │                     │
//      └──── stop() ◀───────┴─────────────────────────┴────── reset() ──────┘ (→ booting)
//
// The console is a pty (node-pty) so that the guest shell has a real terminal; every
// question about the guest's state goes through the guest agent, never the console text.
// The only thing read from the console is boot progress. Oopses and panics are read from the
// kernel's own console (hvc0, KernelLogListener), which no program writes, and from pvpanic.
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import * as pty from 'node-pty';
import type { AcceleratorInfo, BootStep, CrashInfo, ModuleName, VmState, VmStatus } from './api.ts';
import { detectAccelerator, findQemu, findQemuImg } from './accel.ts';
import { GuestAgent } from './guest-agent.ts';
import { loadImage, type GuestImage } from './image.ts';
import { buildQemuArgs, DEFAULT_KERNEL_CMDLINE, type SocketEndpoint } from './qemu-args.ts';
import { QmpClient } from './qmp.ts';
import { CrashDetector } from './crash.ts';
import { KernelLogListener } from './kernel-log.ts';
import { moduleLoadScript, moduleUnloadScript } from './modules.ts';

const execFileAsync = promisify(execFile);

const WARM_SNAPSHOT = 'lab-ready';

/** Where the snapshot of a freshly booted guest is kept for this image and machine. */
export function warmStatePath(
  image: GuestImage,
  shape: string,
  env: NodeJS.ProcessEnv = process.env,
): string {
  const cache =
    env.FARFETCHD_LAB_CACHE ??
    path.join(env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'farfetchd-lab');
  return path.join(cache, `warm-${image.manifest.key}-${shape}.qcow2`);
}

/**
 * If this process dies without stopping the guest, QEMU must not live on: on Linux the kernel
 * kills it (PR_SET_PDEATHSIG through setpriv); everywhere, the pty's hang-up (SIGHUP when our
 * end closes) ends a console QEMU too.
 */
function withDeathSignal(qemuBinary: string, args: string[]): [string, string[]] {
  if (process.platform === 'linux' && existsSync('/usr/bin/setpriv')) {
    return ['/usr/bin/setpriv', ['--pdeathsig', 'KILL', '--', qemuBinary, ...args]];
  }
  return [qemuBinary, args];
}

/** The kernel log's socket, in the boot's private run folder. */
function kernelLogEndpoint(runDir: string): SocketEndpoint {
  return { kind: 'unix', path: path.join(runDir, 'kernel-log.sock') };
}

function createOverlay(qemuImg: string, base: string, overlay: string): Promise<unknown> {
  return execFileAsync(qemuImg, ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', base, overlay]);
}

export interface LabSessionOptions {
  image?: GuestImage;
  /** Skips the accelerator probe (tests, or a value the caller probed once). */
  accelerator?: AcceleratorInfo;
  memoryMiB?: number;
  cpus?: number;
  /** Host folder shared into the guest at /root/work (virtio-9p). */
  workspace?: string;
  /** How long booting may take before it counts as failed. TCG on 2 cores needs a few seconds. */
  bootTimeoutMs?: number;
  cols?: number;
  rows?: number;
  env?: NodeJS.ProcessEnv;
  /**
   * Boot from a saved snapshot of a freshly booted guest (default on). The first start on a new
   * image boots cold once more to make it; `false` always boots cold.
   */
  warmBoot?: boolean;
}

export interface RunResult {
  exitCode: number;
  signal?: number;
  stdout: Buffer;
  stderr: Buffer;
}

export class LabBootError extends Error {
  constructor(
    message: string,
    /** The end of the kernel's log (its own console, hvc0) from the failed boot. */
    readonly kernelLogTail: string,
  ) {
    super(message);
    this.name = 'LabBootError';
  }
}

export class GuestCommandError extends Error {
  constructor(
    message: string,
    readonly result: RunResult,
  ) {
    super(message);
    this.name = 'GuestCommandError';
  }
}

interface SessionEvents {
  status: [VmStatus];
  console: [string];
  crash: [CrashInfo];
}

/** The environment commands run with through the agent (qemu-ga passes no PATH of its own to gcc & co.). */
export const guestEnv = [
  'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  'HOME=/root',
  'LANG=C.UTF-8',
  'TERM=xterm-256color',
];

export class LabSession extends EventEmitter<SessionEvents> {
  private state: VmState = 'stopped';
  private bootSteps: { step: BootStep; atMs: number }[] = [];
  private startedAt = 0;
  private readyAt: number | null = null;
  private accelerator?: AcceleratorInfo;
  private loadedModule: ModuleName = 'none';
  private crash?: CrashInfo;
  private error?: string;
  private runDir?: string;
  private qemu?: pty.IPty;
  private qmp?: QmpClient;
  private agent?: GuestAgent;
  /** The kernel's own console for the current boot; the detector's only text. */
  private kernelLog?: KernelLogListener;
  private detector = new CrashDetector();
  private exited?: Promise<void>;
  private image?: GuestImage;
  private cols: number;
  private rows: number;

  constructor(private readonly opts: LabSessionOptions = {}) {
    super();
    this.cols = opts.cols ?? 100;
    this.rows = opts.rows ?? 30;
    this.detector.on('crash', (crash) => this.onCrash(crash));
  }

  status(): VmStatus {
    return {
      state: this.state,
      bootSteps: [...this.bootSteps],
      accelerator: this.accelerator,
      uptimeMs: this.readyAt === null ? null : Date.now() - this.readyAt,
      loadedModule: this.loadedModule,
      kernelRelease: this.image?.manifest.kernelRelease,
      crash: this.crash,
      error: this.error,
    };
  }

  /** The recent kernel log (not the shell's console) of the current or last boot. */
  get kernelLogTail(): string {
    return this.detector.tail();
  }

  /** Boots a guest on a fresh throwaway overlay; resolves when the guest agent answers. */
  async start(): Promise<void> {
    if (this.state !== 'stopped') throw new Error(`cannot start: the machine is ${this.state}`);
    const env = this.opts.env ?? process.env;
    this.bootSteps = [];
    this.crash = undefined;
    this.error = undefined;
    this.readyAt = null;
    this.loadedModule = 'none';
    this.detector.reset();
    this.startedAt = Date.now();
    this.setState('booting');
    try {
      this.image = this.opts.image ?? loadImage();
      const qemuBinary = findQemu({ env });
      this.accelerator ??=
        this.opts.accelerator ??
        (await detectAccelerator({
          qemuBinary,
          env,
          kernelPath: this.image.kernelPath,
          kernelKey: this.image.manifest.kernelKey,
        }));
      let warm = this.opts.warmBoot === false ? null : warmStatePath(this.image, this.machineShape(), env);
      if (warm && !existsSync(warm)) {
        await this.prepareWarmState(qemuBinary, warm, env).catch((err: Error) => {
          if (env.FARFETCHD_LAB_DEBUG) process.stderr.write(`warm state: ${err.message}\n`);
          warm = null; // a cold boot still works; the next start tries again
        });
      }
      try {
        await this.boot(qemuBinary, env, warm);
      } catch (err) {
        if (!warm) throw err;
        // A snapshot QEMU cannot load (QEMU upgraded, file damaged): forget it and boot cold.
        await this.teardown();
        await rm(warm, { force: true });
        this.bootSteps = [];
        this.detector.reset();
        await this.boot(qemuBinary, env, null);
      }
      if (this.opts.workspace) {
        // Mounted now rather than by init: a snapshot cannot be taken with a 9p share mounted.
        await this.sh(
          'mkdir -p /root/work && mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 workspace /root/work',
        );
      }
      this.readyAt = Date.now();
      this.setState('ready');
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const kernelLogTail = this.detector.tail();
      await this.teardown();
      this.error = message;
      this.setState('stopped');
      throw new LabBootError(`the guest did not boot: ${message}`, kernelLogTail);
    }
  }

  /** What a snapshot depends on besides the image: the machine QEMU builds, the kernel's command line. */
  private machineShape(): string {
    return [
      createHash('sha256').update(DEFAULT_KERNEL_CMDLINE).digest('hex').slice(0, 8),
      this.accelerator?.accel,
      this.opts.memoryMiB ?? 512,
      this.opts.cpus ?? 2,
      this.opts.workspace ? 'ws' : 'nows',
    ].join('-');
  }

  private qemuArgs(
    overlay: string,
    kernelLog: KernelLogListener,
    loadvm?: string,
    workspace = this.opts.workspace,
  ): string[] {
    return buildQemuArgs({
      accel: this.accelerator!.accel,
      hostPlatform: process.platform as 'linux' | 'darwin' | 'win32',
      kernelPath: this.image!.kernelPath,
      diskPath: overlay,
      memoryMiB: this.opts.memoryMiB ?? 512,
      cpus: this.opts.cpus ?? 2,
      qmp: { kind: 'unix', path: path.join(path.dirname(overlay), 'qmp.sock') },
      agent: { kind: 'unix', path: path.join(path.dirname(overlay), 'agent.sock') },
      kernelLog: kernelLog.endpoint,
      workspace: workspace ? { hostPath: workspace, tag: 'workspace' } : undefined,
      loadvm,
    });
  }

  /** Starts QEMU on a new overlay (a copy of the warm state, or empty over the base image). */
  private async boot(qemuBinary: string, env: NodeJS.ProcessEnv, warm: string | null): Promise<void> {
    this.runDir = await mkdtemp(path.join(os.tmpdir(), 'farfetchd-lab-'));
    const overlay = path.join(this.runDir, 'overlay.qcow2');
    // The base image is never written: every session runs on its own overlay, so a reset
    // is deleting the overlay.
    if (warm) await copyFile(warm, overlay);
    else await createOverlay(findQemuImg({ env }), this.image!.diskPath, overlay);
    // Listening before QEMU starts: it connects at start-up and the kernel's first line is kept.
    this.kernelLog = await KernelLogListener.listen(kernelLogEndpoint(this.runDir));
    this.detector.follow(this.kernelLog);
    this.spawnQemu(qemuBinary, this.qemuArgs(overlay, this.kernelLog, warm ? WARM_SNAPSHOT : undefined));
    this.qmp = await QmpClient.connect(path.join(this.runDir, 'qmp.sock'), { timeoutMs: 10_000 });
    this.qmp.onEvent((event) => {
      if (event.event === 'GUEST_PANICKED') {
        this.detector.pvpanic();
      }
    });
    this.addStep('qemu-started');
    this.agent = await GuestAgent.connect(path.join(this.runDir, 'agent.sock'), { timeoutMs: 10_000 });
    await this.raceWithExit(this.agent.sync(this.opts.bootTimeoutMs ?? 90_000));
    if (!this.bootSteps.some((s) => s.step === 'init')) {
      // With `quiet`, or from a snapshot, the kernel printed nothing; an answering agent proves both.
      this.addStep('kernel-up');
      this.addStep('init');
    }
    this.addStep('agent-ready');
    if (warm) {
      // The snapshot's clock is from when it was taken, and its shell printed its prompt then.
      await this.sh(`date -s @${(Date.now() / 1000).toFixed(3)} >/dev/null`);
      this.qemu?.write('\n');
    }
  }

  /**
   * Boots a guest once, cold, on the warm-state file itself, and saves it (`savevm`) right after
   * the agent answers, before anything is mounted. Later sessions copy the file and `-loadvm` it.
   */
  private async prepareWarmState(qemuBinary: string, warm: string, env: NodeJS.ProcessEnv): Promise<void> {
    await mkdir(path.dirname(warm), { recursive: true });
    const dir = await mkdtemp(path.join(os.tmpdir(), 'farfetchd-lab-warm-'));
    const file = path.join(dir, 'overlay.qcow2');
    await createOverlay(findQemuImg({ env }), this.image!.diskPath, file);
    // QEMU does not start without a listener on its kernel port; nothing here reads it.
    const kernelLog = await KernelLogListener.listen(kernelLogEndpoint(dir));
    const [command, argv] = withDeathSignal(
      qemuBinary,
      this.qemuArgs(file, kernelLog, undefined, this.opts.workspace ? dir : undefined),
    );
    const qemu = spawn(command, argv, { stdio: ['pipe', 'ignore', 'ignore'] });
    const exited = new Promise<void>((resolve) => qemu.once('exit', () => resolve()));
    try {
      const qmp = await QmpClient.connect(path.join(dir, 'qmp.sock'), { timeoutMs: 10_000 });
      const agent = await GuestAgent.connect(path.join(dir, 'agent.sock'), { timeoutMs: 10_000 });
      await agent.sync(this.opts.bootTimeoutMs ?? 90_000);
      await agent.close();
      // HMP reports savevm's errors only in its text (e.g. a mounted 9p share blocks it).
      const text = await qmp.humanMonitorCommand(`savevm ${WARM_SNAPSHOT}`);
      if (text.trim() !== '') throw new Error(`savevm: ${text.trim()}`);
      await qmp.execute('quit').catch(() => undefined);
      await exited;
      // Sessions starting at the same time may each make one: the last rename wins, whole.
      const tmp = `${warm}.${process.pid}-${path.basename(dir)}.tmp`;
      await copyFile(file, tmp);
      await rename(tmp, warm);
    } finally {
      qemu.kill('SIGKILL');
      await kernelLog.close();
      await rm(dir, { recursive: true, force: true });
    }
  }

  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.setState('stopping');
    await this.teardown();
    this.readyAt = null;
    this.setState('stopped');
  }

  /** Brings back a clean guest: a new QEMU on a new overlay. Works from any state. */
  async reset(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** Runs a program in the guest through the agent, as root in /root. */
  async run(
    file: string,
    args: string[],
    opts: { timeoutMs?: number; input?: Buffer } = {},
  ): Promise<RunResult> {
    const agent = this.requireReady();
    return this.raceWithExit(
      agent.run('/bin/sh', ['-c', 'cd /root && exec "$0" "$@"', file, ...args], {
        timeoutMs: opts.timeoutMs ?? 120_000,
        env: guestEnv,
        input: opts.input,
      }),
    );
  }

  /** Runs a shell script in the guest; throws GuestCommandError (with its stderr) when it fails. */
  async sh(script: string, timeoutMs = 60_000): Promise<string> {
    const result = await this.run('/bin/sh', ['-c', script], { timeoutMs });
    if (result.exitCode !== 0) {
      const why = result.stderr.toString().trim() || result.stdout.toString().trim();
      throw new GuestCommandError(`guest command failed (exit ${result.exitCode}): ${why}`, result);
    }
    return result.stdout.toString();
  }

  /** One guest-agent round trip (guest-ping), for the benchmarks. */
  async agentPing(): Promise<void> {
    await this.requireReady().ping();
  }

  /** One guest-agent command (e.g. the guest-file-* calls the panels read /proc and debugfs with). */
  async agentRequest<T>(command: string, args: Record<string, unknown>): Promise<T> {
    return this.raceWithExit(this.requireReady().request<T>(command, args));
  }

  async putFile(guestPath: string, data: Buffer, mode: number): Promise<void> {
    await this.requireReady().writeFile(guestPath, data, mode);
  }

  /** Loads a reference module (unloading the one loaded before); `none` only unloads. */
  async loadModule(module: ModuleName): Promise<void> {
    this.requireReady();
    if (this.loadedModule !== 'none') {
      await this.sh(moduleUnloadScript(this.loadedModule));
      this.loadedModule = 'none';
    }
    if (module !== 'none') {
      await this.sh(moduleLoadScript(module));
      this.loadedModule = module;
      this.addStep('module-loaded');
    }
    this.emitStatus();
  }

  writeConsole(data: string): void {
    this.qemu?.write(data);
  }

  /** The serial line carries no window size, so the guest's tty is told with stty. */
  async resizeConsole(cols: number, rows: number): Promise<void> {
    this.cols = cols;
    this.rows = rows;
    this.qemu?.resize(cols, rows);
    if (this.state === 'ready') {
      await this.sh(`stty -F /dev/ttyS0 rows ${rows} cols ${cols}`);
    }
  }

  pauseConsole(): void {
    this.qemu?.pause();
  }

  resumeConsole(): void {
    this.qemu?.resume();
  }

  /** A QEMU monitor (HMP) command through QMP, e.g. `xp` to read guest physical memory. */
  async monitor(command: string): Promise<string> {
    this.requireReady();
    if (!this.qmp) throw new Error('the QEMU monitor is not connected');
    return this.raceWithExit(this.qmp.humanMonitorCommand(command));
  }

  /** The boot's private folder (for files QEMU writes, e.g. `pmemsave`), while a guest runs. */
  get runFolder(): string | undefined {
    return this.runDir;
  }

  private requireReady(): GuestAgent {
    // While booting, start() itself uses the agent (clock, workspace) once it answers.
    if ((this.state !== 'ready' && this.state !== 'booting') || !this.agent) {
      throw new Error(`the guest is not ready (it is ${this.state})`);
    }
    return this.agent;
  }

  private spawnQemu(qemuBinary: string, args: string[]): void {
    const [file, argv] = withDeathSignal(qemuBinary, args);
    const child = pty.spawn(file, argv, {
      name: 'xterm-256color',
      cols: this.cols,
      rows: this.rows,
      cwd: this.runDir,
      env: process.env as Record<string, string>,
    });
    this.qemu = child;
    this.exited = new Promise((resolve) => {
      child.onExit(({ exitCode, signal }) => {
        this.qemu = undefined;
        if (this.state === 'booting' || this.state === 'ready') {
          this.error = `QEMU exited (code ${exitCode}${signal ? `, signal ${signal}` : ''})`;
        }
        resolve();
      });
    });
    // Boot markers may arrive split across reads: look for them in the recent output.
    let recent = '';
    child.onData((data) => {
      // Not given to the crash detector: whatever a program prints arrives here too.
      if (this.state === 'booting') {
        recent = (recent + data).slice(-256);
        if (recent.includes('farfetchd-lab: init started')) {
          this.addStep('kernel-up');
          this.addStep('init');
        } else if (recent.includes('Linux version')) {
          this.addStep('kernel-up');
        }
      }
      this.emit('console', data);
    });
  }

  /** Rejects as soon as QEMU exits, so a dead guest never leaves a caller waiting. */
  private async raceWithExit<T>(promise: Promise<T>): Promise<T> {
    const exited = this.exited;
    if (!exited) return promise;
    const onExit = exited.then((): never => {
      throw new Error(this.error ?? 'QEMU exited');
    });
    onExit.catch(() => undefined); // the race below handles it; never an unhandled rejection
    return Promise.race([promise, onExit]);
  }

  private onCrash(crash: CrashInfo): void {
    if (this.state !== 'ready' && this.state !== 'booting') return;
    this.crash = crash;
    this.readyAt = null;
    this.setState('crashed');
    this.emit('crash', crash);
    // A panicked kernel spins forever; an oopsed one may limp on. Either way, freeze it.
    if (crash.kind === 'panic' || crash.kind === 'pvpanic') this.qmp?.execute('stop').catch(() => undefined);
  }

  private async teardown(): Promise<void> {
    const qmp = this.qmp;
    const qemu = this.qemu;
    this.agent?.close();
    this.agent = undefined;
    this.qmp = undefined;
    if (qemu) {
      // The overlay is thrown away, so there is nothing to flush: quit at once.
      const quit = qmp ? qmp.execute('quit').catch(() => undefined) : Promise.resolve();
      const timer = setTimeout(() => qemu.kill('SIGKILL'), 3000);
      await quit;
      await this.exited;
      clearTimeout(timer);
    }
    await qmp?.close().catch(() => undefined);
    this.qemu = undefined;
    // After QEMU's exit, so the detector has had everything the kernel printed.
    await this.kernelLog?.close();
    this.kernelLog = undefined;
    if (this.runDir) await rm(this.runDir, { recursive: true, force: true });
    this.runDir = undefined;
    this.loadedModule = 'none';
  }

  private addStep(step: BootStep): void {
    if (step !== 'module-loaded' && this.bootSteps.some((s) => s.step === step)) return;
    this.bootSteps.push({ step, atMs: Date.now() - this.startedAt });
    this.emitStatus();
  }

  private setState(state: VmState): void {
    this.state = state;
    this.emitStatus();
  }

  private emitStatus(): void {
    this.emit('status', this.status());
  }
}
