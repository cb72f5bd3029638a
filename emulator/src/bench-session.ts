// Two `farfetchd-lab bench` rows about a running session: the reset after a kernel panic (back
// to the warm snapshot, workspace remounted) and what an idle guest costs the host (CPU and
// memory of its QEMU and of this process, sampled over 10 s).
import { readdir, readFile } from 'node:fs/promises';
import type { LabSession } from './session.ts';

/** ms from a `reset()` after a sysrq panic until `start`'s promise and until the shell prompt. */
export async function timeResetAfterPanic(
  session: LabSession,
  waitForPrompt: () => Promise<void>,
): Promise<{ ready: number; prompt: number }> {
  const crashed = new Promise<void>((resolve) => session.once('crash', () => resolve()));
  session.writeConsole('echo c > /proc/sysrq-trigger\n');
  await crashed;
  const t0 = performance.now();
  const prompt = waitForPrompt().then(() => performance.now() - t0);
  await session.reset();
  const ready = performance.now() - t0;
  return { ready, prompt: await prompt };
}

/** The fields of /proc/PID/stat this needs: comm, ppid, utime + stime in clock ticks. */
export function parseProcStat(text: string): { comm: string; ppid: number; cpuTicks: number } {
  // comm is in parentheses and may hold spaces or ')': the fields follow the last ')'.
  const close = text.lastIndexOf(')');
  const comm = text.slice(text.indexOf('(') + 1, close);
  const fields = text
    .slice(close + 2)
    .trim()
    .split(' ');
  // fields[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
  return { comm, ppid: Number(fields[1]), cpuTicks: Number(fields[11]) + Number(fields[12]) };
}

/** The QEMU processes this process started (setpriv execs QEMU: same pid, our child). */
export async function childQemuPids(): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    if (!stat) continue;
    const { comm, ppid } = parseProcStat(stat);
    if (ppid === process.pid && comm.startsWith('qemu-system')) pids.push(Number(entry));
  }
  return pids;
}

async function rssKiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? 0);
}

/** Linux's USER_HZ, what /proc/PID/stat counts in (100 on every mainstream architecture). */
const TICKS_PER_SECOND = 100;

/**
 * Percent of one core used by `pids` (QEMU) plus this process over `seconds`, and their largest
 * summed resident memory in MiB, sampled once a second.
 */
export async function sampleIdleCost(
  pids: number[],
  seconds = 10,
): Promise<{ cpuPercent: number; rssMiB: number }> {
  const ticks = async () => {
    let sum = 0;
    for (const pid of pids) sum += parseProcStat(await readFile(`/proc/${pid}/stat`, 'utf8')).cpuTicks;
    return sum;
  };
  const ticks0 = await ticks();
  const self0 = process.cpuUsage();
  const t0 = performance.now();
  let peak = 0;
  for (let s = 0; s < seconds; s++) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    let kib = process.memoryUsage().rss / 1024;
    for (const pid of pids) kib += await rssKiB(pid);
    peak = Math.max(peak, kib);
  }
  const wallS = (performance.now() - t0) / 1000;
  const self = process.cpuUsage(self0);
  const cpuS = ((await ticks()) - ticks0) / TICKS_PER_SECOND + (self.user + self.system) / 1e6;
  return { cpuPercent: (100 * cpuS) / wallS, rssMiB: peak / 1024 };
}
