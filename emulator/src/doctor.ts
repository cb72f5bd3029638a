// `farfetchd-lab doctor` and the UI's System page: what the lab finds on this host (QEMU, the
// guest image, the accelerator verdict, free disk, its cache folders) and, for each problem,
// what to do. collectSystemReport gathers; everything that turns facts into words is pure.
import { constants } from 'node:fs';
import { access, lstat, readdir, statfs } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { AcceleratorInfo, SystemCheck, SystemReport } from './api.ts';
import {
  ACCEL_ENV,
  decideAccelerator,
  forcedAccelerator,
  forgetAcceleratorVerdict,
  readQemuVersion,
  type AcceleratorDecision,
} from './accel.ts';
import { labCacheDir, verdictFilePath } from './accel-verdicts.ts';
import { describeDiskAio } from './disk-aio.ts';
import { findQemu, findQemuImg, qemuInstallHint, QEMU_ENV } from './qemu-find.ts';
import { imageDir, loadImage, repoRoot, type GuestImage } from './image.ts';
import { findStaleWarmSnapshots, spareFolder, unregisteredWarmSnapshots } from './run-folders.ts';
import { savedSessionsDir } from './saved-sessions.ts';

/** Below this much free space a boot may fail writing its overlay or warm snapshot. */
export const MIN_FREE_BYTES = 2 * 1024 ** 3;

export interface CollectSystemReportOptions {
  env?: NodeJS.ProcessEnv;
  /** Forget the remembered accelerator verdict and probe again (doctor, "Probe again"). */
  reprobe?: boolean;
  /** The KVM device (tests point it elsewhere). */
  kvmDevice?: string;
}

