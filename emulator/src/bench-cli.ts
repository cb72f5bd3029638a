// `farfetchd-lab exec -- true` timed as a user runs it: a whole new Node process each time
// (Node start-up, loading the CLI, a throwaway guest from the warm snapshot, the command, the
// guest's end). The first run is not counted: it may compile the CLI's bundle or make the
// warm snapshot.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from './image.ts';

const cliPath = path.join(repoRoot, 'emulator', 'bin', 'farfetchd-lab.js');

function runOnce(): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, 'exec', '--', 'true'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(performance.now() - t0);
      else reject(new Error(`farfetchd-lab exec -- true exited ${code}: ${stderr.trim()}`));
    });
  });
}

/** Wall ms of `runs` whole `farfetchd-lab exec -- true` commands, one after another. */
export async function timeWholeExec(runs: number): Promise<number[]> {
  await runOnce();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await runOnce());
  return times;
}
