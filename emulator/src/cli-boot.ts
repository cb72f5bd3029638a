// Booting a guest for a CLI command (`exec`, `run`): progress, the accelerator line, and a boot
// failure as one line.
import type { AcceleratorInfo, ModuleName } from './api.ts';
import type { Out } from './cli-args.ts';
import { LabSession } from './session.ts';

/** "accelerator TCG — KVM did not boot the guest on this machine: …", the reason said once. */
export function acceleratorLine(a: AcceleratorInfo): string {
  const reason = a.fallbackReason && !a.label.includes(a.fallbackReason) ? ` (${a.fallbackReason})` : '';
  return `accelerator ${a.label}${reason}`;
}

/**
 * Boots a session and loads a module; on failure prints the one-line reason and returns null.
 * With `verbose` (run) it prints every boot step and the accelerator; without (exec, whose stderr
 * is the command's) only a fallback to TCG after a hardware boot that failed in this very start.
 */
export async function bootForCli(module: ModuleName, out: Out, verbose = false): Promise<LabSession | null> {
  const session = new LabSession({
    cols: process.stdout.columns,
    rows: process.stdout.rows,
  });
  if (verbose) {
    let shown = 0;
    session.on('status', (status) => {
      for (; shown < status.bootSteps.length; shown++) {
        const s = status.bootSteps[shown]!;
        out.stderr.write(`farfetchd-lab: ${s.step} (${(s.atMs / 1000).toFixed(2)} s)\n`);
      }
    });
  }
  try {
    await session.start();
    const accel = session.status().accelerator;
    if (accel && (verbose || accel.source === 'watchdog')) {
      out.stderr.write(`farfetchd-lab: ${acceleratorLine(accel)}\n`);
    }
    await session.loadModule(module);
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
