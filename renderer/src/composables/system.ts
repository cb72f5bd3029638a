// How the System page and the status bar put what the lab found into words (pure, tested).
import type { AcceleratorInfo, AcceleratorSource, SystemReport } from '../../../emulator/src/api.ts';

/** "1.5 GB", "312 MB", "4 KB", "0 B": sizes as people read them (powers of 1000, like `df -H`). */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = -1;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

/**
 * The status bar's accelerator text: its label and, when the lab fell back from a faster one, why
 * ("TCG — KVM did not boot the guest on this machine: no console output in 3 s").
 */
export function acceleratorText(info: AcceleratorInfo | undefined): string {
  if (!info) return 'accelerator: not yet probed';
  if (!info.fallbackReason || info.label.includes(info.fallbackReason)) return info.label;
  return `${info.accel.toUpperCase()} — ${info.fallbackReason}`;
}

const SOURCES: Record<AcceleratorSource, string> = {
  forced: 'set by FARFETCHD_LAB_ACCEL',
  probe: 'probed',
  remembered: 'remembered from an earlier probe',
  watchdog: 'fallen back to after a boot printed nothing',
};

type Verdict = NonNullable<SystemReport['accelerator']>;

/** How the verdict was reached: "probed on 2026-12-01 07:50 UTC (the probe took 1.2 s)". */
export function verdictSource(accelerator: Verdict): string {
  const parts = [SOURCES[accelerator.source] ?? accelerator.source];
  if (accelerator.decidedAt) {
    const at = new Date(accelerator.decidedAt);
    if (!Number.isNaN(at.getTime())) parts.push(`on ${at.toISOString().slice(0, 16).replace('T', ' ')} UTC`);
  }
  const ms = accelerator.probeMs;
  if (ms !== undefined) {
    parts.push(`(the probe took ${ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`})`);
  }
  return parts.join(' ');
}