/** Looks at everything the lab needs on this host. Never throws: a problem is a failed check. */
export async function collectSystemReport(opts: CollectSystemReportOptions = {}): Promise<SystemReport> {
  const env = opts.env ?? process.env;
  const checks: SystemCheck[] = [];

  let qemuPath: string | undefined;
  let version: string | undefined;
  try {
    qemuPath = findQemu({ env });
    version = await readQemuVersion(qemuPath);
    checks.push({ name: 'QEMU', ok: true, detail: version ? `${qemuPath} (${version})` : qemuPath });
  } catch (err) {
    checks.push({
      name: 'QEMU',
      ok: false,
      detail: (err as Error).message,
      fix: `${qemuInstallHint(process.platform)}, or set ${QEMU_ENV} to its path`,
    });
  }
  try {
    checks.push({ name: 'qemu-img', ok: true, detail: findQemuImg({ env }) });
  } catch (err) {
    checks.push({
      name: 'qemu-img',
      ok: false,
      detail: (err as Error).message,
      fix: qemuInstallHint(process.platform),
    });
  }

  const dir = imageDir(env);
  let image: GuestImage | undefined;
  try {
    image = loadImage(dir);
    checks.push({
      name: 'guest image',
      ok: true,
      detail: `${image.manifest.key} at ${dir}, kernel ${image.manifest.kernelRelease}`,
    });
  } catch (err) {
    checks.push({
      name: 'guest image',
      ok: false,
      detail: (err as Error).message.split(': build it')[0]!,
      fix: 'build it: npx farfetchd-lab image',
    });
  }

  let accelerator: SystemReport['accelerator'];
  if (qemuPath && image) {
    const detect = {
      qemuBinary: qemuPath,
      env,
      kernelPath: image.kernelPath,
      kernelKey: image.manifest.kernelKey,
      kvmDevice: opts.kvmDevice,
    };
    try {
      const forced = forcedAccelerator(env, process.platform);
      if (opts.reprobe && !forced) await forgetAcceleratorVerdict(detect);
      const decision = await decideAccelerator(detect);
      accelerator = reportedAccelerator(decision);
      checks.push(acceleratorCheck(accelerator));
    } catch (err) {
      checks.push({
        name: 'accelerator',
        ok: false,
        detail: (err as Error).message,
        fix: `set ${ACCEL_ENV} to tcg, kvm, hvf or whpx, or unset it`,
      });
    }
  } else {
    checks.push({
      name: 'accelerator',
      ok: false,
      detail: 'not probed: the probe boots the guest kernel with QEMU',
      fix: 'fix QEMU and the guest image first, then run farfetchd-lab doctor again',
    });
  }

  const cacheDir = labCacheDir(env);
  const outDir = env.FARFETCHD_LAB_OUT
    ? path.resolve(env.FARFETCHD_LAB_OUT)
    : path.join(repoRoot, 'build', 'out');
  const verdicts = verdictFilePath(cacheDir);
  const caches = [
    { name: 'build output', path: outDir, bytes: await diskUsage(outDir) },
    {
      name: 'warm snapshots',
      path: cacheDir,
      bytes: await diskUsage(cacheDir, (f) => /^warm-.*\.qcow2$/.test(f)),
    },
    // Suspended machines (Suspend; each a whole disk with its RAM snapshot) until resumed.
    { name: 'saved sessions', path: savedSessionsDir(env), bytes: await diskUsage(savedSessionsDir(env)) },
    { name: 'accelerator verdicts', path: verdicts, bytes: await diskUsage(verdicts) },
    // Copies made ahead for the next warm start (run-folders.ts), one per warm snapshot in use.
    {
      name: 'spare warm-start disks',
      path: spareFolder(),
      bytes: await diskUsage(spareFolder()),
    },
  ];
  const warmSnapshots = await warmSnapshotSpace(cacheDir, image?.manifest.key);

  // Each disk the lab writes to, once: the caches, the build output, the run folders' overlays.
  const disks: { path: string; freeBytes: number; dev: number }[] = [];
  for (const where of [cacheDir, outDir, os.tmpdir()]) {
    const disk = await freeSpace(where);
    if (disk && !disks.some((d) => d.dev === disk.dev)) disks.push(disk);
  }
  for (const disk of disks) checks.push(diskCheck(disk));
  checks.push(await cacheFolderCheck(cacheDir));
  if (qemuPath) {
    const detail = await describeDiskAio({ qemuBinary: qemuPath, cacheDir });
    checks.push({ name: 'disk I/O', ok: true, detail });
  }

  return {
    qemu: { path: qemuPath, version },
    image: { dir, key: image?.manifest.key, kernelRelease: image?.manifest.kernelRelease },
    accelerator,
    disk: { path: disks[0]?.path ?? cacheDir, freeBytes: disks[0]?.freeBytes ?? 0 },
    caches,
    warmSnapshots,
    checks,
  };
}

/** The warm snapshots' space: live, and what the next session removes (run-folders.ts). */
export async function warmSnapshotSpace(
  cacheDir: string,
  imageKey: string | undefined,
): Promise<NonNullable<SystemReport['warmSnapshots']>> {
  const found = await findStaleWarmSnapshots(cacheDir, { liveKeys: imageKey ? [imageKey] : [] });
  const stale = await Promise.all(
    found.map(async ({ name, reason }) => {
      const file = path.join(cacheDir, name);
      return { path: file, bytes: await diskUsage(file), reason };
    }),
  );
  const staleNames = new Set(found.map((f) => f.name));
  const unregistered = new Set(await unregisteredWarmSnapshots(cacheDir, imageKey ? [imageKey] : []));
  const snapshot = (f: string) => /^warm-.*\.qcow2$/.test(f) && !staleNames.has(f);
  return {
    liveBytes: await diskUsage(cacheDir, (f) => snapshot(f) && !unregistered.has(f)),
    unregisteredBytes: await diskUsage(cacheDir, (f) => snapshot(f) && unregistered.has(f)),
    staleBytes: stale.reduce((sum, f) => sum + f.bytes, 0),
    stale,
  };
}

const STALE_REASONS = {
  'image gone': 'its image is gone',
  'unfinished copy': 'a copy left unfinished',
  'unregistered and old': 'of no known image, unused for 30 days',
} as const;

