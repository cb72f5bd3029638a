// Boot progress as the user sees it: the steps reached and when, read from the console's boot
// markers and from the boot itself.
import type { BootStep } from './api.ts';
import { BOOT_MARKERS } from './boot-watchdog.ts';

export class BootProgress {
  private steps: { step: BootStep; atMs: number }[] = [];
  private startedAt = Date.now();

  constructor(private readonly changed: () => void) {}

  get list(): { step: BootStep; atMs: number }[] {
    return [...this.steps];
  }

  has(step: BootStep): boolean {
    return this.steps.some((s) => s.step === step);
  }

  /** A new boot: no steps yet, times counted from now unless `keepClock`. */
  restart(keepClock = false): void {
    this.steps = [];
    if (!keepClock) this.startedAt = Date.now();
  }

  add(step: BootStep): void {
    if (step !== 'module-loaded' && this.has(step)) return;
    this.steps.push({ step, atMs: Date.now() - this.startedAt });
    this.changed();
  }
}

/**
 * Watches one process's console for the boot markers (which may arrive split across reads).
 * `proof` resolves at the first one: the guest kernel runs.
 */
export class MarkerWatch {
  readonly proof: Promise<void>;
  private prove!: () => void;
  private recent = '';

  constructor() {
    this.proof = new Promise((resolve) => (this.prove = resolve));
  }

  kernelSpoke(): void {
    this.prove();
  }

  /** The steps the console data shows reached, if any. */
  feed(data: string): BootStep[] {
    this.recent = (this.recent + data).slice(-256);
    if (this.recent.includes(BOOT_MARKERS.init)) {
      this.prove();
      return ['kernel-up', 'init'];
    }
    if (this.recent.includes(BOOT_MARKERS.kernel)) {
      this.prove();
      return ['kernel-up'];
    }
    return [];
  }
}
