// buildQemuArgs: the whole QEMU command line as a pure function of the configuration, so that
// every accelerator and host OS can be checked in unit tests without starting QEMU.
//
// The machine: q35, no default devices (no NIC: the lab guest has no network), the kernel
// booted directly (no firmware boot menu, no bootloader), the root file system on virtio-blk,
// the serial console on QEMU's stdio (the session's pty) or a pipe, the kernel's own log on a
// virtio console that only the kernel writes, QMP and the guest agent on unix sockets or pipes
// (the Windows transport, qemu-transport.ts), and pvpanic so that a guest panic reaches the
// host as a QMP event.
import type { Accelerator } from './api.ts';
import { kernelCommandLine } from './kernel-cmdline.ts';

export type HostPlatform = 'linux' | 'darwin' | 'win32';

/**
 * A channel between the host and QEMU (see qemu-transport.ts for who uses which):
 * - `unix`: a unix socket in the session's private folder (Linux and macOS, the default there).
 * - `pipe`: QEMU's `-chardev pipe,path=P`. On Windows QEMU creates the named pipe \\.\pipe\P as
 *   its server (P is a bare name); elsewhere it opens the FIFOs P.in (it reads) and P.out (it
 *   writes), which the host must have created (qemu-pipe.ts). No loopback TCP port: any local
 *   user can connect to one, and QMP can run host commands (`migrate exec:`).
 */
export type SocketEndpoint = { kind: 'unix'; path: string } | { kind: 'pipe'; path: string };

export interface QemuConfig {
  accel: Accelerator;
  hostPlatform: HostPlatform;
  kernelPath: string;
  /** The session's qcow2 overlay (never the shared base image). */
  diskPath: string;
  /** Guest RAM, default 512. Keep it small: savevm/loadvm time grows with the RAM in use. */
  memoryMiB?: number;
  /** vCPUs, default 2. */
  cpus?: number;
  /**
   * Turn LA57 off in the CPU model (`-cpu max,la57=off` under TCG), so the guest kernel runs
   * 4-level paging as it does on most KVM hosts. Default: the CPU model's own (under TCG, 5 levels).
   */
  fourLevelPaging?: boolean;
  qmp: SocketEndpoint;
  agent: SocketEndpoint;
  /**
   * Where the host listens for the kernel's messages (hvc0). Unlike `qmp` and `agent`, QEMU
   * is the client here: the host must already listen when QEMU starts (KernelLogListener).
   */
  kernelLog: SocketEndpoint;
  /**
   * The serial console (the student's terminal): `stdio` (default; the session runs QEMU on a
   * pty) or a pipe (no pty at all: the Windows transport).
   */
  console?: 'stdio' | { kind: 'pipe'; path: string };
  /** Appended to the default kernel command line. */
  kernelCmdline?: string;
  /**
   * `lpj=` for the kernel under TCG (tcgLoopsPerJiffy in kernel-cmdline.ts); ignored by the
   * hardware accelerators, whose guests calibrate their delay loop quickly.
   */
  loopsPerJiffy?: number;
  /**
   * A host folder shared with the guest over virtio-9p (the guest mounts it by `tag`).
   * QEMU for Windows has no virtio-9p, so there it is left out: the guest then simply finds
   * no share to mount, and callers must move files with the guest agent instead.
   */
  workspace?: { hostPath: string; tag: string };
  /** Start from this snapshot (savevm tag) stored in the disk image. */
  loadvm?: string;
  /** The disk's I/O engine: QEMU's thread pool (default) or io_uring (see disk-aio.ts). */
  diskAio?: 'threads' | 'io_uring';
  /** Appended as they are, last. */
  extra?: string[];
}

/**
 * Whether QEMU on this host can share a folder over virtio-9p: QEMU for Windows is built without
 * virtfs, so a Windows guest has no /root/work share (files go in and out through the agent).
 */
export function hostHasVirtfs(platform: HostPlatform): boolean {
  return platform !== 'win32';
}