/** doctor's lines about the warm snapshots: live against removable, and each removable file. */
export function formatWarmSnapshots(space: NonNullable<SystemReport['warmSnapshots']>): string[] {
  const unregistered = space.unregisteredBytes
    ? `; ${formatBytes(space.unregisteredBytes)} of images no folder registered (removed once unused for 30 days)`
    : '';
  const lines = [
    `Warm snapshots: ${formatBytes(space.liveBytes)} live${unregistered}; ` +
      `${formatBytes(space.staleBytes)} of images that are gone` +
      (space.stale.length ? ', removed at the next start:' : '.'),
  ];
  for (const file of space.stale) {
    lines.push(`  ${path.basename(file.path)}  ${formatBytes(file.bytes)}  (${STALE_REASONS[file.reason]})`);
  }
  return lines;
}

function reportedAccelerator(decision: AcceleratorDecision): NonNullable<SystemReport['accelerator']> {
  const { info, verdict } = decision;
  return {
    ...info,
    ...(verdict ? { decidedAt: verdict.decidedAt } : {}),
    ...(verdict?.probeMs !== undefined ? { probeMs: verdict.probeMs } : {}),
  };
}

/** The accelerator line: the choice, its reason, how it was reached, and advice when it is TCG. */
export function acceleratorCheck(accel: NonNullable<SystemReport['accelerator']>): SystemCheck {
  const what =
    accel.fallbackReason && !accel.label.includes(accel.fallbackReason)
      ? `${accel.label} (${accel.fallbackReason})`
      : accel.label;
  const check: SystemCheck = { name: 'accelerator', ok: true, detail: `${what}; ${howDecided(accel)}` };
  const fix = acceleratorAdvice(accel);
  return fix ? { ...check, fix } : check;
}

function howDecided(accel: NonNullable<SystemReport['accelerator']>): string {
  const cost = accel.probeMs !== undefined ? ` (${accel.probeMs} ms)` : '';
  switch (accel.source) {
    case 'forced':
      return `forced by ${ACCEL_ENV}`;
    case 'probe':
      return accel.probeMs !== undefined ? `probed now by booting the guest kernel${cost}` : 'checked now';
    case 'remembered':
      return `remembered from ${accel.probeMs !== undefined ? 'a probe' : 'a failed boot'} at ${accel.decidedAt ?? '?'}${cost}`;
    case 'watchdog':
      return 'a boot showed no sign of life in time and was redone under TCG, and the accelerator probed again';
  }
}

function acceleratorAdvice(accel: AcceleratorInfo): string | undefined {
  const reason = accel.fallbackReason ?? '';
  if (accel.accel !== 'tcg' || reason === '') return undefined;
  if (/does not exist/.test(reason)) {
    return 'for hardware speed, turn on virtualization (VT-x/AMD-V) in the firmware and load kvm_intel or kvm_amd; the lab works under TCG meanwhile';
  }
  if (/EACCES|EPERM|"kvm" group/.test(reason)) {
    return 'sudo usermod -aG kvm "$USER", then log out and in again; the lab works under TCG meanwhile';
  }
  if (/could not be started: .*(Device or resource busy|HV_BUSY)/.test(reason)) {
    return 'another hypervisor (VirtualBox, VMware) holds the virtualization extensions: close it, then farfetchd-lab doctor probes again; the lab works under TCG meanwhile';
  }
  if (/^KVM could not be started: .*(Permission denied|Operation not permitted)/.test(reason)) {
    return 'sudo usermod -aG kvm "$USER", then log out and in again; the lab works under TCG meanwhile';
  }
  if (/could not be started/.test(reason)) {
    return 'not remembered: every start tries the hardware accelerator again; the lab works under TCG meanwhile';
  }
  if (/did not boot the guest this time/.test(reason)) {
    return 'nothing to fix now: the next start tries the hardware accelerator again; if boots keep falling back, the host is too loaded for it';
  }
  if (/did not boot the guest/.test(reason)) {
    return 'nothing to fix: the lab works under TCG, only slower; after a change to this host (QEMU, nested virtualization), farfetchd-lab doctor probes again';
  }
  return undefined;
}

