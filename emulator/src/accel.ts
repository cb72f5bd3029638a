// Which accelerator QEMU uses on this host: forced by FARFETCHD_LAB_ACCEL, else the verdict
// remembered for this host, QEMU and kernel, else a probe boot of our kernel (accel-probe.ts)
// whose verdict is remembered. TCG always works and is never probed.
import { execFile } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import type { Accelerator, AcceleratorInfo, AcceleratorSource } from './api.ts';
import { probeAccelerator, PROBE_TIMEOUT_MS } from './accel-probe.ts';
import {
  dropVerdict,
  findVerdict,
  labCacheDir,
  saveVerdict,
  verdictKey,
  type Verdict,
  type VerdictKey,
} from './accel-verdicts.ts';

export {
  noConsoleOutputReason,
  probeAccelerator,
  PROBE_TIMEOUT_MS,
  type ProbeResult,
} from './accel-probe.ts';
export { labCacheDir } from './accel-verdicts.ts';
export {
  findQemu,
  findQemuImg,
  qemuInstallHint,
  QemuNotFoundError,
  QEMU_ENV,
  QEMU_IMG_ENV,
  type FindQemuOptions,
} from './qemu-find.ts';

export const ACCEL_LABELS: Record<Accelerator, string> = {
  kvm: 'KVM — hardware acceleration',
  hvf: 'HVF — hardware acceleration (Hypervisor.framework)',
  whpx: 'WHPX — hardware acceleration (Windows Hypervisor Platform)',
  tcg: 'TCG — no hardware acceleration: slower',
};

const ACCELERATORS: readonly Accelerator[] = ['tcg', 'kvm', 'hvf', 'whpx'];
/** The environment variable that forces an accelerator (no probe). */
export const ACCEL_ENV = 'FARFETCHD_LAB_ACCEL';
/**
 * A real boot under a hardware accelerator that shows no sign of life within this is given up
 * (boot-watchdog.ts): QEMU is killed and the guest booted again under TCG, for this session; a
 * new probe decides whether later starts try the accelerator again. Under `quiet` the first
 * sign is init's line (after the kernel, the root mount and init's exec), ~1 s under a working KVM.
 */
export const HW_BOOT_WATCHDOG_MS = 3000;

/** The hardware accelerator QEMU offers on each host OS, if any. */
export function nativeAccelerator(platform: NodeJS.Platform): Exclude<Accelerator, 'tcg'> | undefined {
  if (platform === 'linux') return 'kvm';
  if (platform === 'darwin') return 'hvf';
  if (platform === 'win32') return 'whpx';
  return undefined;
}

/**
 * The accelerator FARFETCHD_LAB_ACCEL asks for, or undefined when it is not set. Throws for
 * a value that is not an accelerator, or one this OS does not have.
 */
export function forcedAccelerator(
  env: NodeJS.ProcessEnv,
  platform: NodeJS.Platform,
): Accelerator | undefined {
  const raw = env[ACCEL_ENV];
  if (raw === undefined || raw.trim() === '') return undefined;
  const value = raw.trim().toLowerCase();
  if (!(ACCELERATORS as readonly string[]).includes(value)) {
    throw new Error(`${ACCEL_ENV} must be one of ${ACCELERATORS.join(', ')} (got "${raw}")`);
  }
  const accel = value as Accelerator;
  if (accel !== 'tcg' && nativeAccelerator(platform) !== accel) {
    const usable = ['tcg', nativeAccelerator(platform)].filter(Boolean).join(' or ');
    throw new Error(`${ACCEL_ENV}=${accel} is not available on ${platform} (use ${usable})`);
  }
  return accel;
}

export interface DetectAcceleratorOptions {
  qemuBinary: string;
  /** The guest's bzImage: the probe boots it. */
  kernelPath: string;
  /** The image manifest's kernelKey; without it the bzImage's size and mtime identify it. */
  kernelKey?: string;
  platform?: NodeJS.Platform;
  /** process.arch; on darwin, arm64 means Apple Silicon. */
  arch?: string;
  env?: NodeJS.ProcessEnv;
  probeTimeoutMs?: number;
  /** The KVM device (tests point it elsewhere). */
  kvmDevice?: string;
  /** Where the verdict file is (default: labCacheDir(env)). */
  cacheDir?: string;
}

/** An accelerator choice and the remembered verdict behind it, if one was used or made. */
export interface AcceleratorDecision {
  info: AcceleratorInfo & { source: AcceleratorSource };
  verdict?: Verdict;
}

/**
 * The fastest accelerator that really boots our kernel here: FARFETCHD_LAB_ACCEL if set, else
 * the remembered verdict, else a probe boot (remembered for the next start). A hardware
 * accelerator that is absent or fails gives TCG with the reason in `fallbackReason`.
 */
