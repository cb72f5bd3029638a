// Which accelerator QEMU can use on this host, found by really trying it, and where QEMU is.
//
// A device node or a "KVM enabled" answer is not proof: some hosts open /dev/kvm, answer
// query-kvm with enabled=true for `-machine none`, and then abort QEMU as soon as a vCPU of
// the real CPU model is set up ("error: failed to set MSR 0x10a to 0x69"). So the probe starts
// the machine type and CPU model a session uses (accelArgs from qemu-args.ts), lets the vCPU
// run for a moment, and asks QMP whether the machine is still running.
import { spawn } from 'node:child_process';
import { closeSync, constants, openSync, statSync, accessSync } from 'node:fs';
import path from 'node:path';
import { Duplex } from 'node:stream';
import type { Accelerator, AcceleratorInfo } from './api.ts';
import { accelArgs } from './qemu-args.ts';
import { QmpClient } from './qmp.ts';

export const ACCEL_LABELS: Record<Accelerator, string> = {
  kvm: 'KVM — hardware acceleration',
  hvf: 'HVF — hardware acceleration (Hypervisor.framework)',
  whpx: 'WHPX — hardware acceleration (Windows Hypervisor Platform)',
  tcg: 'TCG — no hardware acceleration: slower',
};

const ACCELERATORS: readonly Accelerator[] = ['tcg', 'kvm', 'hvf', 'whpx'];
/** The environment variable that forces an accelerator (no probe). */
export const ACCEL_ENV = 'FARFETCHD_LAB_ACCEL';
export const QEMU_ENV = 'FARFETCHD_LAB_QEMU';
export const QEMU_IMG_ENV = 'FARFETCHD_LAB_QEMU_IMG';
/** The whole probe, QEMU start to answer, must fit in this. */
export const PROBE_TIMEOUT_MS = 3000;
/** How long the probe's vCPU runs before we ask whether the machine still runs. */
const PROBE_RUN_MS = 150;

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
  platform?: NodeJS.Platform;
  /** process.arch; on darwin, arm64 means Apple Silicon. */
  arch?: string;
  env?: NodeJS.ProcessEnv;
  probeTimeoutMs?: number;
  /** The KVM device (tests point it elsewhere). */
  kvmDevice?: string;
}

/**
 * The fastest accelerator that really works here: the OS's hardware accelerator when a probe
 * machine runs with it, else TCG with the reason in `fallbackReason`. FARFETCHD_LAB_ACCEL
 * overrides the choice without probing.
 */
export async function detectAccelerator(opts: DetectAcceleratorOptions): Promise<AcceleratorInfo> {
  const env = opts.env ?? process.env;
  const platform = opts.platform ?? process.platform;
  const arch = opts.arch ?? process.arch;
  const forced = forcedAccelerator(env, platform);
  if (forced) return { accel: forced, label: `${ACCEL_LABELS[forced]} (set by ${ACCEL_ENV})` };
  const native = nativeAccelerator(platform);
  if (!native) return tcg(`QEMU has no hardware accelerator for x86-64 guests on ${platform}`);
  if (native === 'hvf' && arch === 'arm64') {
    // Hypervisor.framework runs guests of the host's own architecture only.
    return tcg('HVF cannot run x86-64 guests on Apple Silicon');
  }
  if (native === 'kvm') {
    const problem = kvmDeviceProblem(opts.kvmDevice ?? '/dev/kvm');
    if (problem) return tcg(`KVM is not usable: ${problem}`);
  }
  const result = await probeAccelerator(opts.qemuBinary, native, { timeoutMs: opts.probeTimeoutMs });
  if (result.ok) return { accel: native, label: ACCEL_LABELS[native] };
  return tcg(`${native.toUpperCase()} is not usable: ${result.reason}`);
}

