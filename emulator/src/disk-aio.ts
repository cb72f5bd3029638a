// How QEMU does the disk's I/O: io_uring where this host gives it to QEMU, else QEMU's thread
// pool (its default). A warm start's `-loadvm` reads the snapshot in ~1,300 chunks of 28 KiB;
// through io_uring that is ≈ 70 ms sooner than through the pool (docs/benchmarks.md). But QEMU
// will not start at all with `aio=io_uring` where io_uring is refused (Docker's default seccomp
// profile, kernel.io_uring_disabled, a kernel before 5.1, a QEMU built without liburing), so it
// is used only after a probe QEMU has opened a file with it here. The verdict is remembered per
// host, host kernel, QEMU binary and io_uring_disabled setting: the probe costs a QEMU start
// (≈ 60 ms), paid once, not on every lab start.
import { spawn } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isQemuIdentity, sameQemu, type QemuIdentity } from './accel-verdicts.ts';
import { readVerdictList, writeVerdictList } from './verdict-file.ts';
import { escapeOptionValue } from './qemu-args.ts';
import { withDeathSignal } from './qemu-child.ts';

export type DiskAio = 'threads' | 'io_uring';

export const DISK_AIO_FILE = 'disk-aio-verdicts.json';
const FILE_VERSION = 1;
const MAX_VERDICTS = 8;
/** A probe QEMU that has not quit within this is killed, and io_uring is not used. */
export const AIO_PROBE_TIMEOUT_MS = 5000;
/** Where Linux says whether io_uring may be used (absent before Linux 6.6). */
export const IO_URING_SYSCTL = '/proc/sys/kernel/io_uring_disabled';

export interface DiskAioOptions {
  qemuBinary: string;
  cacheDir: string;
  platform?: NodeJS.Platform;
  /** The io_uring switch (tests point it elsewhere). */
  sysctlPath?: string;
}

interface AioKey {
  host: string;
  hostRelease: string;
  /** The switch's contents, or '' when the kernel has none. */
  ioUringDisabled: string;
  qemu: QemuIdentity;
}

export interface AioVerdict extends AioKey {
  ok: boolean;
  /** QEMU's words when it refused io_uring. */
  reason?: string;
  decidedAt: string;
}

/** The probes running now, one per verdict file and key: two sessions starting share one. */
const probesInFlight = new Map<string, Promise<AioVerdict>>();

/** io_uring when a probe (now or remembered) showed that QEMU can use it here, else threads. */
export async function chooseDiskAio(opts: DiskAioOptions): Promise<DiskAio> {
  return (await decideDiskAio(opts))?.ok ? 'io_uring' : 'threads';
}

/** The verdict for this host and QEMU, probed if none is remembered; undefined: not Linux, no QEMU. */
async function decideDiskAio(opts: DiskAioOptions): Promise<AioVerdict | undefined> {
  if ((opts.platform ?? process.platform) !== 'linux') return undefined;
  const key = await aioKey(opts).catch(() => undefined);
  if (!key) return undefined;
  const file = path.join(opts.cacheDir, DISK_AIO_FILE);
  const remembered = (await readAioVerdicts(file)).find((v) => sameKey(v, key));
  if (remembered) return remembered;
  const id = JSON.stringify([file, key]);
  let probe = probesInFlight.get(id);
  if (!probe) {
    probe = probeAndRemember(file, key).finally(() => probesInFlight.delete(id));
    probesInFlight.set(id, probe);
  }
  return probe;
}

/**
 * The disk's I/O engine for one QEMU start (`auto`: chooseDiskAio, never failing), and the error
 * to report when that QEMU failed to start: a DiskAioRefusedError, the refusal remembered, when
 * its words (`output`) say it refused the io_uring that the probe had found.
 */
export function diskAioForStart(
  mode: 'auto' | DiskAio | undefined,
  opts: DiskAioOptions,
): { engine: Promise<DiskAio>; failed(err: Error, output: string): Promise<Error> } {
  const auto = mode === 'auto';
  return {
    engine: auto ? chooseDiskAio(opts).catch(() => 'threads' as const) : Promise.resolve(mode ?? 'threads'),
    async failed(err, output) {
      if (!auto || !refusedIoUring(output)) return err;
      const said = output
        .trim()
        .split('\n')
        .filter((line) => refusedIoUring(line));
      await rememberRefusal(opts, said.pop()!.trim()).catch(() => undefined);
      return new DiskAioRefusedError(`${err.message}: ${IO_URING_REFUSED}`);
    },
  };
}

/** What chooseDiskAio decides here, in words (`doctor`); may probe, as a first start would. */
export async function describeDiskAio(opts: DiskAioOptions): Promise<string> {
  if ((opts.platform ?? process.platform) !== 'linux') return "QEMU's thread pool (io_uring is Linux only)";
  const verdict = await decideDiskAio(opts);
  if (verdict?.ok) return 'io_uring (a probe QEMU could use it here)';
  return `QEMU's thread pool${verdict?.reason ? ` (io_uring refused: ${verdict.reason})` : ''}`;
}

