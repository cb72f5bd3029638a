// `farfetchd-lab bench`: measures the lab's speed on this machine. Prints a table, or JSON.
// Benchmarks never fail a test run; they are how speed goals are checked (docs/benchmarks.md).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { timeAcceleratorDecision } from './bench-accel.ts';
import { timeColdBoots, timeWarmStartsWithWorkspace } from './bench-boot.ts';
import { timeWholeExec } from './bench-cli.ts';
import { imageBuildTimes } from './bench-image.ts';
import { childQemuPids, sampleIdleCost, timeResetAfterPanic } from './bench-session.ts';
import { timeSuspendResume } from './bench-suspend.ts';
import { gradePart } from './grader.ts';
import { loadImage, repoRoot } from './image.ts';
import { createIntrospect } from './introspect.ts';
import { LabSession } from './session.ts';
import { assemblePart, readPartSources } from './workspace-parts.ts';

type Out = { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream };

/** A speed goal (issue 12's table, docs/benchmarks.md): the median must be at most / at least `value`. */
export interface BenchGoal {
  atMost?: number;
  atLeast?: number;
}

export interface BenchResult {
  name: string;
  unit: 'ms' | 's' | 'MiB/s' | 'x' | '%' | 'MiB' | 'compiles';
  samples: number;
  median: number;
  min: number;
  max: number;
  /** Absent where no goal has been set for the row. */
  goal?: BenchGoal;
  /** Whether the median meets the goal; absent with the goal. */
  goalMet?: boolean;
}

export function summarize(
  name: string,
  unit: BenchResult['unit'],
  values: number[],
  goal?: BenchGoal,
): BenchResult {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  const result: BenchResult = {
    name,
    unit,
    samples: values.length,
    median,
    min: sorted[0]!,
    max: sorted[sorted.length - 1]!,
  };
  if (goal) {
    result.goal = goal;
    result.goalMet =
      (goal.atMost === undefined || median <= goal.atMost) &&
      (goal.atLeast === undefined || median >= goal.atLeast);
  }
  return result;
}

/** "≤ 500 (met)", "≥ 1.00 (missed)", or "none set". */
export function formatGoal(r: BenchResult): string {
  if (!r.goal) return 'none set';
  const bound = r.goal.atMost !== undefined ? `≤ ${r.goal.atMost}` : `≥ ${r.goal.atLeast}`;
  return `${bound} (${r.goalMet ? 'met' : 'missed'})`;
}

export function formatTable(results: BenchResult[]): string {
  const rows = results.map((r) => [
    r.name,
    r.median.toFixed(2),
    formatGoal(r),
    r.min.toFixed(2),
    r.max.toFixed(2),
    r.unit,
    String(r.samples),
  ]);
  const header = ['benchmark', 'median', 'goal', 'min', 'max', 'unit', 'n'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** Waits until the console has printed `text` (after `from`), or rejects after timeoutMs. */
function waitForConsole(session: LabSession, text: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => {
      session.off('console', onData);
      reject(new Error(`console did not print ${JSON.stringify(text)} within ${timeoutMs} ms`));
    }, timeoutMs);
    const onData = (data: string) => {
      seen += data;
      if (seen.includes(text)) {
        clearTimeout(timer);
        session.off('console', onData);
        resolve();
      }
    };
    session.on('console', onData);
  });
}

/** A whole `check` of the reference Part 3, as a student's folder (workspace init's, solved). */
async function timeCheckOfOnePart(): Promise<number> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-check-'));
  try {
    const sources = await readPartSources(path.join(repoRoot, 'kernel-module'), 3);
    for (const file of assemblePart(sources, 'solution'))
      await writeFile(path.join(dir, file.path), file.text, { mode: file.mode });
    const [ms, report] = await time(() => gradePart({ part: 3, src: dir }));
    if (report.score !== report.maxScore)
      throw new Error(`the reference Part 3 scored ${report.score}/${report.maxScore}`);
    return ms;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function time<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t0 = performance.now();
  const value = await fn();
  return [performance.now() - t0, value];
}