function tcg(fallbackReason: string): AcceleratorInfo {
  return { accel: 'tcg', label: ACCEL_LABELS.tcg, fallbackReason };
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

export type ProbeResult = { ok: true } | { ok: false; reason: string };

/**
 * Starts a paused q35 machine with `accel` and the session's CPU model, QMP on stdio, lets its
 * vCPU run briefly and checks it still runs. Never throws: a failure is a reason.
 */
export async function probeAccelerator(
  qemuBinary: string,
  accel: Accelerator,
  opts: { timeoutMs?: number } = {},
): Promise<ProbeResult> {
  const timeoutMs = opts.timeoutMs ?? PROBE_TIMEOUT_MS;
  const args = [
    '-machine',
    'q35',
    ...accelArgs(accel),
    '-m',
    '64',
    '-smp',
    '1',
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    '-S',
    '-qmp',
    'stdio',
  ];
  const child = spawn(qemuBinary, args, { stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text: string) => {
    if (stderr.length < 8192) stderr += text;
  });
  // QEMU may die before reading what we write; that is reported through its exit instead.
  child.stdin.on('error', () => undefined);
  type Outcome =
    | { kind: 'answered'; result: ProbeResult }
    | { kind: 'failed'; error: Error }
    | { kind: 'exited'; how: string }
    | { kind: 'timeout' };
  let spawnError: string | undefined;
  const exited = new Promise<Outcome>((resolve) => {
    child.once('error', (err) => {
      spawnError = `could not start ${qemuBinary}: ${err.message}`;
      resolve({ kind: 'exited', how: spawnError });
    });
    child.once('exit', (code, signal) => resolve({ kind: 'exited', how: exitDescription(code, signal) }));
  });
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<Outcome>(
    (resolve) => (timer = setTimeout(() => resolve({ kind: 'timeout' }), timeoutMs)),
  );
  let qmp: QmpClient | undefined;
  const converse = async (): Promise<ProbeResult> => {
    // The probe's own timer is the one limit: the handshake's must not fire first.
    qmp = await QmpClient.open(Duplex.from({ readable: child.stdout, writable: child.stdin }), {
      timeoutMs: timeoutMs + 1000,
    });
    if (accel === 'kvm') {
      const kvm = await qmp.execute<{ enabled: boolean; present: boolean }>('query-kvm');
      if (!kvm.enabled) {
        return {
          ok: false,
          reason: `QEMU reports KVM ${kvm.present ? 'present but not enabled' : 'absent'}`,
        };
      }
    }
    await qmp.execute('cont');
    await new Promise((resolve) => setTimeout(resolve, PROBE_RUN_MS));
    const status = await qmp.execute<{ status: string; running: boolean }>('query-status');
    if (!status.running) return { ok: false, reason: `the probe machine stopped (${status.status})` };
    return { ok: true };
  };
  const conversation: Promise<Outcome> = converse().then(
    (result) => ({ kind: 'answered', result }),
    (error: unknown) => ({
      kind: 'failed',
      error: error instanceof Error ? error : new Error(String(error)),
    }),
  );

  try {
    const outcome = await Promise.race([conversation, exited, timedOut]);
    if (outcome.kind === 'answered') return outcome.result;
    if (outcome.kind === 'timeout') {
      const said = qemuError(stderr);
      return { ok: false, reason: `no answer within ${timeoutMs} ms${said ? ` (${said})` : ''}` };
    }
    // QEMU died or stopped talking: its own words on stderr say best why. Give it a moment
    // to finish them (it may abort just after our end of stdio closes).
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 200))]);
    const said = qemuError(stderr);
    let how: string;
    if (spawnError) {
      how = spawnError;
    } else if (child.exitCode !== null || child.signalCode !== null) {
      how = exitDescription(child.exitCode, child.signalCode);
    } else {
      how = outcome.kind === 'exited' ? outcome.how : outcome.error.message;
    }
    return { ok: false, reason: said ? `${said} (${how})` : how };
  } finally {
    clearTimeout(timer);
    // `quit` would be polite, but the probe machine holds nothing worth a clean exit.
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await qmp?.close();
  }
}

function exitDescription(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `QEMU was killed by ${signal}` : `QEMU exited with code ${code}`;
}

/** The line of QEMU's stderr that explains a failure, without the program name prefix. */
function qemuError(stderr: string): string {
  const lines = stderr
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
  const meaningful = lines.filter((line) => !/warning:/i.test(line));
  const line =
    meaningful.find((l) => /error|fail|cannot|could not|not supported|unsupported/i.test(l)) ?? meaningful[0];
  return line ? line.replace(/^[^:\s]*qemu-system-x86_64(\.exe)?:\s*/, '').replace(/^error:\s*/i, '') : '';
}

