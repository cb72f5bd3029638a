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