export const DEFAULT_MEMORY_MIB = 512;
export const DEFAULT_CPUS = 2;

export { DEFAULT_KERNEL_CMDLINE } from './kernel-cmdline.ts';

export const GUEST_AGENT_PORT_NAME = 'org.qemu.guest_agent.0';
/** The kernel log's virtio console port (its name shows in the guest's /sys/class/virtio-ports). */
export const KERNEL_LOG_PORT_NAME = 'org.farfetchd_lab.kernel_log';

const ACCELERATORS: readonly Accelerator[] = ['kvm', 'hvf', 'whpx', 'tcg'];
const PLATFORMS: readonly HostPlatform[] = ['linux', 'darwin', 'win32'];
/** Where each hardware accelerator exists; TCG exists everywhere. */
const ACCEL_PLATFORM: Record<Exclude<Accelerator, 'tcg'>, HostPlatform> = {
  kvm: 'linux',
  hvf: 'darwin',
  whpx: 'win32',
};
/** sizeof(sockaddr_un.sun_path) minus the terminating NUL: longer paths cannot be bound. */
const UNIX_PATH_MAX: Record<HostPlatform, number> = { linux: 107, darwin: 103, win32: 107 };
/** A Windows pipe name as the lab makes them (the path under \\.\pipe\ is at most 256 characters). */
const WINDOWS_PIPE_NAME = /^[A-Za-z0-9._-]{1,200}$/;

export class QemuConfigError extends Error {
  override name = 'QemuConfigError';
  constructor(
    /** The QemuConfig field that is wrong, e.g. "memoryMiB" or "qmp.path". */
    readonly field: string,
    problem: string,
  ) {
    super(`QEMU configuration: ${field} ${problem}`);
  }
}

/**
 * The accelerator and CPU model. The accelerator probe (accel.ts) starts QEMU with exactly
 * these, because some hosts accept an accelerator and only fail once a vCPU of this model
 * is created.
 */
export function accelArgs(accel: Accelerator, fourLevelPaging = false): string[] {
  const args = cpuModelArgs(accel);
  // la57=off takes the feature out of CPUID, so the kernel (X86_5LEVEL) falls back to 4 levels.
  if (fourLevelPaging) args[args.length - 1] += ',la57=off';
  return args;
}

function cpuModelArgs(accel: Accelerator): string[] {
  switch (accel) {
    case 'kvm':
      // `host` passes the host CPU through; the guest has 5-level paging (la57) only if the
      // host CPU has it, unlike under TCG.
      return ['-accel', 'kvm', '-cpu', 'host'];
    case 'hvf':
      // Intel Macs only: on Apple Silicon, HVF cannot run an x86-64 guest (accel.ts never
      // chooses HVF there).
      return ['-accel', 'hvf', '-cpu', 'host'];
    case 'whpx':
      // QEMU's `host` CPU model needs KVM or HVF, so WHPX uses `max`. kernel-irqchip=off
      // emulates the APIC in QEMU: with Hyper-V's APIC emulation Linux guests with more than
      // one vCPU die with "WHPX: Unexpected VP exit code 4" (QEMU issues #1043, #2042).
      return ['-accel', 'whpx,kernel-irqchip=off', '-cpu', 'max'];
    case 'tcg':
      // `max` enables every feature TCG emulates, la57 included, so the guest gets 5-level
      // paging on any host. thread=multi: one host thread per vCPU.
      return ['-accel', 'tcg,thread=multi', '-cpu', 'max'];
  }
}

/** QEMU's option syntax separates with commas; a comma inside a value is written twice. */
export function escapeOptionValue(value: string): string {
  return value.replace(/,/g, ',,');
}

/**
 * A pipe chardev. On Windows QEMU creates the named pipe with one instance and the default
 * security descriptor (write access for its own user, SYSTEM and Administrators only) and waits
 * in ConnectNamedPipe, while it starts, for its one client: nothing written to it is lost.
 * On Linux and macOS it opens P.in and P.out read-write, so it never blocks on them.
 */
