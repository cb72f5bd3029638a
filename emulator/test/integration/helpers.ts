// What the guest tests share: the real `farfetchd-lab` command (the same entry point `npx
// farfetchd-lab` runs), waiting on a session's console and states, what a session leaves behind,
// and the accelerator the lab itself chooses on this machine (what the tests compare with).
import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { decideAccelerator, findQemu, type AcceleratorDecision } from '../../src/accel.ts';
import type { AcceleratorInfo, VmState, VmStatus } from '../../src/api.ts';
import { imageDir, loadImage, repoRoot } from '../../src/image.ts';

export const cliPath = path.join(repoRoot, 'emulator', 'bin', 'farfetchd-lab.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; npx?: boolean } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const [file, argv] = opts.npx
      ? ['npx', ['--no-install', 'farfetchd-lab', ...args]]
      : [process.execPath, [cliPath, ...args]];
    const child = spawn(file, argv, {
      cwd: opts.cwd ?? repoRoot,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs a command in a throwaway guest with `exec`. */
export function guestExec(module: string, command: string[], extra: string[] = []): Promise<CliResult> {
  return runCli(['exec', '--module', module, ...extra, '--', ...command]);
}

/**
 * Resolves with the console output seen from now on, once it matches `pattern`. To wait for a
 * command's output rather than the terminal's echo of it, match text the echo does not hold,
 * e.g. `echo done-$((1+1))` and /done-2/.
 */
export function consoleUntil(
  session: {
    on(e: 'console', l: (d: string) => void): unknown;
    off(e: 'console', l: (d: string) => void): unknown;
  },
  pattern: RegExp,
  timeoutMs = 60_000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => {
      session.off('console', onData);
      reject(new Error(`console never matched ${pattern}; saw: ${JSON.stringify(seen.slice(-500))}`));
    }, timeoutMs);
    const onData = (data: string) => {
      seen += data;
      if (pattern.test(seen)) {
        clearTimeout(timer);
        session.off('console', onData);
        resolve(seen);
      }
    };
    session.on('console', onData);
  });
}

/** Resolves with the first status of `state` the session reports from now on. */
export function untilState(
  session: {
    on(e: 'status', l: (s: VmStatus) => void): unknown;
    off(e: 'status', l: (s: VmStatus) => void): unknown;
  },
  state: VmState,
): Promise<VmStatus> {
  return new Promise((resolve) => {
    const onStatus = (s: VmStatus) => {
      if (s.state !== state) return;
      session.off('status', onStatus);
      resolve(s);
    };
    session.on('status', onStatus);
  });
}

/** The run folders in the temp folder whose pid file names process `pid`. */
export async function runFoldersOf(pid: number): Promise<string[]> {
  const theirs: string[] = [];
  for (const name of await readdir(os.tmpdir())) {
    if (!name.startsWith('farfetchd-lab-')) continue;
    const owner = await readFile(path.join(os.tmpdir(), name, 'pid'), 'utf8').catch(() => '');
    if (owner === `${pid}\n`) theirs.push(name);
  }
  return theirs;
}

/** The run folders this test process's sessions have (or left behind). */
export function runFoldersOfThisProcess(): Promise<string[]> {
  return runFoldersOf(process.pid);
}

/**
 * What the lab itself decides about the accelerator on this machine with `env` (the remembered
 * verdict, else a probe boot): what a session, `run` and the UI must then show. Tests compare
 * with it instead of assuming what this machine has.
 */
export async function labAcceleratorDecision(
  env: NodeJS.ProcessEnv = process.env,
): Promise<AcceleratorDecision> {
  const image = loadImage(imageDir(env));
  return decideAccelerator({
    qemuBinary: findQemu({ env }),
    kernelPath: image.kernelPath,
    kernelKey: image.manifest.kernelKey,
    env,
  });
}

/** The choice itself, without how it was reached (a probe now, or remembered from one). */
export function acceleratorChoice(
  info: AcceleratorInfo | undefined,
): Omit<AcceleratorInfo, 'source'> | undefined {
  if (!info) return undefined;
  const { accel, label, fallbackReason } = info;
  return fallbackReason === undefined ? { accel, label } : { accel, label, fallbackReason };
}
