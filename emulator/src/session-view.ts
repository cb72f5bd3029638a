// What a LabSession shows of its machine (its status: state, boot steps, accelerator, uptime,
// module, crash, error, why it stopped, the saved session waiting) and how each change of it is
// announced. LabSession (session.ts) is this plus the machine's lifetime; every transition of
// the state machine (session-state.ts) goes through transition() here.
import type { AcceleratorInfo, SavedSessionInfo, VmStatus } from './api.ts';
import { BootProgress } from './boot-progress.ts';
import { CrashDetector } from './crash.ts';
import { kernelOf, type GuestImage, type KernelChoice } from './image.ts';
import { ModuleView } from './module-view.ts';
import { GuestAccess } from './session-guest.ts';
import { nextState, type SessionEvent } from './session-state.ts';

export abstract class SessionView extends GuestAccess {
  protected readonly progress = new BootProgress(() => this.emitStatus());
  protected readyAt: number | null = null;
  protected accelerator?: AcceleratorInfo;
  /** The farfetch modules in the guest, whoever loaded them (module-view.ts). */
  readonly modules: ModuleView;
  protected error?: string;
  protected stopReason?: string;
  protected image?: GuestImage;
  protected readonly detector = new CrashDetector();

  constructor(
    private readonly kernel: KernelChoice | undefined,
    /** The workspace's folder on the host, if the session has one (its .ko files are the student's). */
    workspace: string | undefined,
  ) {
    super();
    this.modules = new ModuleView(this, { workspace: () => workspace, changed: () => this.emitStatus() });
  }

  /** The saved session of this workspace that waits to be resumed, if any. */
  protected abstract savedSession(): SavedSessionInfo | undefined;

  status(): VmStatus {
    const saved = this.savedSession();
    return {
      state: this.state,
      bootSteps: this.progress.list,
      accelerator: this.accelerator,
      uptimeMs: this.readyAt === null ? null : Date.now() - this.readyAt,
      ...this.modules.status(),
      kernelRelease: this.image && kernelOf(this.image, this.kernel).release,
      crash: this.crash,
      error: this.error,
      ...(this.stopReason ? { stopReason: this.stopReason } : {}),
      ...(saved ? { savedSession: saved } : {}),
    };
  }

  /** The recent kernel log (its own console, hvc0, not the shell's) of the current or last boot. */
  get kernelLogTail(): string {
    return this.detector.tail();
  }

  protected transition(event: SessionEvent): void {
    this.state = nextState(this.state, event);
    this.emitStatus();
  }

  protected forgetLastMachine(): void {
    this.progress.restart();
    this.crash = undefined;
    this.error = undefined;
    this.stopReason = undefined;
    this.readyAt = null;
    this.modules.forget();
    this.detector.reset();
  }

  /** Another try of the same boot: its clock runs on, its steps and console start again. */
  protected restartBootView(): void {
    this.progress.restart(true);
    this.detector.reset();
    this.emitStatus();
  }

  protected emitStatus(): void {
    this.emit('status', this.status());
  }
}
