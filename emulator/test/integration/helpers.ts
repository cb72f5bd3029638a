// Runs the real `farfetchd-lab` command (the same entry point `npx farfetchd-lab` runs).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from '../../src/image.ts';

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