export async function detectAccelerator(opts: DetectAcceleratorOptions): Promise<AcceleratorInfo> {
  return (await decideAccelerator(opts)).info;
}

/** detectAccelerator, with the verdict (its time and probe cost) for `doctor`. */
export async function decideAccelerator(opts: DetectAcceleratorOptions): Promise<AcceleratorDecision> {
  const env = opts.env ?? process.env;
  const platform = opts.platform ?? process.platform;
  const forced = forcedAccelerator(env, platform);
  if (forced) {
    return {
      info: { accel: forced, label: `${ACCEL_LABELS[forced]} (set by ${ACCEL_ENV})`, source: 'forced' },
    };
  }
  const native = nativeAccelerator(platform);
  const absent = hardwareAbsence(native, platform, opts.arch ?? process.arch, opts.kvmDevice);
  // Cheap checks are never remembered: fixing them (a group, a module) takes effect at once.
  if (!native || absent) return { info: tcgWithout(absent ?? '') };

  const cacheDir = opts.cacheDir ?? labCacheDir(env);
  const key = await verdictKey(opts.qemuBinary, opts.kernelPath, opts.kernelKey);
  const remembered = await findVerdict(cacheDir, key);
  if (remembered && remembered.accel === native) {
    return { info: infoFromVerdict(remembered, 'remembered'), verdict: remembered };
  }
  const run = await probeOnce(opts, cacheDir, key, native);
  if (!run.remembered) return { info: notStarted(native, run.verdict.reason ?? '') };
  return { info: infoFromVerdict(run.verdict, 'probe'), verdict: run.verdict };
}

/** A probe that ran: its verdict, and whether it was remembered (not for a start-up error). */
interface ProbeRun {
  verdict: Verdict;
  remembered: boolean;
}

/**
 * The probes running now, one per cache folder, verdict key and accelerator: a session's
 * detect(), two System pages and a watchdog's re-probe asking at once share one probe QEMU.
 */
const probesInFlight = new Map<string, Promise<ProbeRun>>();

function probeOnce(
  opts: DetectAcceleratorOptions,
  cacheDir: string,
  key: VerdictKey,
  accel: Exclude<Accelerator, 'tcg'>,
): Promise<ProbeRun> {
  const id = JSON.stringify([cacheDir, accel, key.host, key.hostRelease, key.kernel, key.qemu]);
  let run = probesInFlight.get(id);
  if (!run) {
    run = probeAndRemember(opts, cacheDir, key, accel).finally(() => probesInFlight.delete(id));
    probesInFlight.set(id, run);
  }
  return run;
}

async function probeAndRemember(
  opts: DetectAcceleratorOptions,
  cacheDir: string,
  key: VerdictKey,
  accel: Exclude<Accelerator, 'tcg'>,
): Promise<ProbeRun> {
  const started = performance.now();
  const [result, qemuVersion] = await Promise.all([
    probeAccelerator(opts.qemuBinary, accel, opts.kernelPath, { timeoutMs: opts.probeTimeoutMs }),
    readQemuVersion(opts.qemuBinary),
  ]);
  const verdict: Verdict = {
    ...key,
    accel,
    ok: result.ok,
    ...(result.ok ? {} : { reason: result.reason }),
    source: 'probe',
    decidedAt: new Date().toISOString(),
    probeMs: Math.round(performance.now() - started),
    ...(qemuVersion ? { qemuVersion } : {}),
  };
  // QEMU refusing to set the accelerator up says nothing about our kernel: like the cheap checks.
  const remembered = result.ok || !result.startup;
  if (remembered) await saveVerdict(cacheDir, verdict).catch(debug);
  return { verdict, remembered };
}

/**
 * A real boot under `accel` showed no sign of life within the watchdog (`reason`). Returns the
 * TCG fallback for this session, and probes `accel` again: only when that probe fails too (and
 * not for a start-up error) is the failure remembered for later starts. A slow but working
 * accelerator (a loaded host, a cold disk cache) so costs one session, not every later one.
 * Never throws for the cache (an unwritable one only means the next start tries again).
 */
