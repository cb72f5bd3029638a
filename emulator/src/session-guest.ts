// What a session's ready guest offers besides its state machine: commands through the guest
// agent, files, and the user's console. LabSession (session.ts) is this plus the machine's
// lifetime; every method here asks the current process and changes no state.
import { EventEmitter } from 'node:events';
import type { CrashInfo, VmState } from './api.ts';
import { runOn, shOn, type RunResult } from './guest-commands.ts';
import { ProcessSlot } from './process-slot.ts';
import type { LabProcess } from './qemu-process.ts';
import type { SessionEvents } from './session-options.ts';

export abstract class GuestAccess extends EventEmitter<SessionEvents> {
  protected state: VmState = 'stopped';
  protected readonly slot = new ProcessSlot();
  protected crash?: CrashInfo;
  /** The restored guest's clock is still the snapshot's: the next command sets it first. */
  protected clockBehind = false;

  /** Runs a program in the guest through the agent, as root in /root. */
  async run(
    file: string,
    args: string[],
    opts: { timeoutMs?: number; input?: Buffer } = {},
  ): Promise<RunResult> {
    const proc = this.requireReady();
    return runOn(proc, file, args, { ...opts, clock: this.takeClock() });
  }

  /**
   * `run`, also after an oops: the kernel killed the faulting task and the machine runs on
   * (panic_on_oops=0), so the Kernel log tab can still ask where in a module the oops was. The
   * session takes no other command until a reset.
   */
  async runAfterOops(file: string, args: string[], opts: { timeoutMs?: number } = {}): Promise<RunResult> {
    const proc = this.slot.current;
    if (proc && this.state === 'crashed' && this.crash?.kind === 'oops') return runOn(proc, file, args, opts);
    return this.run(file, args, opts);
  }

  /** Runs a shell script in the guest; throws GuestCommandError (with its stderr) when it fails. */
  async sh(script: string, timeoutMs = 60_000): Promise<string> {
    const proc = this.requireReady();
    return shOn(proc, script, timeoutMs, this.takeClock());
  }

  /** Whether this command sets the clock (the first after a restore that left it behind). */
  private takeClock(): boolean {
    const behind = this.clockBehind;
    this.clockBehind = false;
    return behind;
  }

  /** One guest-agent round trip (guest-ping), for the benchmarks. */
  async agentPing(): Promise<void> {
    await this.requireReady().agent().ping();
  }

  /** One guest-agent command (e.g. the guest-file-* calls the panels read /proc and debugfs with). */
  async agentRequest<T>(command: string, args: Record<string, unknown>): Promise<T> {
    return this.requireReady().agent().request<T>(command, args);
  }

  /** A QEMU monitor (HMP) command through QMP, e.g. `xp` to read guest physical memory. */
  async monitor(command: string): Promise<string> {
    return this.requireReady().monitor(command);
  }

  /** The boot's private folder (for files QEMU writes, e.g. `pmemsave`), while a guest runs. */
  get runFolder(): string | undefined {
    return this.slot.current?.runFolder;
  }

  async putFile(guestPath: string, data: Buffer, mode: number): Promise<void> {
    await this.requireReady().agent().writeFile(guestPath, data, mode);
  }

  writeConsole(data: string): void {
    this.slot.terminal?.write(data);
  }

  pauseConsole(): void {
    this.slot.terminal?.pause();
  }

  resumeConsole(): void {
    this.slot.terminal?.resume();
  }

  protected requireReady(): LabProcess {
    const proc = this.slot.current;
    if (this.state !== 'ready' || !proc) throw new Error(`the guest is not ready (it is ${this.state})`);
    return proc;
  }
}
