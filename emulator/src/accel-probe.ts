// The accelerator probe: boot our own guest kernel under a hardware accelerator and wait for its
// first kernel line on the console ("Decompressing Linux…", "Linux version …").
//
// Nothing short of that is proof. Some hosts open /dev/kvm, answer query-kvm with enabled=true
// and keep a bare q35 vCPU "running" — and then never get a real kernel to print a byte (a
// nested paravirtual KVM spins QEMU at 100 % of a core forever). Others abort QEMU as soon as a
// vCPU of the real CPU model is set up ("failed to set MSR 0x10a to 0x69"). So the probe starts
// the machine type and CPU model a session uses (accelArgs from qemu-args.ts) with the image's
// bzImage and no disk: a kernel that reaches its first printk has been run by the accelerator.
// Any other line (firmware, an option ROM) proves nothing about our kernel, so it does not count.
//
// A failure is one of two kinds. QEMU refusing the accelerator before any guest code ran ("Could
// not access KVM kernel module: Permission denied", "KVM_CREATE_VM … Device or resource busy"
// while VirtualBox holds VT-x) is a state of the host that the user can change at any time:
// `startup`, never remembered. A kernel that stays silent, or a QEMU that aborts once the vCPU
// runs it ("failed to set MSR 0x10a to 0x69", SIGABRT) is a verdict on this host: remembered.
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import type { Accelerator } from './api.ts';
import { accelArgs } from './qemu-args.ts';
import { withDeathSignal } from './qemu-process.ts';

/** How long the probe waits for the kernel's first line (a working KVM needs a fraction). */
export const PROBE_TIMEOUT_MS = 3000;
/** The kernel command line of the probe boot: console output as early as the kernel can give it. */
export const PROBE_KERNEL_CMDLINE = 'console=ttyS0 earlyprintk=serial,ttyS0 panic=-1';

/**
 * `startup`: QEMU could not set the accelerator up at all (see above): nothing was learned about
 * our kernel, and the verdict must not be remembered.
 */
export type ProbeResult = { ok: true; consoleLine: string } | { ok: false; reason: string; startup?: true };

/** What only the guest kernel prints: the decompressor's first words or the kernel's banner. */
const KERNEL_PROOF =
  /Decompressing Linux|early console in (setup code|extract_kernel)|Booting the kernel|Linux version \d/;

/**
 * QEMU's words when the accelerator cannot even be set up (before the vCPU runs any guest code):
 * KVM, HVF and WHPX initialisation errors, a device that is busy or not permitted.
 */
const STARTUP_ERROR =
  /KVM_CREATE_VM|Could not access KVM kernel module|failed to initiali[sz]e (kvm|hvf|whpx)|Permission denied|Operation not permitted|Device or resource busy|No accelerator found|HV_(ERROR|BUSY|DENIED|UNSUPPORTED|NO_RESOURCES)/i;

/** The one-line reason for a boot that printed nothing: "no console output in 3 s". */
export function noConsoleOutputReason(timeoutMs: number): string {
  return `no console output in ${Number((timeoutMs / 1000).toFixed(2))} s`;
}

/** QEMU's arguments for the probe boot (pure; the unit tests check them). */
export function probeArgs(accel: Accelerator, kernelPath: string): string[] {
  return [
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    '-machine',
    'q35',
    ...accelArgs(accel),
    '-m',
    '128',
    '-smp',
    '1',
    // A kernel that panics (no root fs) asks for a reboot; -no-reboot turns it into an exit.
    '-no-reboot',
    '-kernel',
    kernelPath,
    '-append',
    PROBE_KERNEL_CMDLINE,
    // The serial console is our stdout pipe; nothing else is on stdio with -nodefaults.
    '-serial',
    'stdio',
  ];
}

/**
 * Boots `kernelPath` under `accel` and resolves when the kernel has printed one of its own lines
 * (KERNEL_PROOF), or with the reason it did not within `timeoutMs`. Always kills QEMU before resolving.
 * Never throws: a failure is a reason.
 */