export async function runBenchmarks(opts: {
  json: boolean;
  out: Out;
  boots?: number;
  rounds?: number;
}): Promise<number> {
  const boots = opts.boots ?? 3;
  const rounds = opts.rounds ?? 30;
  const progress = (msg: string) => opts.out.stderr.write(`bench: ${msg}\n`);
  const bootToPrompt: number[] = [];
  const bootToAgent: number[] = [];
  const execRoundTrip: number[] = [];
  const agentRoundTrip: number[] = [];
  const echo: number[] = [];
  const moduleBuild: number[] = [];
  const moduleRebuild: number[] = [];
  const moduleNoop: number[] = [];
  const farfetchMiBps: number[] = [];
  const pvrMiBps: number[] = [];
  const walkRoundTrip: number[] = [];
  const hostVerify: number[] = [];
  const driversRoundTrip: number[] = [];
  const processesRoundTrip: number[] = [];
  const resetReady: number[] = [];
  const resetPrompt: number[] = [];
  const idleCpu: number[] = [];
  const idleRss: number[] = [];
  let accel = '';
  progress('accelerator decision: probed, then remembered');
  const decision = await timeAcceleratorDecision(5);
  progress('farfetchd-lab exec -- true, the whole command');
  const wholeExec = await timeWholeExec(5);
  const coldBoots = await timeColdBoots(boots, progress);
  const sharedStarts = await timeWarmStartsWithWorkspace(boots, progress);
  for (let i = 0; i < boots; i++) {
    progress(`boot ${i + 1}/${boots}`);
    const session = new LabSession();
    const t0 = performance.now();
    // The prompt appears once bash has read its profile; the agent may answer before or after.
    const prompt = waitForConsole(session, '[farfetchd-lab guest]', 120_000).then(
      () => performance.now() - t0,
    );
    await session.start();
    bootToAgent.push(performance.now() - t0);
    bootToPrompt.push(await prompt);
    accel = session.status().accelerator?.label ?? '';
    if (i === 0) {
      progress('exec and agent round trips');
      for (let r = 0; r < rounds; r++) {
        execRoundTrip.push((await time(() => session.run('/bin/true', [])))[0]);
        agentRoundTrip.push((await time(() => session.agentPing()))[0]);
      }
      progress('panel queries: page walk (guest + host re-walk), drivers, processes');
      const introspect = createIntrospect(session);
      const target = await session.sh(
        'mmap </dev/null >/tmp/bench-mmap.out 2>&1 & sleep 0.5; cat /tmp/bench-mmap.out',
      );
      const pid = Number(/^pid: (\d+)$/m.exec(target)?.[1]);
      const addr = /^addr: (0x[0-9a-f]+)$/m.exec(target)?.[1] ?? '';
      for (let r = 0; r < rounds; r++) {
        const [ms, walk] = await time(() => introspect.pageWalk(pid, addr));
        if (!walk.host.verified) throw new Error(`the host did not verify the walk: ${walk.host.difference}`);
        walkRoundTrip.push(ms);
        hostVerify.push(walk.host.ms);
        driversRoundTrip.push((await time(() => introspect.drivers()))[0]);
        processesRoundTrip.push((await time(() => introspect.processes()))[0]);
      }
      await session.sh(`kill ${pid}`);
      progress('console echo');
      for (let r = 0; r < rounds; r++) {
        const marker = String.fromCharCode(97 + (r % 26));
        const [ms] = await time(async () => {
          const echoed = waitForConsole(session, marker, 10_000);
          session.writeConsole(marker);
          await echoed;
        });
        echo.push(ms);
        session.writeConsole('\x7f');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      progress('module build in the guest (farfetch_p3)');
      const build = (cmd: string) => time(() => session.sh(cmd, 600_000));
      await session.sh('cp -r /usr/src/farfetch /root/farfetch');
      moduleBuild.push((await build('make -C /root/farfetch/farfetch_p3'))[0]);
      await session.sh('touch /root/farfetch/farfetch_p3/farfetch_p3.c');
      moduleRebuild.push((await build('make -C /root/farfetch/farfetch_p3'))[0]);
      moduleNoop.push((await build('make -C /root/farfetch/farfetch_p3'))[0]);
      progress('FAR_READ (p2) against process_vm_readv, 1 MiB');
      await session.loadModule('p2');
      for (let r = 0; r < 3; r++) {
        const json = JSON.parse(await session.sh('/usr/local/libexec/farfetch/farfetch_bench 1 50')) as {
          farfetchMiBps: number;
          processVmReadvMiBps: number;
        };
        farfetchMiBps.push(json.farfetchMiBps);
        pvrMiBps.push(json.processVmReadvMiBps);
      }
      progress('an idle guest: host CPU and memory over 10 s');
      const idle = await sampleIdleCost(await childQemuPids(), 10);
      idleCpu.push(idle.cpuPercent);
      idleRss.push(idle.rssMiB);
      progress('reset after a panic');
      for (let r = 0; r < 3; r++) {
        const reset = await timeResetAfterPanic(session, () =>
          waitForConsole(session, '[farfetchd-lab guest]', 120_000),
        );
        resetReady.push(reset.ready);
        resetPrompt.push(reset.prompt);
      }
    }
    await session.stop();
  }
  progress('suspend, then resume in a new session (as after closing the app)');
  const suspended = await timeSuspendResume(3);
  progress('check of one part (the reference farfetch_p3, in a fresh guest)');
  const checkOfPart = [await timeCheckOfOnePart()];
  const results = [
    summarize('accelerator decision, first start (probe)', 'ms', decision.first),
    summarize('accelerator decision, remembered', 'ms', decision.remembered),
    summarize('farfetchd-lab exec -- true, whole command', 'ms', wholeExec, { atMost: 500 }),
    summarize('boot to shell prompt', 'ms', bootToPrompt, { atMost: 250 }),
    summarize('boot to agent ready', 'ms', bootToAgent),
    summarize(
      'boot to shell prompt, workspace shared (waits for its mount)',
      'ms',
      sharedStarts.map((b) => b.prompt),
    ),
    summarize(
      'cold boot to a usable prompt (no snapshot)',
      'ms',
      coldBoots.map((b) => b.usable),
      { atMost: 1000 },
    ),
    summarize(
      'cold boot to the prompt on the console',
      'ms',
      coldBoots.map((b) => b.prompt),
    ),
    summarize(
      'cold boot to session ready',
      'ms',
      coldBoots.map((b) => b.ready),
    ),
    summarize('exec round trip (/bin/true)', 'ms', execRoundTrip),
    summarize('agent round trip (guest-ping)', 'ms', agentRoundTrip),
    summarize('console echo latency', 'ms', echo),
    summarize('panel query round trip (pageWalk)', 'ms', walkRoundTrip, { atMost: 50 }),
    summarize('host verification of a walk (QMP xp)', 'ms', hostVerify),
    summarize('panel query round trip (drivers)', 'ms', driversRoundTrip, { atMost: 50 }),
    summarize('panel query round trip (processes)', 'ms', processesRoundTrip, { atMost: 50 }),
    summarize('module build in guest, first (p3)', 'ms', moduleBuild, { atMost: 8000 }),
    summarize('module build in guest, after an edit', 'ms', moduleRebuild, { atMost: 4000 }),
    summarize('module build in guest, nothing changed', 'ms', moduleNoop, { atMost: 1000 }),
    summarize('reset after a panic, to a usable prompt', 'ms', resetPrompt, { atMost: 400 }),
    summarize('reset after a panic, to agent ready', 'ms', resetReady),
    summarize('idle guest: host CPU, QEMU + this process', '%', idleCpu, { atMost: 3 }),
    summarize('idle guest: host RSS, QEMU + this process', 'MiB', idleRss, { atMost: 1024 }),
    summarize('FAR_READ 1 MiB, farfetch_p2', 'MiB/s', farfetchMiBps),
    summarize('process_vm_readv 1 MiB', 'MiB/s', pvrMiBps),
    summarize(
      'FAR_READ / process_vm_readv, same run',
      'x',
      farfetchMiBps.map((mibps, i) => mibps / pvrMiBps[i]!),
      { atLeast: 1 },
    ),
    summarize('check of one part (p3, boot to report)', 'ms', checkOfPart, { atMost: 45_000 }),
    summarize('suspend a running machine (shell in /root/work)', 'ms', suspended.suspend),
    summarize('resume a saved session (processes, module, shell history)', 'ms', suspended.resume, {
      atMost: 500,
    }),
    summarize('resume a saved session, to the shell prompt', 'ms', suspended.resumePrompt),
  ];
  const built = imageBuildTimes(loadImage().manifest);
  if (typeof built === 'string') progress(`guest image build: not shown, ${built}`);
  else {
    results.push(
      summarize(
        'guest image build from nothing, as recorded: both kernels + rootfs + image',
        's',
        [built.all],
        {
          atMost: 300,
        },
      ),
      summarize("guest image build, as recorded, without the tests' debug kernel", 's', [built.labOnly]),
    );
    const hits = built.ccacheHits;
    if (hits.kernel !== null)
      results.push(summarize('kernel compiles ccache answered (lab kernel)', 'compiles', [hits.kernel]));
    if (hits.kernelDebug !== null) {
      results.push(
        summarize('kernel compiles ccache answered (debug kernel)', 'compiles', [hits.kernelDebug]),
      );
    }
    if (hits.kernel === null) progress('guest image build: how much ccache answered was not recorded');
  }
  const machine = {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? '',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    accelerator: accel,
  };
  const json = JSON.stringify({ machine, results }, null, 2) + '\n';
  if (opts.json) opts.out.stdout.write(json);
  else
    opts.out.stdout.write(
      `machine: ${machine.cpus} cores, ${machine.cpuModel}, ${machine.memoryGiB} GiB; accelerator: ${accel}\n${formatTable(results)}\n\n${json}`,
    );
  return 0;
}
