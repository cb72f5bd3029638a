// `farfetchd-lab bench`'s cold boot rows: a session that boots the kernel (no warm snapshot),
// from start() until its prompt is usable (docs/benchmarks.md, "Cold boot").
import { LabSession } from './session.ts';
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
    times.push(await timeColdBoot());
  }
  return times;
}

async function timeColdBoot(): Promise<ColdBootTimes> {
  const session = new LabSession({ warmBoot: false });
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
    await withTimeout(prompted, 120_000, 'the cold-booted guest printed no prompt');
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