function pipeChardev(id: string, path: string): string {
  return `pipe,id=${id},path=${escapeOptionValue(path)}`;
}

function socketChardev(id: string, endpoint: SocketEndpoint): string {
  if (endpoint.kind === 'pipe') return pipeChardev(id, endpoint.path);
  // server=on,wait=off: QEMU listens and starts at once, without waiting for us to connect.
  return `socket,id=${id},path=${escapeOptionValue(endpoint.path)},server=on,wait=off`;
}

/**
 * The kernel log's chardev: QEMU connects, as a client, to a socket the host already listens on.
 * QEMU 7.2 connects while it creates its chardevs, before any vCPU runs, so the first byte of a
 * boot already has somewhere to go; with no listener it refuses to start ("Failed to connect
 * to …"), and if the host end goes away it runs on and drops what the port sends (checked on
 * this machine). The alternatives lose or delay bytes: a server socket with wait=off drops
 * everything printed before the host connects (the start of a boot), wait=on makes the host
 * poll for a socket file before it can even reach QMP, and a file would have to be polled.
 * A pipe (the Windows transport) needs none of this: QEMU waits for the host to open it before
 * any vCPU runs (Windows), or writes into a FIFO the host reads (elsewhere). A virtconsole port never holds the guest back: what the chardev
 * cannot take at once is dropped (QEMU's hvc note: throttling would stall the whole guest
 * kernel), so a host that stops reading can lose kernel text but never freezes the guest.
 */
function clientSocketChardev(id: string, endpoint: SocketEndpoint): string {
  if (endpoint.kind === 'pipe') return pipeChardev(id, endpoint.path);
  return `socket,id=${id},path=${escapeOptionValue(endpoint.path)},server=off`;
}

function requireString(field: string, value: unknown): void {
  if (typeof value !== 'string' || value.trim() === '')
    throw new QemuConfigError(field, 'must be a non-empty string');
  if (/[\n\r\0]/.test(value))
    throw new QemuConfigError(field, 'must not contain a newline or a NUL character');
}

function requireInteger(field: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new QemuConfigError(field, `must be an integer from ${min} to ${max} (got ${String(value)})`);
  }
}

function validateEndpoint(field: string, endpoint: SocketEndpoint | undefined, platform: HostPlatform): void {
  if (typeof endpoint !== 'object' || endpoint === null) throw new QemuConfigError(field, 'is missing');
  if (endpoint.kind === 'unix') {
    if (platform === 'win32') {
      throw new QemuConfigError(field, "cannot be a unix socket on Windows: use { kind: 'pipe', path }");
    }
    requireString(`${field}.path`, endpoint.path);
    const bytes = Buffer.byteLength(endpoint.path);
    if (bytes > UNIX_PATH_MAX[platform]) {
      throw new QemuConfigError(
        `${field}.path`,
        `is ${bytes} bytes long; a unix socket path can have at most ${UNIX_PATH_MAX[platform]} on ${platform}`,
      );
    }
  } else if (endpoint.kind === 'pipe') {
    requireString(`${field}.path`, endpoint.path);
    if (platform === 'win32' && !WINDOWS_PIPE_NAME.test(endpoint.path)) {
      throw new QemuConfigError(
        `${field}.path`,
        'must be a bare pipe name on Windows (1 to 200 letters, digits, ".", "_" or "-"; QEMU adds \\\\.\\pipe\\)',
      );
    }
  } else {
    throw new QemuConfigError(`${field}.kind`, `must be 'unix' or 'pipe'`);
  }
}

/** Two channels on the same path would collide: QEMU could create or bind only one of them. */
function requireDistinct(
  field: string,
  endpoint: SocketEndpoint | undefined,
  otherField: string,
  other: SocketEndpoint,
): void {
  if (endpoint && endpoint.kind === other.kind && endpoint.path === other.path) {
    throw new QemuConfigError(`${field}.path`, `must differ from ${otherField}.path`);
  }
}