export async function fallBackAfterSilentBoot(
  opts: DetectAcceleratorOptions,
  accel: Accelerator,
  reason: string,
): Promise<AcceleratorInfo> {
  if (accel === 'tcg')
    throw new Error('fallBackAfterSilentBoot: TCG is the fallback, not a hardware accelerator');
  const key = await keyOrPlaceholder(opts);
  const thisTime = (why: string): AcceleratorInfo => {
    const fallbackReason = `${accel.toUpperCase()} did not boot the guest this time: ${reason} (${why}; the next start tries ${accel.toUpperCase()} again)`;
    return { accel: 'tcg', label: `TCG — ${fallbackReason}`, fallbackReason, source: 'watchdog' };
  };
  if (key.host === '') return thisTime('not probed again: a file is missing');
  const cacheDir = opts.cacheDir ?? labCacheDir(opts.env ?? process.env);
  const { verdict: probe, remembered } = await probeOnce(opts, cacheDir, key, accel);
  if (probe.ok) return thisTime('its probe boots the guest kernel');
  if (!remembered) return thisTime(`a new probe could not start it: ${probe.reason ?? 'unknown reason'}`);
  const verdict: Verdict = {
    ...probe,
    reason: `${reason}, and a new probe failed: ${probe.reason ?? 'unknown reason'}`,
    source: 'watchdog',
    decidedAt: new Date().toISOString(),
  };
  delete verdict.probeMs;
  await saveVerdict(cacheDir, verdict).catch(debug);
  return infoFromVerdict(verdict, 'watchdog');
}

/** Forgets the verdict for this host, QEMU and kernel: the next detection probes again. */
export async function forgetAcceleratorVerdict(opts: DetectAcceleratorOptions): Promise<void> {
  const key = await keyOrPlaceholder(opts);
  if (key.host === '') return;
  await dropVerdict(opts.cacheDir ?? labCacheDir(opts.env ?? process.env), key).catch(debug);
}

/** The key, or one with an empty host when a file is missing (nothing to remember then). */
async function keyOrPlaceholder(opts: DetectAcceleratorOptions): Promise<VerdictKey> {
  return verdictKey(opts.qemuBinary, opts.kernelPath, opts.kernelKey).catch((err: Error) => {
    debug(err);
    return { host: '', hostRelease: '', qemu: { path: '', size: 0, mtimeMs: 0 }, kernel: '' };
  });
}

function infoFromVerdict(verdict: Verdict, source: AcceleratorSource): AcceleratorDecision['info'] {
  if (verdict.ok) return { accel: verdict.accel, label: ACCEL_LABELS[verdict.accel], source };
  const fallbackReason = `${verdict.accel.toUpperCase()} did not boot the guest on this machine: ${verdict.reason ?? 'unknown reason'}`;
  return { accel: 'tcg', label: `TCG — ${fallbackReason}`, fallbackReason, source };
}

/** QEMU could not set the accelerator up (see accel-probe.ts): TCG now, nothing remembered. */
function notStarted(accel: Exclude<Accelerator, 'tcg'>, reason: string): AcceleratorDecision['info'] {
  const fallbackReason = `${accel.toUpperCase()} could not be started: ${reason}`;
  return { accel: 'tcg', label: `TCG — ${fallbackReason}`, fallbackReason, source: 'probe' };
}

function tcgWithout(fallbackReason: string): AcceleratorDecision['info'] {
  return { accel: 'tcg', label: ACCEL_LABELS.tcg, fallbackReason, source: 'probe' };
}

/** Why the host's hardware accelerator cannot even be tried, from checks that cost nothing. */
function hardwareAbsence(
  native: Exclude<Accelerator, 'tcg'> | undefined,
  platform: NodeJS.Platform,
  arch: string,
  kvmDevice: string | undefined,
): string | undefined {
  if (!native) return `QEMU has no hardware accelerator for x86-64 guests on ${platform}`;
  // Hypervisor.framework runs guests of the host's own architecture only.
  if (native === 'hvf' && arch === 'arm64') return 'HVF cannot run x86-64 guests on Apple Silicon';
  if (native === 'kvm') {
    const problem = kvmDeviceProblem(kvmDevice ?? '/dev/kvm');
    if (problem) return `KVM is not usable: ${problem}`;
  }
  return undefined;
}

/** Why the KVM device cannot be used, or undefined when it opens for reading and writing. */
export function kvmDeviceProblem(device: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(device, 'r+');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      return `${device} does not exist (no KVM module loaded, or the CPU's virtualization is off or absent)`;
    }
    if (code === 'EACCES' || code === 'EPERM') {
      return `${device} cannot be opened for reading and writing (${code}): add your user to the "kvm" group`;
    }
    return `${device} cannot be opened (${code ?? String(err)})`;
  }
  closeSync(fd);
  return undefined;
}

/** `qemu --version`'s first line, or undefined; only when a probe runs (it costs a process). */
export function readQemuVersion(qemuBinary: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(qemuBinary, ['--version'], { timeout: PROBE_TIMEOUT_MS, windowsHide: true }, (err, stdout) => {
      const line = String(stdout).split('\n')[0]?.trim();
      resolve(err || !line ? undefined : line);
    });
  });
}

function debug(err: Error): void {
  if (process.env.FARFETCHD_LAB_DEBUG) process.stderr.write(`accelerator verdicts: ${err.message}\n`);
}
