// `farfetchd-lab bench`'s boot rows timed from start() until the prompt is usable: a session that
// boots the kernel (no warm snapshot, docs/benchmarks.md, "Cold boot"), and a warm start with a
// workspace shared, as the app's is (its prompt waits for the share's mount).
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LabSession, type LabSessionOptions } from './session.ts';
import { GUEST_PROMPT } from './warm-state.ts';

export interface ColdBootTimes {
  /** start() → the shell's prompt on the console. */
  prompt: number;
  /** start() → the session is ready (the agent answered, the console is sized). */
  ready: number;
  /** The later of the two: the student sees a prompt and the lab takes commands. */
  usable: number;
}

/** Boots `boots` cold sessions one after the other and times each. */
export async function timeColdBoots(
  boots: number,
  progress: (msg: string) => void,
): Promise<ColdBootTimes[]> {
  const times: ColdBootTimes[] = [];
  for (let i = 0; i < boots; i++) {
    progress(`cold boot ${i + 1}/${boots}`);
    times.push(await timeBoot({ warmBoot: false }));
  }
  return times;
}

/** Warm starts sharing a workspace folder; a first start, not timed, makes that shape's snapshot. */
export async function timeWarmStartsWithWorkspace(
  boots: number,
  progress: (msg: string) => void,
): Promise<ColdBootTimes[]> {
  const workspace = await mkdtemp(path.join(os.tmpdir(), 'lab-bench-ws-'));
  try {
    await timeBoot({ workspace });
    const times: ColdBootTimes[] = [];
    for (let i = 0; i < boots; i++) {
      progress(`warm start with a workspace ${i + 1}/${boots}`);
      times.push(await timeBoot({ workspace }));
    }
    return times;
  } finally {
    await rm(workspace, { recursive: true, force: true });
  }
}

async function timeBoot(opts: LabSessionOptions): Promise<ColdBootTimes> {
  const session = new LabSession(opts);
  try {
    let seen = '';
    let prompt = 0;
    const t0 = performance.now();
    const prompted = new Promise<void>((resolve) => {
      const onData = (data: string) => {
        seen = (seen + data).slice(-4096);
        if (!seen.includes(GUEST_PROMPT)) return;
        prompt = performance.now() - t0;
        session.off('console', onData);
        resolve();
      };
      session.on('console', onData);
    });
    await session.start();
    const ready = performance.now() - t0;
    await withTimeout(prompted, 120_000, 'the guest printed no prompt');
    return { prompt, ready, usable: Math.max(prompt, ready) };
  } finally {
    await session.stop();
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${message} within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
