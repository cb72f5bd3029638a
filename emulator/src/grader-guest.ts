// One fresh guest of a grading run: upload the student's sources, build them (with debug info,
// so that an oops names a file:line), load the module, make the device node (Part 3), run the
// suite's cases and the course's scripts, unload. Each step gives outcomes of checks. An oops
// ends the guest: the case that was running fails with the oops's excerpt and file:line, the
// cases after it are left for a fresh guest (grader.ts), which skips what is already decided.
import path from 'node:path';
import type { CrashInfo } from './api.ts';
import type { CheckSpec, Part } from './grader-checks.ts';
import { parseTap, type Outcome } from './grader-report.ts';
import { moduleAddressOf, parseFaddr2line } from './oops-address.ts';
import { LabSession, type RunResult } from './session.ts';

export const GUEST_SRC = '/root/check/src';
export const SUITE = '/usr/local/libexec/farfetch/farfetch_tests';
const TAP_FILE = '/root/check/suite.tap';
// Above the slowest case's own limit (p2_clamps_len_to_max_rw_count, 1200 s: 2 GiB copied).
const SUITE_TIMEOUT_MS = 1_800_000;
/** How long a suite may go on after an oops before the guest is let go (the oopsed task may hang). */
const AFTER_OOPS_MS = 20_000;

export interface SourceFile {
  relative: string;
  data: Buffer;
  mode: number;
}

export interface GuestRunOptions {
  part: Part;
  sources: SourceFile[];
  /** The part's checks (checksForPart). */
  checks: CheckSpec[];
  /** Checks an earlier guest decided: not run again. */
  decided: ReadonlySet<string>;
  log: (line: string) => void;
  signal?: AbortSignal;
}

export interface GuestRun {
  outcomes: Map<string, Outcome>;
  /** An oops or a hang ended this guest early: checks without an outcome need a fresh one. */
  interrupted: boolean;
}

const text = (r: RunResult) => (r.stdout.toString() + r.stderr.toString()).trim();
const fail = (detail: string): Outcome => ({ status: 'fail', detail });
const pass: Outcome = { status: 'pass', detail: '' };

/** The lines of a build log a student should read first: errors, else the end. */
export function buildExcerpt(log: string): string {
  const lines = log.split('\n').filter((l) => !/^make(\[\d+\])?: (Entering|Leaving) directory/.test(l));
  const errors = lines.filter((l) => /error|undefined!|No rule to make target/i.test(l));
  return (errors.length ? errors.slice(0, 12) : lines.slice(-12)).join('\n');
}

/**
 * Where in the module an oops happened: the faulting RIP if it is the module's, else the first
 * call-trace frame in it that the unwinder is sure of (no "? "), else an unsure one.
 */
export function oopsAddress(log: string, module: string) {
  const lines = log.split('\n');
  const inModule = (l: string) => {
    const a = moduleAddressOf(l);
    return a !== null && a.module === module ? a : null;
  };
  const rip = lines
    .filter((l) => l.includes('RIP: '))
    .map(inModule)
    .find((a) => a !== null);
  const sure = lines
    .filter((l) => !/\s\? /.test(l))
    .map(inModule)
    .find((a) => a !== null);
  return rip ?? sure ?? lines.map(inModule).find((a) => a !== null) ?? null;
}

/**
 * faddr2line's answer as the student's file:line: the innermost line in their folder (an inlined
 * kernel helper such as mmap_read_lock_killable() is where the instruction is, but the student's
 * call of it is what to fix), else the innermost line at all.
 */
export function studentLocation(output: string, ko: string) {
  const all = output
    .split('\n')
    .map((l) => parseFaddr2line(l, ko))
    .filter((l) => l !== null);
  return all.find((l) => l.file.startsWith(`${GUEST_SRC}/`)) ?? all[0] ?? null;
}

/** The oops as a failed check's detail: headline, file:line (or why none), the log excerpt. */
export function oopsDetail(crash: CrashInfo, where: string): string {
  const lines = crash.log.split('\n');
  const start = Math.max(
    0,
    lines.findIndex((l) => l.includes(crash.headline.slice(0, 40))),
  );
  const excerpt = lines.slice(start, start + 14).map((l) => `  | ${l.trimEnd()}`);
  return [`expected no oops, got: ${crash.headline}`, where, 'kernel log:', ...excerpt].join('\n');
}