function diskCheck(disk: { path: string; freeBytes: number }): SystemCheck {
  const detail = `${formatBytes(disk.freeBytes)} free at ${disk.path}`;
  if (disk.freeBytes >= MIN_FREE_BYTES) return { name: 'free disk', ok: true, detail };
  return {
    name: 'free disk',
    ok: false,
    detail,
    fix: `free at least ${formatBytes(MIN_FREE_BYTES)} on the disk holding ${disk.path} (guest overlays and warm snapshots are written there)`,
  };
}

async function cacheFolderCheck(cacheDir: string): Promise<SystemCheck> {
  // A missing folder is created on first use: what matters is that its nearest parent is writable.
  let probe = cacheDir;
  for (;;) {
    try {
      await access(probe, constants.W_OK);
      return { name: 'cache folder', ok: true, detail: `${cacheDir} (writable)` };
    } catch (err) {
      const parent = path.dirname(probe);
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || parent === probe) break;
      probe = parent;
    }
  }
  return {
    name: 'cache folder',
    ok: false,
    detail: `${cacheDir} is not writable`,
    fix: 'make it writable, or set FARFETCHD_LAB_CACHE to a writable folder',
  };
}

async function freeSpace(
  where: string,
): Promise<{ path: string; freeBytes: number; dev: number } | undefined> {
  // The folder may not exist yet: its disk is that of its nearest existing parent.
  for (let dir = path.resolve(where); ; dir = path.dirname(dir)) {
    try {
      const [fs, st] = await Promise.all([statfs(dir), lstat(dir)]);
      return { path: where, freeBytes: fs.bavail * fs.bsize, dev: st.dev };
    } catch {
      if (path.dirname(dir) === dir) return undefined;
    }
  }
}

/** Bytes a file or folder takes on disk (symbolic links are not followed); 0 when it is missing. */
export async function diskUsage(
  where: string,
  include: (name: string) => boolean = () => true,
): Promise<number> {
  let st;
  try {
    st = await lstat(where);
  } catch {
    return 0;
  }
  const own = st.blocks > 0 ? st.blocks * 512 : st.size;
  if (!st.isDirectory()) return include(path.basename(where)) ? own : 0;
  const entries = await readdir(where).catch(() => [] as string[]);
  const sizes = await Promise.all(
    entries.map((name) => (include(name) ? diskUsage(path.join(where, name)) : Promise.resolve(0))),
  );
  return sizes.reduce((a, b) => a + b, 0);
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** The report as doctor prints it: one line per check, what to do under each problem, the caches. */
export function formatSystemReport(report: SystemReport): string {
  const nameWidth = Math.max(...report.checks.map((c) => c.name.length));
  const lines = ["Farfetch'd Lab doctor"];
  for (const check of report.checks) {
    lines.push(`  ${check.ok ? 'ok  ' : 'FAIL'}  ${check.name.padEnd(nameWidth)}  ${check.detail}`);
    if (check.fix) lines.push(`  ${' '.repeat(4 + 2 + nameWidth)}  → ${check.fix}`);
  }
  lines.push('Cache folders:');
  const cacheWidth = Math.max(...report.caches.map((c) => c.name.length));
  const pathWidth = Math.max(...report.caches.map((c) => c.path.length));
  for (const cache of report.caches) {
    lines.push(
      `  ${cache.name.padEnd(cacheWidth)}  ${cache.path.padEnd(pathWidth)}  ${formatBytes(cache.bytes).padStart(10)}`,
    );
  }
  if (report.warmSnapshots) lines.push(...formatWarmSnapshots(report.warmSnapshots));
  const problems = report.checks.filter((c) => !c.ok).length;
  lines.push(
    problems === 0
      ? 'Everything the lab needs is here.'
      : `${problems} problem${problems === 1 ? '' : 's'}: see the FAIL lines above and what to do under each.`,
  );
  return lines.join('\n') + '\n';
}

/** doctor's exit status: 0 when every check is ok, 1 otherwise. */
export function doctorExitCode(report: SystemReport): number {
  return report.checks.every((c) => c.ok) ? 0 : 1;
}
