// The guest kernel's command line: what every boot passes, and the delay-loop value the host
// adds under TCG so that a cold boot does not spend a third of a second calibrating it
// (docs/benchmarks.md, "Cold boot").

/**
 * `console=hvc0 console=ttyS0`: the kernel prints its messages on both. hvc0, a virtio console
 * port, carries nothing else (init removes /dev/hvc0 once booted), so the host reads oopses and
 * panics there and no program's output can pass for one; ttyS0, named last, is /dev/console and
 * the student's terminal, where an oops still shows as it would on a real machine. Not a second
 * 8250 port: the 8250 driver has a single kernel console, so `console=ttyS1 console=ttyS0` gets
 * the kernel's messages on only one of them (measured: /proc/consoles then lists ttyS1 alone).
 * A virtio console registers when its driver probes; the messages printed before are replayed
 * to it, so it misses none of them — only a kernel dying before the probe (very early in boot)
 * prints on ttyS0 alone.
 * `init=/sbin/lab-init`: the guest's own small init (no systemd). `quiet` keeps boot fast on a
 * slow serial console; oopses and panics still print in full, because the kernel raises the
 * console log level itself when it dies. An oops kills the offending task and the machine lives
 * on (the lab shows the oops): the kernel's panic_on_oops is 0, its default (it has no boot
 * option of that name: `panic_on_oops=0` here only reached init's environment); a real panic
 * stops the machine and is reported by pvpanic. No `panic=N`: the kernel must not reboot by
 * itself after a panic.
 * `pty.legacy_count=0`: no BSD ptys (/dev/ptyp0 …, 256 pairs the kernel would register at boot,
 * ≈ 0.1–0.2 s under TCG); programs get their ptys from /dev/ptmx, which this does not touch.
 */
export const DEFAULT_KERNEL_CMDLINE =
  'console=hvc0 console=ttyS0 root=/dev/vda rootfstype=ext4 rw init=/sbin/lab-init quiet pty.legacy_count=0';

/** The lab kernel's timer frequency (build/kernel.config: CONFIG_HZ_100). */
export const KERNEL_HZ = 100;

/**
 * `lpj=` (loops per jiffy) for a guest that TCG runs on this host, or undefined to let the
 * kernel measure it. Under TCG the second vCPU's delay-loop calibration fails ("Consider using
 * lpj= boot option") and falls back to a loop that counts jiffies: ≈ 0.35–0.45 s of every cold
 * boot, whatever the host's speed. The value only scales udelay(), which on x86 spins on the TSC,
 * and TCG's guest TSC is the host's own counter on an x86-64 host: its rate in MHz times 10^6 per
 * jiffy, as the kernel itself computes it for the first vCPU. `hostCpuMHz` is what the host OS
 * reports (Node's os.cpus()), which can be the current rather than the TSC's rate: a delay then
 * ends early, which QEMU's emulated devices do not mind. Not on other hosts (an Arm host's
 * counter runs at tens of MHz: delays would be far too long).
 */
export function tcgLoopsPerJiffy(hostArch: string, hostCpuMHz: number | undefined): number | undefined {
  if (hostArch !== 'x64' || hostCpuMHz === undefined || !Number.isFinite(hostCpuMHz)) return undefined;
  if (hostCpuMHz < 500 || hostCpuMHz > 10_000) return undefined; // not a believable TSC rate
  return Math.round((hostCpuMHz * 1e6) / KERNEL_HZ);
}

/** The whole command line: the default, `lpj=` when given, then the caller's own words. */
export function kernelCommandLine(opts: { loopsPerJiffy?: number; extra?: string }): string {
  const words = [DEFAULT_KERNEL_CMDLINE];
  if (opts.loopsPerJiffy !== undefined) words.push(`lpj=${opts.loopsPerJiffy}`);
  if (opts.extra?.trim()) words.push(opts.extra.trim());
  return words.join(' ');
}