export interface FindQemuOptions {
  env?: NodeJS.ProcessEnv;
  /** The packaged app's resources folder, holding qemu/bin/… when QEMU is bundled. */
  resourcesPath?: string;
  platform?: NodeJS.Platform;
  /** Replaces the file-system check (tests). */
  isExecutable?: (file: string) => boolean;
}

export class QemuNotFoundError extends Error {
  override name = 'QemuNotFoundError';
}

/** What to install, per OS, for both qemu-system-x86_64 and qemu-img. */
export function qemuInstallHint(platform: NodeJS.Platform): string {
  if (platform === 'darwin') return 'Install QEMU with Homebrew: brew install qemu';
  if (platform === 'win32') {
    return (
      'Install QEMU for Windows with its installer (qemu-w64-setup-*.exe from https://qemu.weilnetz.de/w64/, ' +
      'linked from https://www.qemu.org/download/#windows) into C:\\Program Files\\qemu'
    );
  }
  return 'Install QEMU: sudo apt-get install qemu-system-x86 qemu-utils (Debian, Ubuntu)';
}

/**
 * qemu-system-x86_64: $FARFETCHD_LAB_QEMU, else the copy bundled with the app, else PATH,
 * else the usual install folders (a desktop app on macOS or Windows does not get the shell's
 * PATH). Throws QemuNotFoundError saying what to install.
 */
export function findQemu(opts: FindQemuOptions = {}): string {
  return findBinary('qemu-system-x86_64', QEMU_ENV, opts, []);
}

/**
 * qemu-img: $FARFETCHD_LAB_QEMU_IMG, else bundled, else next to $FARFETCHD_LAB_QEMU (the two
 * ship together), else PATH and the usual install folders.
 */
export function findQemuImg(opts: FindQemuOptions = {}): string {
  const env = opts.env ?? process.env;
  const platform = opts.platform ?? process.platform;
  const qemu = env[QEMU_ENV];
  const besideQemu = qemu ? [pathFor(platform).dirname(qemu)] : [];
  return findBinary('qemu-img', QEMU_IMG_ENV, opts, besideQemu);
}

function pathFor(platform: NodeJS.Platform): path.PlatformPath {
  return platform === 'win32' ? path.win32 : path.posix;
}

function findBinary(name: string, envVar: string, opts: FindQemuOptions, firstDirs: string[]): string {
  const env = opts.env ?? process.env;
  const platform = opts.platform ?? process.platform;
  const isExecutable = opts.isExecutable ?? isExecutableFile;
  const p = pathFor(platform);
  const exe = platform === 'win32' ? `${name}.exe` : name;

  const forced = env[envVar];
  if (forced !== undefined && forced !== '') {
    if (isExecutable(forced)) return forced;
    throw new QemuNotFoundError(
      `${envVar} is set to "${forced}", which is not an executable file. Fix or unset ${envVar}. ${qemuInstallHint(platform)}.`,
    );
  }
  const candidates: string[] = [];
  if (opts.resourcesPath) candidates.push(p.join(opts.resourcesPath, 'qemu', 'bin', exe));
  const searchPath = env.PATH ?? env.Path ?? '';
  const dirs = [
    ...firstDirs,
    ...searchPath.split(platform === 'win32' ? ';' : ':'),
    ...wellKnownDirs(platform, env),
  ];
  for (const dir of dirs) if (dir !== '') candidates.push(p.join(dir, exe));
  for (const candidate of candidates) if (isExecutable(candidate)) return candidate;
  const bundled = opts.resourcesPath ? 'not bundled with the app, ' : '';
  throw new QemuNotFoundError(
    `${exe} was not found (${bundled}not on PATH). ${qemuInstallHint(platform)}, or set ${envVar} to its path.`,
  );
}

function wellKnownDirs(platform: NodeJS.Platform, env: NodeJS.ProcessEnv): string[] {
  if (platform === 'darwin') return ['/opt/homebrew/bin', '/usr/local/bin', '/opt/local/bin'];
  if (platform === 'win32') return [path.win32.join(env.ProgramFiles ?? 'C:\\Program Files', 'qemu')];
  return ['/usr/bin', '/usr/local/bin'];
}

function isExecutableFile(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    // Windows has no execute bit; a file that is there will do.
    if (process.platform !== 'win32') accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