export async function probeAccelerator(
  qemuBinary: string,
  accel: Accelerator,
  kernelPath: string,
  opts: { timeoutMs?: number } = {},
): Promise<ProbeResult> {
  const timeoutMs = opts.timeoutMs ?? PROBE_TIMEOUT_MS;
  const [file, args] = probeCommand(qemuBinary, probeArgs(accel, kernelPath));
  const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true });
  let stderr = '';
  let output = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text: string) => {
    if (stderr.length < 8192) stderr += text;
  });
  child.stdout.setEncoding('utf8');

  type Outcome =
    | { kind: 'line'; line: string }
    | { kind: 'exited'; how: string }
    | { kind: 'unstartable'; why: string }
    | { kind: 'timeout' };
  const exited = new Promise<Outcome>((resolve) => {
    child.once('error', (err) =>
      resolve({ kind: 'unstartable', why: `could not start ${qemuBinary}: ${err.message}` }),
    );
    child.once('exit', (code, signal) => resolve({ kind: 'exited', how: exitDescription(code, signal) }));
  });
  const printed = new Promise<Outcome>((resolve) => {
    child.stdout.on('data', (text: string) => {
      if (output.length < 8192) output += text;
      const line = kernelLine(output);
      if (line !== undefined) resolve({ kind: 'line', line });
    });
  });
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<Outcome>((resolve) => {
    timer = setTimeout(() => resolve({ kind: 'timeout' }), timeoutMs);
  });

  try {
    const outcome = await Promise.race([printed, exited, timedOut]);
    if (outcome.kind === 'line') return { ok: true, consoleLine: outcome.line };
    if (outcome.kind === 'unstartable') return { ok: false, reason: outcome.why, startup: true };
    if (outcome.kind === 'timeout') {
      const said = qemuError(stderr);
      const partial = output.trim();
      const what = partial
        ? `no kernel line in ${Number((timeoutMs / 1000).toFixed(2))} s (only "${clip(partial)}")`
        : noConsoleOutputReason(timeoutMs);
      return { ok: false, reason: said ? `${what}; QEMU said: ${said}` : what };
    }
    // QEMU ended. Its output may still be in the pipes: a kernel line that came out just
    // before the exit is still proof, and QEMU's own words on stderr say best why it ended.
    await Promise.all([drained(child.stdout), drained(child.stderr)]);
    const line = kernelLine(output);
    if (line !== undefined) return { ok: true, consoleLine: line };
    const said = qemuError(stderr);
    // Nothing from the guest and QEMU's own set-up error: the accelerator never ran a guest.
    const startup = output.trim() === '' && STARTUP_ERROR.test(stderr) ? { startup: true as const } : {};
    if (said) return { ok: false, reason: `${said} (${outcome.how})`, ...startup };
    return { ok: false, reason: `${outcome.how} before the kernel printed a line`, ...startup };
  } finally {
    clearTimeout(timer);
    await killAndWait(child);
  }
}

/**
 * The line (to its end, or to the end of the text so far) in which the kernel first showed
 * itself, or undefined. The decompressor prints "Decompressing Linux... " and finishes the line
 * only later, so the words count, not the newline; "Linux vers" cut short does not.
 */
export function kernelLine(text: string): string | undefined {
  const found = KERNEL_PROOF.exec(text);
  if (!found) return undefined;
  const start = text.lastIndexOf('\n', found.index) + 1;
  const end = text.indexOf('\n', found.index);
  return text
    .slice(start, end < 0 ? undefined : end)
    .replace(/\r/g, '')
    .trim();
}

/** Resolves when `stream` has closed, or after a moment (a grandchild may hold it open). */
function drained(stream: NodeJS.ReadableStream & { closed?: boolean }): Promise<void> {
  if (stream.closed) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 500);
    stream.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function clip(text: string): string {
  const flat = text.replace(/\s+/g, ' ');
  return flat.length > 60 ? `${flat.slice(0, 60)}…` : flat;
}

function killAndWait(child: ReturnType<typeof spawn>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) {
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/**
 * A probe QEMU must not outlive us: under a hardware accelerator that runs nothing it spins at
 * 100 % of a core forever; withDeathSignal (the session's) has the kernel kill it when we die.
 * A binary that is not executable is spawned directly, so that the error names it (ENOENT,
 * EACCES) instead of setpriv's exit status.
 */
function probeCommand(qemuBinary: string, args: string[]): [string, string[]] {
  return isExecutable(qemuBinary) ? withDeathSignal(qemuBinary, args) : [qemuBinary, args];
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function exitDescription(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `QEMU was killed by ${signal}` : `QEMU exited with code ${code}`;
}

/** The line of QEMU's stderr that explains a failure, without the program name prefix. */
export function qemuError(stderr: string): string {
  const lines = stderr
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
  const meaningful = lines.filter((line) => !/warning:/i.test(line));
  const line =
    meaningful.find((l) => /error|fail|cannot|could not|not supported|unsupported/i.test(l)) ?? meaningful[0];
  return line ? line.replace(/^[^:\s]*qemu-system-x86_64(\.exe)?:\s*/, '').replace(/^error:\s*/i, '') : '';
}
