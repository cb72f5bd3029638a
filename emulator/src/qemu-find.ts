// Where QEMU's binaries are: an environment variable, the copy bundled with the app, PATH, or
// the folders the usual installers use.
import { constants, statSync, accessSync } from 'node:fs';
import path from 'node:path';

export const QEMU_ENV = 'FARFETCHD_LAB_QEMU';
export const QEMU_IMG_ENV = 'FARFETCHD_LAB_QEMU_IMG';

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