/** Throws QemuConfigError naming the first field that is wrong. */
export function validateQemuConfig(config: QemuConfig): void {
  if (!PLATFORMS.includes(config.hostPlatform)) {
    throw new QemuConfigError(
      'hostPlatform',
      `must be one of ${PLATFORMS.join(', ')} (got ${String(config.hostPlatform)})`,
    );
  }
  if (!ACCELERATORS.includes(config.accel)) {
    throw new QemuConfigError(
      'accel',
      `must be one of ${ACCELERATORS.join(', ')} (got ${String(config.accel)})`,
    );
  }
  if (config.accel !== 'tcg' && ACCEL_PLATFORM[config.accel] !== config.hostPlatform) {
    throw new QemuConfigError(
      'accel',
      `${config.accel} exists only on ${ACCEL_PLATFORM[config.accel]}, not on ${config.hostPlatform}`,
    );
  }
  requireString('kernelPath', config.kernelPath);
  requireString('diskPath', config.diskPath);
  // 128 MiB is about the least a Debian userland with gcc runs in; more than 16 GiB is a mistake.
  requireInteger('memoryMiB', config.memoryMiB ?? DEFAULT_MEMORY_MIB, 128, 16384);
  requireInteger('cpus', config.cpus ?? DEFAULT_CPUS, 1, 64);
  if (config.fourLevelPaging !== undefined && typeof config.fourLevelPaging !== 'boolean') {
    throw new QemuConfigError('fourLevelPaging', 'must be true or false');
  }
  validateEndpoint('qmp', config.qmp, config.hostPlatform);
  validateEndpoint('agent', config.agent, config.hostPlatform);
  validateEndpoint('kernelLog', config.kernelLog, config.hostPlatform);
  requireDistinct('agent', config.agent, 'qmp', config.qmp);
  requireDistinct('kernelLog', config.kernelLog, 'qmp', config.qmp);
  requireDistinct('kernelLog', config.kernelLog, 'agent', config.agent);
  if (config.console !== undefined && config.console !== 'stdio') {
    if (config.console?.kind !== 'pipe') throw new QemuConfigError('console', "must be 'stdio' or a pipe");
    validateEndpoint('console', config.console, config.hostPlatform);
    for (const [name, other] of [
      ['qmp', config.qmp],
      ['agent', config.agent],
      ['kernelLog', config.kernelLog],
    ] as const) {
      requireDistinct('console', config.console, name, other);
    }
  }
  if (
    config.kernelCmdline !== undefined &&
    (typeof config.kernelCmdline !== 'string' || /[\n\r\0]/.test(config.kernelCmdline))
  ) {
    throw new QemuConfigError('kernelCmdline', 'must be a string on one line');
  }
  if (config.loopsPerJiffy !== undefined)
    requireInteger('loopsPerJiffy', config.loopsPerJiffy, 1, 2 ** 31 - 1);
  if (config.workspace !== undefined) {
    requireString('workspace.hostPath', config.workspace.hostPath);
    // The guest finds the share by this tag in sysfs; QEMU limits it to 31 bytes.
    if (typeof config.workspace.tag !== 'string' || !/^[A-Za-z0-9_-]{1,31}$/.test(config.workspace.tag)) {
      throw new QemuConfigError('workspace.tag', 'must be 1 to 31 letters, digits, "_" or "-"');
    }
  }
  if (config.loadvm !== undefined) requireString('loadvm', config.loadvm);
  if (config.diskAio !== undefined && config.diskAio !== 'threads' && config.diskAio !== 'io_uring') {
    throw new QemuConfigError('diskAio', "must be 'threads' or 'io_uring'");
  }
  if (
    config.extra !== undefined &&
    (!Array.isArray(config.extra) || config.extra.some((a) => typeof a !== 'string'))
  ) {
    throw new QemuConfigError('extra', 'must be an array of strings');
  }
}

