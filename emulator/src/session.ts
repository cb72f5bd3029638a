// LabSession: one guest machine, as a serialized state machine over disposable QEMU processes.
//
// The states and their transitions are data (session-state.ts); this class applies them. Every
// operation that changes the machine (start, stop, reset, suspend, resume, loadModule, following
// a reboot) runs from one queue, one after the other. Each QEMU process is an epoch: when the
// session lets a process go, the epoch ends, and whatever that process still reports (console
// output, its exit, a panic) is dropped. stop(), reset() and a kernel crash do not wait behind the boot or
// guest command in flight: they interrupt it (operation-queue.ts), and a boot disposes its
// process before their turn comes.
//
// The console is a pty so that the guest shell has a real terminal; every question about the
// guest's state goes through the guest agent, never the console text. The console is read
// only for boot progress and crash messages: what the kernel prints when nothing else answers.
import type { CrashInfo, ModuleName, SavedSessionInfo } from './api.ts';
import { defaultAcceleratorPolicy, launchUntilAgent, retryUnderTcg } from './boot-watchdog.ts';
import type { AcceleratorPolicy } from './boot-watchdog.ts';
import { ConsoleSizer, winsizeArgs, type ConsoleSize } from './console-size.ts';
import { execOn, LAB_SETTLE, promptWaitsForMount, settleGuest, shOn } from './guest-commands.ts';
import { kernelOf, loadImage } from './image.ts';
import { moduleSwapScript } from './modules.ts';
import { createQemuProcess, type DiskSource, type LabProcess } from './qemu-process.ts';
import { cleanStaleFiles } from './run-folders.ts';
import { classifyExit, type QemuExit } from './session-state.ts';
import { OperationQueue, type Guard, type OperationGate } from './operation-queue.ts';
import { LabBootError, processSpec, type LabSessionOptions } from './session-options.ts';
import type { ProcessHandlers } from './process-slot.ts';
import { debugLog, InPlaceOrigin, restoreWarmSnapshot } from './session-reset.ts';
import { Suspension } from './session-suspend.ts';
import { SessionView } from './session-view.ts';
import { bootWarmOrCold, sessionWarmState, warmStatePath } from './warm-state.ts';

export { warmStatePath };
export { GuestCommandError, guestEnv, type RunResult } from './guest-commands.ts';
export { LabBootError, type LabSessionOptions } from './session-options.ts';

export class LabSession extends SessionView {
  private readonly ops = new OperationQueue();
  private cleaned = false;
  private readonly sizer: ConsoleSizer;
  private readonly env: NodeJS.ProcessEnv;
  private readonly origin = new InPlaceOrigin();
  private readonly suspension: Suspension;

  constructor(private readonly opts: LabSessionOptions = {}) {
    super(opts.kernel, opts.workspace);
    this.env = opts.env ?? process.env;
    this.suspension = new Suspension(opts, this.env, {
      state: () => this.state,
      transition: (event) => this.transition(event),
      ready: () => this.requireReady(),
      machine: () => ({ imageKey: this.image!.manifest.key, accel: this.accelerator!.accel }),
      module: () => this.modules.status().loadedModule,
      start: (disk, guard) => this.startMachine(disk, guard),
      resumed: (module) => {
        this.guestUp();
        this.modules.assume(module);
      },
      consoleSize: () => this.sizer.size,
      sizeConsole: (proc, applied) => this.sizeConsoleOf(proc, applied),
      retire: () => this.retire().then(() => void (this.readyAt = null)),
      stop: () => this.doStop(),
    });
    this.sizer = new ConsoleSizer({ cols: opts.cols ?? 100, rows: opts.rows ?? 30 });
    this.detector.on('crash', (crash) => this.onKernelCrash(crash));
  }

  protected savedSession(): SavedSessionInfo | undefined {
    return this.suspension.info;
  }

  /** Boots a guest on a fresh throwaway overlay; resolves when the guest agent answers. */
  start(): Promise<void> {
    return this.startAs('start');
  }

  /** Brings back this workspace's saved session instead (Suspend; session-suspend.ts). */
  resume(): Promise<void> {
    return this.startAs('resume');
  }

  /** Saves the whole machine as this workspace's saved session and stops it (session-suspend.ts). */
  suspend(): Promise<void> {
    return this.ops.enqueue(() =>
      this.ops.gated('suspending', ({ guard }) => this.suspension.suspend(guard)),
    );
  }

  /** Ends the machine (interrupting what is in flight); the QEMU process and its files go. */
  stop(): Promise<void> {
    this.ops.stopAsked();
    return this.ops.enqueue(() => this.doStop());
  }