/** What a DiskAioRefusedError adds to the failed start's message. */
export const IO_URING_REFUSED =
  'QEMU refused io_uring for the disk: from now on it uses its thread pool here';

/**
 * A QEMU started with io_uring refused it although the probe had not (a sysctl, a seccomp
 * profile changed since): the refusal is remembered, so the next start uses the thread pool.
 */
export class DiskAioRefusedError extends Error {
  override name = 'DiskAioRefusedError';
}

/** Remembers that QEMU refused io_uring here (`reason`: its words), replacing the probe's verdict. */
export async function rememberRefusal(opts: DiskAioOptions, reason: string): Promise<void> {
  const key = await aioKey(opts).catch(() => undefined);
  if (!key) return;
  const verdict: AioVerdict = { ...key, ok: false, reason, decidedAt: new Date().toISOString() };
  await saveAioVerdict(path.join(opts.cacheDir, DISK_AIO_FILE), verdict);
}

/** Whether QEMU's words on stderr say it could not use io_uring. */
export function refusedIoUring(qemuOutput: string): boolean {
  // The second: a QEMU built without liburing does not know the value.
  return /Unable to use io_uring|'aio' does not accept value 'io_uring'/.test(qemuOutput);
}

/**
 * Starts QEMU with no machine and one file opened with `aio=io_uring` (QEMU sets its ring up
 * when it opens the file), and tells its monitor to quit: exit 0 means io_uring works here.
 */
export function probeIoUring(
  qemuBinary: string,
  timeoutMs = AIO_PROBE_TIMEOUT_MS,
): Promise<{ ok: true } | { ok: false; reason: string }> {
  // Any readable file will do; QEMU's own binary is one that exists wherever QEMU does.
  const blockdev = `driver=file,filename=${escapeOptionValue(qemuBinary)},aio=io_uring,read-only=on,node-name=probe`;
  const args = ['-machine', 'none', '-nodefaults', '-no-user-config', '-display', 'none'];
  const [file, argv] = withDeathSignal(qemuBinary, [...args, '-monitor', 'stdio', '-blockdev', blockdev]);
  return new Promise((resolve) => {
    const child = spawn(file, argv, { stdio: ['pipe', 'ignore', 'pipe'], windowsHide: true });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => {
      if (stderr.length < 4096) stderr += text;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      resolve({ ok: false, reason: `could not start ${qemuBinary}: ${err.message}` });
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve({ ok: true });
      const said = stderr.trim().split('\n').pop()?.trim();
      const how = signal ? `killed by ${signal}` : `exit ${code}`;
      resolve({ ok: false, reason: said ? `${said} (${how})` : `the probe QEMU ended: ${how}` });
    });
    // QEMU gone before it read this (it refused io_uring): EPIPE, which says nothing more.
    child.stdin.on('error', () => undefined);
    child.stdin.end('quit\n');
  });
}

async function probeAndRemember(file: string, key: AioKey): Promise<AioVerdict> {
  const result = await probeIoUring(key.qemu.path);
  const verdict: AioVerdict = {
    ...key,
    ok: result.ok,
    ...(result.ok ? {} : { reason: result.reason }),
    decidedAt: new Date().toISOString(),
  };
  await saveAioVerdict(file, verdict).catch(() => undefined);
  return verdict;
}

/** Remembers `verdict`, replacing any for the same key; the newest MAX_VERDICTS are kept. */
async function saveAioVerdict(file: string, verdict: AioVerdict): Promise<void> {
  const others = (await readAioVerdicts(file)).filter((v) => !sameKey(v, verdict));
  await writeAioVerdicts(file, [verdict, ...others].slice(0, MAX_VERDICTS));
}

async function aioKey(opts: DiskAioOptions): Promise<AioKey> {
  const qemuPath = path.resolve(opts.qemuBinary);
  const q = await stat(qemuPath);
  const setting = await readFile(opts.sysctlPath ?? IO_URING_SYSCTL, 'utf8').catch(() => '');
  return {
    host: os.hostname(),
    hostRelease: os.release(),
    ioUringDisabled: setting.trim(),
    qemu: { path: qemuPath, size: q.size, mtimeMs: Math.trunc(q.mtimeMs) },
  };
}

function sameKey(a: AioKey, b: AioKey): boolean {
  return (
    a.host === b.host &&
    a.hostRelease === b.hostRelease &&
    a.ioUringDisabled === b.ioUringDisabled &&
    sameQemu(a.qemu, b.qemu)
  );
}

/** Every verdict in the file; a missing, unreadable or corrupt file has none. */
export function readAioVerdicts(file: string): Promise<AioVerdict[]> {
  return readVerdictList(file, FILE_VERSION, isAioVerdict);
}

function isAioVerdict(v: unknown): v is AioVerdict {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return (
    typeof r.host === 'string' &&
    typeof r.hostRelease === 'string' &&
    typeof r.ioUringDisabled === 'string' &&
    isQemuIdentity(r.qemu) &&
    typeof r.ok === 'boolean' &&
    typeof r.decidedAt === 'string'
  );
}

function writeAioVerdicts(file: string, verdicts: AioVerdict[]): Promise<void> {
  return writeVerdictList(file, FILE_VERSION, verdicts);
}