export function buildQemuArgs(config: QemuConfig): string[] {
  validateQemuConfig(config);
  const cmdline = kernelCommandLine({
    loopsPerJiffy: config.accel === 'tcg' ? config.loopsPerJiffy : undefined,
    extra: config.kernelCmdline,
  });
  const args = [
    // Nothing QEMU would add by itself (NIC, VGA, floppy, CD-ROM, monitor), no host config file.
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    '-machine',
    'q35',
    ...accelArgs(config.accel, config.fourLevelPaging),
    '-m',
    String(config.memoryMiB ?? DEFAULT_MEMORY_MIB),
    '-smp',
    String(config.cpus ?? DEFAULT_CPUS),
    '-kernel',
    config.kernelPath,
    '-append',
    cmdline,
    // cache=unsafe ignores the guest's flushes. The overlay is thrown away with the session,
    // so durability buys nothing; only a host crash could lose data, and that data is
    // disposable. It makes the guest's sync and fsync (dpkg, make, editors) nearly free.
    '-drive',
    `file=${escapeOptionValue(config.diskPath)},format=qcow2,if=none,id=disk0,cache=unsafe${config.diskAio === 'io_uring' ? ',aio=io_uring' : ''}`,
    '-device',
    'virtio-blk-pci,drive=disk0',
    // The console is QEMU's stdio, which the session makes a pty. signal=off: Ctrl-C is a
    // byte for the guest's shell, not a signal that kills QEMU. Or a pipe: no pty, no signals.
    '-chardev',
    config.console && config.console !== 'stdio'
      ? pipeChardev('console', config.console.path)
      : 'stdio,id=console,signal=off',
    '-serial',
    'chardev:console',
    // QMP on its own socket: the same as `-qmp unix:PATH,server=on,wait=off`, written as a
    // chardev so that both sockets are described (and escaped) one way.
    '-chardev',
    socketChardev('qmp', config.qmp),
    '-mon',
    'chardev=qmp,mode=control',
    // The guest agent's virtio-serial port; its name is how the guest finds it.
    '-device',
    'virtio-serial-pci,id=vser0',
    // hvc0: the kernel's messages only (see clientSocketChardev and DEFAULT_KERNEL_CMDLINE).
    // A console port takes the bus's port 0, so the agent's port keeps its number.
    '-chardev',
    clientSocketChardev('kernellog', config.kernelLog),
    '-device',
    `virtconsole,bus=vser0.0,chardev=kernellog,name=${KERNEL_LOG_PORT_NAME}`,
    '-chardev',
    socketChardev('ga', config.agent),
    '-device',
    `virtserialport,bus=vser0.0,chardev=ga,name=${GUEST_AGENT_PORT_NAME}`,
    // A guest panic writes to pvpanic and QEMU emits GUEST_PANICKED. panic=none lets the guest
    // run on for a moment: the kernel calls pvpanic before it flushes the panic text to the
    // console, and a paused guest would never print it. The session pauses the guest (QMP
    // `stop`) once it has the log, so a dead guest does not burn a host core.
    '-device',
    'pvpanic-pci',
    '-action',
    'panic=none',
    // A guest reboot (or triple fault) ends QEMU instead of booting again.
    '-no-reboot',
    '-rtc',
    'base=utc',
  ];
  if (config.workspace && hostHasVirtfs(config.hostPlatform)) {
    args.push(
      // security_model=none: files keep the host user's ownership; the guest's root acts as
      // that user, and nothing is stored in extended attributes.
      '-fsdev',
      `local,id=workspace,path=${escapeOptionValue(config.workspace.hostPath)},security_model=none`,
      '-device',
      `virtio-9p-pci,fsdev=workspace,mount_tag=${config.workspace.tag}`,
    );
  }
  if (config.loadvm !== undefined) args.push('-loadvm', config.loadvm);
  if (config.extra) args.push(...config.extra);
  return args;
}