  /** A clean guest, from any state: the warm snapshot in the same QEMU (session-reset.ts), else a new one. */
  reset(): Promise<void> {
    this.ops.interrupt('stop');
    const asked = this.ops.stopMark;
    return this.ops.enqueue(async () => {
      const blocker = this.origin.blocker(this.state, this.slot.current);
      if (blocker) debugLog(this.env, `reset in place: not tried, ${blocker}`);
      else if (await this.restoreInPlace(this.slot.current!)) return;
      await this.doStop();
      await this.bootNew(asked);
    });
  }

  /** The warm snapshot again in `proc` (the old kernel's late words forgotten); false if that failed. */
  private restoreInPlace(proc: LabProcess): Promise<boolean> {
    this.forgetLastMachine();
    this.sizer.detach();
    this.transition('restore');
    const restore = async (guard: Guard) => {
      const loaded = () => this.promptEarly(proc);
      await restoreWarmSnapshot(proc, guard, { loaded, restored: () => this.detector.reset() });
      this.progress.add('qemu-started');
      await this.readyMachine(proc, true, guard);
    };
    const failed = (err: Error) => debugLog(this.env, `reset in place failed, booting anew: ${err.message}`);
    return this.bootOp(restore).then(() => true, failed);
  }

  /** Loads a reference module after unloading every farfetch module, whoever loaded it; `none` only unloads. */
  loadModule(module: ModuleName): Promise<void> {
    const what = module === 'none' ? 'unloading its module' : `loading ${module}`;
    return this.ops.enqueue(() =>
      this.ops.gated(what, async ({ guard }) => {
        await guard(shOn(this.requireReady(), moduleSwapScript(module)));
        if (module !== 'none') this.progress.add('module-loaded');
        await this.modules.loaded(module);
      }),
    );
  }

  /** Remembered for the next boot; applied to a running guest, coalesced (the last size wins). */
  resizeConsole(cols: number, rows: number): Promise<void> {
    this.slot.terminal?.resize(cols, rows);
    return this.sizer.set({ cols, rows });
  }

  private startAs(event: 'start' | 'resume'): Promise<void> {
    const asked = this.ops.stopMark;
    return this.ops.enqueue(async () => {
      if (this.state !== 'stopped') throw new Error(`cannot ${event}: the machine is ${this.state}`);
      await this.bootNew(asked, event);
    });
  }

  /** A new machine, unless a stop was asked for since the `asked` mark (the boot is void then). */
  private async bootNew(asked: number, event: 'start' | 'resume' = 'start'): Promise<void> {
    if (this.ops.stoppedSince(asked))
      throw new LabBootError('the boot was cancelled: the machine was stopped', '');
    this.forgetLastMachine();
    this.transition(event);
    await this.bootOp((guard) => this.bootFresh(guard, event === 'resume'));
  }