export async function runInGuest(opts: GuestRunOptions): Promise<GuestRun> {
  const { part, checks, decided, log } = opts;
  const outcomes = new Map<string, Outcome>();
  const session = new LabSession();
  let crash: CrashInfo | undefined;
  const crashed = new Promise<'crashed'>((resolve) =>
    session.on('crash', (c) => {
      crash = c;
      resolve('crashed');
    }),
  );
  /** `p`, unless the kernel crashes first. */
  const guarded = <T>(p: Promise<T>): Promise<T | 'crashed'> => {
    p.catch(() => undefined);
    return Promise.race([p, crashed]);
  };
  const onAbort = () => void session.stop();
  opts.signal?.addEventListener('abort', onAbort);
  let ko = '';
  let moduleName = '';
  /** The oops's detail, with file:line from the .ko (faddr2line in the oopsed guest). */
  const crashDetail = async (): Promise<string> => {
    const c = crash!;
    const addr = moduleName ? oopsAddress(c.log, moduleName) : null;
    if (!addr) return oopsDetail(c, 'at: no line of the oops is in your module');
    let where = `at: ${addr.symbolOffset} [${addr.module}] (no line: faddr2line could not run after this crash)`;
    if (c.kind === 'oops') {
      const script =
        '[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd; exec /lib/modules/$(uname -r)/build/scripts/faddr2line "$0" "$1"';
      const r = await session
        .runAfterOops('/bin/sh', ['-c', script, ko, addr.symbolOffset.replace(/\/.*/, '')], {
          timeoutMs: 30_000,
        })
        .catch(() => null);
      const loc = r ? studentLocation(r.stdout.toString(), ko) : null;
      if (loc)
        where = `at: ${path.posix.relative(GUEST_SRC, loc.file)}:${loc.line} (${loc.function}, ${addr.symbolOffset})`;
    }
    return oopsDetail(c, where);
  };
  const firstTime = (name: string) => !decided.has(name) && checks.some((c) => c.name === name);
  try {
    log(`booting a fresh guest`);
    await session.start();
    for (const f of opts.sources) {
      const guestPath = `${GUEST_SRC}/${f.relative}`;
      await session.sh(`mkdir -p '${path.posix.dirname(guestPath)}'`);
      await session.putFile(guestPath, f.data, f.mode);
    }
    log(`make (${opts.sources.length} files, with debug info for file:line)`);
    const build = await session.run('/bin/sh', ['-c', `make -j"$(nproc)" -C ${GUEST_SRC} KCFLAGS=-g 2>&1`], {
      timeoutMs: 600_000,
    });
    if (build.exitCode !== 0) {
      outcomes.set(
        'module_builds',
        fail(`expected make to exit 0, got ${build.exitCode}:\n${buildExcerpt(text(build))}`),
      );
      return { outcomes, interrupted: false };
    }
    const kos = (await session.sh(`cd ${GUEST_SRC} && ls *.ko 2>/dev/null || true`))
      .split('\n')
      .filter(Boolean);
    if (kos.length !== 1) {
      outcomes.set(
        'module_builds',
        fail(
          `expected make to build one .ko in the folder, got ${kos.length}${kos.length ? `: ${kos.join(' ')}` : ''}`,
        ),
      );
      return { outcomes, interrupted: false };
    }
    ko = `${GUEST_SRC}/${kos[0]!}`;
    moduleName = kos[0]!.replace(/\.ko$/, '').replace(/-/g, '_');
    if (firstTime('module_builds')) outcomes.set('module_builds', pass);

    log(`insmod ${kos[0]!}`);
    const load = await guarded(
      session.run('/bin/sh', ['-c', `insmod ${ko} 2>&1 || { s=$?; dmesg | tail -n 5; exit $s; }`]),
    );
    if (load === 'crashed') {
      outcomes.set('module_loads', fail(await crashDetail()));
      return { outcomes, interrupted: false };
    }
    if (load.exitCode !== 0) {
      outcomes.set('module_loads', fail(`expected insmod to succeed, got:\n${text(load)}`));
      return { outcomes, interrupted: false };
    }
    if (firstTime('module_loads')) outcomes.set('module_loads', pass);
    if (part === 3) {
      const dev = await session.run('/bin/sh', [
        '-c',
        [
          'major=$(awk \'$2 == "farfetch" { print $1 }\' /proc/devices)',
          '[ -n "$major" ] || { echo "expected a character device named farfetch in /proc/devices, got none"; exit 1; }',
          'rm -f /dev/farfetch && mknod -m 0666 /dev/farfetch c "$major" 0',
        ].join('\n'),
      ]);
      if (dev.exitCode !== 0) {
        outcomes.set('device_registered', fail(text(dev)));
        return { outcomes, interrupted: false };
      }
      if (firstTime('device_registered')) outcomes.set('device_registered', pass);
    }

    const interrupted = await runCases();
    if (interrupted) return { outcomes, interrupted: true };
    for (const c of checks.filter((c) => c.kind === 'script' && !decided.has(c.name))) {
      log(`check ${c.name} (script)`);
      const env = `MODULE=${moduleName} KO=${ko} PART=${part} SRC=${GUEST_SRC}; export MODULE KO PART SRC\n`;
      const r = await guarded(
        session.run('/bin/sh', ['-c', env + c.script!], { timeoutMs: 300_000 }).catch((e: Error) => e),
      );
      if (r === 'crashed') {
        outcomes.set(c.name, fail(await crashDetail()));
        return { outcomes, interrupted: true };
      }
      outcomes.set(
        c.name,
        r instanceof Error
          ? fail(r.message)
          : r.exitCode === 0
            ? { status: 'pass', detail: text(r) }
            : fail(text(r) || `expected exit 0, got ${r.exitCode}`),
      );
    }
    if (checks.some((c) => c.kind === 'unload')) {
      log(`rmmod ${moduleName}`);
      const r = await guarded(
        session.run('/bin/sh', ['-c', `rmmod ${moduleName} 2>&1`], { timeoutMs: 60_000 }),
      );
      if (r === 'crashed') {
        outcomes.set('module_unloads', fail(await crashDetail()));
        return { outcomes, interrupted: false };
      }
      outcomes.set(
        'module_unloads',
        r.exitCode === 0 ? pass : fail(`expected rmmod to succeed, got:\n${text(r)}`),
      );
      const after = checks.filter((c) => c.kind === 'unloaded-case');
      if (r.exitCode === 0 && after.length > 0) {
        const tap = await session.run(SUITE, ['--module', 'p3', '--unloaded'], { timeoutMs: 120_000 });
        const results = parseTap(tap.stdout.toString());
        for (const c of after) {
          const got = results.find((t) => t.name === c.case);
          outcomes.set(
            c.name,
            got
              ? got.outcome
              : fail(
                  `the in-guest suite has no case ${c.case}: the guest image is older than the grader (npx farfetchd-lab image)`,
                ),
          );
        }
      }
    }
    return { outcomes, interrupted: false };
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    await session.stop();
  }

  /** The suite's cases not yet decided, in one run; true when an oops or a hang cut it short. */
  async function runCases(): Promise<boolean> {
    const wanted = checks.filter((c) => c.kind === 'case' && !decided.has(c.name));
    if (wanted.length === 0) return false;
    const listed = (await session.run(SUITE, ['--module', `p${part}`, '--list'])).stdout
      .toString()
      .split('\n')
      .filter(Boolean);
    const want = new Set(wanted.map((c) => c.case!));
    for (const c of wanted) {
      if (!listed.includes(c.case!)) {
        outcomes.set(
          c.name,
          fail(
            `the in-guest suite has no case ${c.case} for part ${part}: the guest image is older than the grader's checks (npx farfetchd-lab image)`,
          ),
        );
      }
    }
    const order = listed.filter((n) => want.has(n));
    if (order.length === 0) return false;
    const skips = listed.filter((n) => !want.has(n)).flatMap((n) => ['--skip', n]);
    log(`running ${order.length} checks of the in-guest suite`);
    const run = session.run(
      '/bin/sh',
      ['-c', `"$0" "$@" | tee ${TAP_FILE}`, SUITE, '--module', `p${part}`, ...skips],
      {
        timeoutMs: SUITE_TIMEOUT_MS,
      },
    );
    let finished = await guarded(
      run.then(
        (r) => r,
        (e: Error) => e,
      ),
    );
    if (finished === 'crashed') {
      log(`the guest kernel oopsed: ${crash!.headline}`);
      const late = await Promise.race([
        run.catch(() => null),
        new Promise((r) => setTimeout(r, AFTER_OOPS_MS)),
      ]);
      finished =
        late && typeof late === 'object' && 'exitCode' in late
          ? (late as RunResult)
          : new Error('stopped after the oops');
    }
    let tap: string;
    if (!(finished instanceof Error)) tap = finished.stdout.toString();
    else {
      const saved = await session
        .runAfterOops('/bin/cat', [TAP_FILE], { timeoutMs: 20_000 })
        .catch(() => null);
      tap = saved ? saved.stdout.toString() : '';
    }
    const results = parseTap(tap);
    const byCase = new Map(wanted.map((c) => [c.case!, c]));
    if (!crash && !(finished instanceof Error)) {
      for (const r of results) if (byCase.has(r.name)) outcomes.set(byCase.get(r.name)!.name, r.outcome);
      return false;
    }
    // Cut short: the case that was running is the one the oops killed (else the first without a
    // result); results after it ran on a damaged kernel and are run again in a fresh guest.
    const reported = new Set(results.map((r) => r.name));
    const culprit = crash ? results.find((r) => r.killed)?.name : undefined;
    const stopAt = culprit ?? order.find((n) => !reported.has(n));
    for (const r of results) {
      if (r.name === stopAt) break;
      if (byCase.has(r.name)) outcomes.set(byCase.get(r.name)!.name, r.outcome);
    }
    if (stopAt !== undefined) {
      const check = byCase.get(stopAt)!;
      outcomes.set(
        check.name,
        fail(
          crash
            ? await crashDetail()
            : `expected the case to finish, got no answer within ${SUITE_TIMEOUT_MS / 1000} s (${(finished as Error).message}): the guest hung`,
        ),
      );
    }
    return true;
  }
}
