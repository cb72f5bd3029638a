// Booting a guest for a CLI command (`exec`, `run`): progress, the accelerator line, and a boot
// failure as one line.
import type { AcceleratorInfo, ModuleName, VmStatus } from './api.ts';
import type { Out } from './cli-args.ts';
import { LabSession } from './session.ts';

/** "accelerator TCG — KVM did not boot the guest on this machine: …", the reason said once. */
export function acceleratorLine(a: AcceleratorInfo): string {
  const reason = a.fallbackReason && !a.label.includes(a.fallbackReason) ? ` (${a.fallbackReason})` : '';
  return `accelerator ${a.label}${reason}`;
}

/**
 * The boot-step lines to print for each status, each step once. A boot that starts again (the
 * fallback to TCG after a silent hardware boot, a snapshot that would not load) restarts the
 * list: its steps are printed again from where the two lists part.
 */
export class BootStepLines {
  private printed: VmStatus['bootSteps'] = [];

  next(steps: VmStatus['bootSteps']): string[] {
    let same = 0;
    while (
      same < this.printed.length &&
      same < steps.length &&
      this.printed[same]!.step === steps[same]!.step &&
      this.printed[same]!.atMs === steps[same]!.atMs
    ) {
      same++;
    }
    const fresh = steps.slice(same);
    this.printed = [...steps];
    return fresh.map((s) => `farfetchd-lab: ${s.step} (${(s.atMs / 1000).toFixed(2)} s)\n`);
  }
}

/**
 * Boots a session (sharing `workspace` at /root/work, if given) and loads a module; on failure
 * prints the one-line reason and returns null. With `verbose` (run) it prints every boot step and
 * the accelerator; without (exec, whose stderr is the command's) only a fallback to TCG after a
 * hardware boot that failed in this very start.
 */
export async function bootForCli(
  module: ModuleName,
  out: Out,
  verbose = false,
  workspace?: string,
): Promise<LabSession | null> {
  const session = new LabSession({
    cols: process.stdout.columns,
    rows: process.stdout.rows,
    workspace,
    // run attaches this terminal to the console; exec only runs a command through the agent.
    noTerminal: !verbose,
    clockWithFirstCommand: !verbose,
  });
  if (verbose) {
    const lines = new BootStepLines();
    session.on('status', (status) => lines.next(status.bootSteps).forEach((line) => out.stderr.write(line)));
  }
  try {
    await session.start();
    const accel = session.status().accelerator;
    if (accel && (verbose || accel.source === 'watchdog')) {
      out.stderr.write(`farfetchd-lab: ${acceleratorLine(accel)}\n`);
    }
    // A guest just started has no farfetch module loaded: `none` has nothing to unload (the
    // unload script would cost `exec` three cold programs under TCG).
    if (module !== 'none') await session.loadModule(module);
    return session;
  } catch (err) {
    out.stderr.write(`farfetchd-lab: lab failure: ${oneLine((err as Error).message)}\n`);
    await session.stop().catch(() => undefined);
    return null;
  }
}

export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