  private async doStop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.transition('stop');
    await this.retire();
    this.readyAt = null;
    this.stopReason = undefined;
    this.transition('disposed');
  }

  /**
   * Runs one boot (state booting) to ready, or to stopped/crashed with what went wrong.
   * `unasked`: the boot was nobody's request (a guest reboot), so its failure is a stop reason.
   */
  private bootOp(boot: (guard: Guard) => Promise<void>, unasked?: string): Promise<void> {
    return this.ops.gated('booting', (gate) => this.runBoot(gate, boot, unasked));
  }

  private async runBoot(
    gate: OperationGate,
    boot: (guard: Guard) => Promise<void>,
    unasked?: string,
  ): Promise<void> {
    try {
      await boot(gate.guard);
      this.readyAt = Date.now();
      this.transition('booted');
    } catch (err) {
      const kernelLogTail = this.detector.tail();
      const message = err instanceof Error ? err.message : String(err);
      // A kernel that crashed while booting stays on screen, with its log, until a reset.
      if (this.state === 'crashed')
        throw new LabBootError(`the guest did not boot: ${message}`, kernelLogTail);
      await this.retire();
      if (gate.by === 'stop') {
        this.transition('stop');
        this.transition('disposed');
        throw new LabBootError('the boot was cancelled: the machine was stopped', kernelLogTail);
      }
      this.error = message;
      if (unasked) this.stopReason = `${unasked}: ${message}`;
      this.transition('boot-failed');
      throw new LabBootError(`the guest did not boot: ${message}`, kernelLogTail);
    }
  }

  /** A fresh machine: from the warm snapshot (made first if missing), else cold; or the saved one. */
  private async bootFresh(guard: Guard, resume = false): Promise<void> {
    this.image = this.opts.image ?? loadImage();
    kernelOf(this.image, this.opts.kernel); // an image without the asked kernel fails here, in one line
    const policy = this.policy();
    // Old run folders (after a SIGKILL) and snapshots of images that are gone: once per session.
    if (!this.cleaned && this.opts.cleanStale !== false)
      await Promise.all([cleanStaleFiles(this.env, this.image.dir), this.suspension.cleanStale()]);
    this.cleaned = true;
    // Asked at every fresh boot (a remembered verdict costs nothing): "Probe again" counts from the next.
    this.accelerator = this.opts.accelerator ?? (await guard(policy.detect()));
    await this.withFallback(
      guard,
      () => (resume ? this.suspension.resume(guard) : this.bootFreshOn(guard)),
      () => this.retire(),
    );
  }

  /** The same machine again after a guest reboot: cold, on its disk, the workspace mounted again. */
  private async bootAgain(previous: LabProcess, guard: Guard): Promise<void> {
    let from = previous;
    const boot = () => this.bootMachine({ kind: 'adopt', file: from.overlayPath! }, guard, from);
    await this.withFallback(guard, boot, async () => {
      // The silent try ends, its disk kept for the next (which adopts it and disposes this one).
      from = this.slot.current!;
      await from.quit();
    });
  }

  /** Runs `attempt`; a hardware boot that stays silent is `abandon`ed and tried again under TCG. */
  private withFallback(guard: Guard, attempt: () => Promise<void>, abandon: () => Promise<unknown>) {
    const fallBack = async (reason: string) => {
      this.accelerator = await guard(this.policy().bootFailed(this.accelerator!, reason));
      this.restartBootView();
    };
    return retryUnderTcg(attempt, () => this.accelerator!.accel !== 'tcg', abandon, fallBack);
  }

  private bootFreshOn(guard: Guard): Promise<void> {
    const warm = sessionWarmState(this.image!, this.accelerator!.accel, this.opts, this.env);
    return bootWarmOrCold(warm, guard, {
      warmUpProcess: () => this.attach({ kind: 'fresh' }, false),
      untilAgent: (proc) => this.untilAgent(proc, guard),
      start: (disk) => this.startMachine(disk, guard),
      ready: (proc, disk) => this.readyMachine(proc, disk.kind === 'snapshot', guard),
      retire: () => this.retire(),
      restart: () => this.restartBootView(),
      booting: () => this.state === 'booting',
      debug: (message) => debugLog(this.env, message),
    });
  }

  private async bootMachine(disk: DiskSource, guard: Guard, previous?: LabProcess): Promise<void> {
    await this.readyMachine(await this.startMachine(disk, guard, previous), disk.kind === 'snapshot', guard);
  }

  /** Starts a process on `disk` and waits for its agent; `previous` goes once it has started. */
  private async startMachine(disk: DiskSource, guard: Guard, previous?: LabProcess): Promise<LabProcess> {
    const proc = this.attach(disk, true);
    try {
      await this.untilAgent(proc, guard, () => {
        this.progress.add('qemu-started');
        if (disk.kind === 'snapshot') this.promptEarly(proc);
      });
      this.origin.started(proc, disk);
    } finally {
      await previous?.dispose(); // its overlay has moved to `proc` by now, or the boot failed
    }
    return proc;
  }

  /** Brings a started guest up to ready (clock, workspace mounted, console sized). */
  private async readyMachine(proc: LabProcess, fromSnapshot: boolean, guard: Guard): Promise<void> {
    this.guestUp();
    const { noTerminal, clockWithFirstCommand } = this.opts;
    const nothingElse = noTerminal && !promptWaitsForMount(!!this.opts.workspace);
    this.clockBehind = fromSnapshot && !!clockWithFirstCommand && !!nothingElse;
    await settleGuest(proc, guard, {
      fromSnapshot,
      clock: fromSnapshot && !this.clockBehind,
      workspace: !!this.opts.workspace,
      newline: fromSnapshot && !noTerminal && promptWaitsForMount(!!this.opts.workspace), // else: promptEarly
      consoleSize: noTerminal ? undefined : this.sizer.size,
      sizeConsole: (applied) => this.sizeConsoleOf(proc, applied),
    });
  }

  /**
   * A restored shell prints its prompt again on a newline; now, unless it waits for the mount.
   * Without a terminal (`exec`) nobody reads the prompt: the shell's work for it would only share
   * the cold guest with the command.
   */
  private promptEarly(proc: LabProcess): void {
    if (!this.opts.noTerminal && !promptWaitsForMount(!!this.opts.workspace)) proc.write('\n');
  }

  /** With `quiet`, or from a snapshot, the kernel printed nothing; an answering agent proves both. */
  private guestUp(): void {
    for (const step of ['kernel-up', 'init', 'agent-ready'] as const) this.progress.add(step);
  }

  /** The session's console size on `proc`'s guest now and after every resize (coalesced). */
  private sizeConsoleOf(proc: LabProcess, applied?: ConsoleSize): Promise<void> {
    return this.sizer.attach((size) => execOn(proc, LAB_SETTLE, winsizeArgs(size)), applied);
  }

  /** Launches `proc` and waits for its agent, under the hardware watchdog. */
  private untilAgent(proc: LabProcess, guard: Guard, launched?: () => void): Promise<void> {
    const timeoutMs = this.opts.bootTimeoutMs ?? 90_000;
    const boot = {
      accel: this.accelerator!.accel,
      watchdogMs: this.policy().watchdogMs,
      proof: this.slot.proved,
      timeoutMs,
    };
    return launchUntilAgent(proc, guard, boot, launched);
  }

  /** Makes the next process current: a new epoch, its console and exit wired to the session. */
  private attach(disk: DiskSource, visible: boolean): LabProcess {
    const machine = {
      image: this.image!,
      accel: this.accelerator!.accel,
      size: this.sizer.size,
      env: this.env,
    };
    const proc = (this.opts.createProcess ?? createQemuProcess)(
      processSpec(this.opts, machine, disk, !visible),
    );
    const crashes = {
      kernelLog: (text: string) => this.detector.feed(text),
      panicked: () => this.detector.pvpanic(),
    };
    // A warm-up's console is not the user's, nor is its exit the machine's; its crashes are.
    if (!visible) return this.slot.attach(proc, { ...crashes, console() {}, exited() {} }, false);
    const handlers: ProcessHandlers = {
      ...crashes,
      console: (data, steps) => {
        // Output means QEMU runs, even before launch() has connected every socket.
        if (this.state === 'booting')
          for (const step of ['qemu-started', ...steps] as const) this.progress.add(step);
        this.emit('console', data); // never to the crash detector: programs print here too
      },
      exited: (exit, epoch) => void this.ops.enqueue(() => this.followExit(epoch, exit)).catch(() => {}),
    };
    return this.slot.attach(proc, handlers, true);
  }

  /** Ends the current epoch and disposes its process. */
  private async retire(): Promise<void> {
    this.sizer.detach();
    this.modules.forget();
    await this.slot.retire();
  }

  /** QEMU ended without being asked to: power-off, reboot, or its death. */
  private async followExit(epoch: number, exit: QemuExit): Promise<void> {
    if (epoch !== this.slot.epoch || (this.state !== 'ready' && this.state !== 'crashed')) return;
    const { event, reason } = classifyExit(exit);
    if (event === 'guest-rebooted') {
      const previous = this.slot.current!;
      this.forgetLastMachine();
      this.transition('guest-rebooted');
      return this.bootOp(
        (guard) => this.bootAgain(previous, guard),
        'the guest rebooted but did not boot again',
      );
    }
    const kernelLogTail = this.detector.tail();
    await this.retire();
    this.readyAt = null;
    this.stopReason = reason;
    if (event === 'guest-powered-off') this.crash = undefined;
    if (event === 'qemu-died' && this.state === 'ready') {
      const log = kernelLogTail.slice(-16384);
      this.crash = { kind: 'qemu-exit', headline: reason, log, at: new Date().toISOString() };
      this.transition(event);
      this.emit('crash', this.crash);
      return;
    }
    this.transition(event);
  }

  private onKernelCrash(crash: CrashInfo): void {
    if (this.state !== 'ready' && this.state !== 'booting' && this.state !== 'suspending') return;
    this.crash = crash;
    this.readyAt = null;
    this.transition('kernel-crashed');
    this.emit('crash', crash);
    this.sizer.detach(); // a crashed guest takes no more commands
    this.ops.interrupt('crash');
    // A panicked kernel spins forever; an oopsed one may limp on. Either way, freeze it.
    if (crash.kind === 'panic' || crash.kind === 'pvpanic') this.slot.current?.freeze().catch(() => {});
  }

  private policy(): AcceleratorPolicy {
    return this.opts.accelerators ?? defaultAcceleratorPolicy(this.env, this.image!);
  }
}
