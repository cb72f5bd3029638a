// The `farfetchd-lab bench` rows of Suspend and Resume: a machine with a workspace, its shell in
// /root/work and a module loaded, suspended; then a new LabSession (as after closing the app)
// resumes it. Measured: the suspend, the resume until resume() resolves (clock set, share mounted,
// shells back, console sized) and until the shell's prompt is on the console again.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LabSession } from './session.ts';

/** Resolves once the console shows `text` (from now on). */
function consoleShows(session: LabSession, text: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`the console never showed ${text}`)), timeoutMs);
    const onData = (data: string) => {
      seen += data;
      if (!seen.includes(text)) return;
      clearTimeout(timer);
      session.off('console', onData);
      resolve();
    };
    session.on('console', onData);
  });
}

export async function timeSuspendResume(
  rounds: number,
): Promise<{ suspend: number[]; resume: number[]; resumePrompt: number[] }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-suspend-'));
  const opts = { workspace: path.join(dir, 'ws'), savedSessions: path.join(dir, 'sessions') };
  const out = { suspend: [] as number[], resume: [] as number[], resumePrompt: [] as number[] };
  try {
    await mkdir(opts.workspace);
    let session = new LabSession(opts);
    await session.start();
    await session.loadModule('p1');
    const inside = consoleShows(session, 'bench-in-work', 120_000);
    session.writeConsole('sleep 1000 & cd /root/work && echo bench-in-$(basename $PWD)\n');
    await inside;
    for (let r = 0; r < rounds; r++) {
      let t0 = performance.now();
      await session.suspend();
      out.suspend.push(performance.now() - t0);
      await session.stop();
      session = new LabSession(opts);
      t0 = performance.now();
      const prompt = consoleShows(session, '[farfetchd-lab guest]', 120_000).then(
        () => performance.now() - t0,
      );
      await session.resume();
      out.resume.push(performance.now() - t0);
      out.resumePrompt.push(await prompt);
    }
    await session.stop();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return out;
}
