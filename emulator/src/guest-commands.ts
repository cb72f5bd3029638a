// Commands in the guest through its agent, on a given QEMU process: what LabSession's run()
// and sh() do, and what its boot does before the machine is ready.
import { winsizeArgs, type ConsoleSize } from './console-size.ts';
import { hostHasVirtfs, type HostPlatform } from './qemu-args.ts';
import type { LabProcess } from './qemu-process.ts';
import { describeExit } from './session-state.ts';

export interface RunResult {
  exitCode: number;
  signal?: number;
  stdout: Buffer;
  stderr: Buffer;
}

export class GuestCommandError extends Error {
  constructor(
    message: string,
    readonly result: RunResult,
  ) {
    super(message);
    this.name = 'GuestCommandError';
  }
}

/** The environment commands run with through the agent (qemu-ga passes no PATH of its own to gcc & co.). */
export const guestEnv = [
  'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  'HOME=/root',
  'LANG=C.UTF-8',
  'TERM=xterm-256color',
];

/** Per process: how it ended, once it has, and the races waiting on it until then. */
interface ExitWatch {
  error?: Error;
  readonly waiting: Set<(err: Error) => void>;
}
const watches = new WeakMap<LabProcess, ExitWatch>();

/** One reaction to `exited` per process; each race leaves the set when its promise settles. */
function exitWatch(proc: LabProcess): ExitWatch {
  let watch = watches.get(proc);
  if (!watch) {
    const created: ExitWatch = { waiting: new Set() };
    void proc.exited.then((exit) => {
      created.error = new Error(describeExit(exit));
      for (const reject of created.waiting) reject(created.error);
      created.waiting.clear();
    });
    watches.set(proc, (watch = created));
  }
  return watch;
}

/** Rejects as soon as QEMU exits, so a dead guest never leaves a caller waiting. */
export function raceExit<T>(proc: LabProcess, promise: Promise<T>): Promise<T> {
  const watch = exitWatch(proc);
  return new Promise<T>((resolve, reject) => {
    if (watch.error) reject(watch.error);
    watch.waiting.add(reject);
    void promise.then(resolve, reject).finally(() => watch.waiting.delete(reject));
  });
}

/** What a guest command can ask of lab-settle besides its program. */
export interface RunOptions {
  timeoutMs?: number;
  input?: Buffer;
  /** Set the clock first, in the same program start (a restored guest's first command). */
  clock?: boolean;
}

/**
 * Runs a program as root in /root. Started by lab-settle (`--cd /root -- FILE ARGS`), which the
 * agent cannot do itself: one static program, where a `sh -c 'cd /root && exec …'` cost a
 * dynamically linked shell (≈ 70 ms of TCG per command, docs/benchmarks.md).
 */
export function runOn(
  proc: LabProcess,
  file: string,
  args: string[],
  opts: RunOptions = {},
): Promise<RunResult> {
  const clock = opts.clock ? clockArgs() : [];
  return raceExit(
    proc,
    proc.agent().run(LAB_SETTLE, [...clock, '--cd', '/root', '--', file, ...args], {
      timeoutMs: opts.timeoutMs ?? 120_000,
      env: guestEnv,
      input: opts.input,
    }),
  );
}

/** lab-settle's words that set the guest's clock to the host's, now. */
function clockArgs(): string[] {
  return ['--clock', (Date.now() / 1000).toFixed(3)];
}

/** Runs a shell script; throws GuestCommandError (with its stderr) when it fails. */
export async function shOn(
  proc: LabProcess,
  script: string,
  timeoutMs = 60_000,
  clock = false,
): Promise<string> {
  const result = await runOn(proc, '/bin/sh', ['-c', script], { timeoutMs, clock });
  if (result.exitCode !== 0) {
    const why = result.stderr.toString().trim() || result.stdout.toString().trim();
    throw new GuestCommandError(`guest command failed (exit ${result.exitCode}): ${why}`, result);
  }
  return result.stdout.toString();
}

/**
 * Runs a program directly (no shell, no `cd`: two execs fewer than shOn, ≈ 25 ms each under
 * TCG); throws GuestCommandError when it fails. For the lab's own commands at boot.
 */
export async function execOn(
  proc: LabProcess,
  file: string,
  args: string[],
  timeoutMs = 60_000,
): Promise<void> {
  const result = await raceExit(proc, proc.agent().run(file, args, { timeoutMs, env: guestEnv }));
  if (result.exitCode !== 0) {
    const why = result.stderr.toString().trim() || result.stdout.toString().trim();
    throw new GuestCommandError(`guest command ${file} failed (exit ${result.exitCode}): ${why}`, result);
  }
}

/**
 * The guest's own program for what a machine needs once its agent answers: the clock, the
 * workspace mount and the console size, each with no more than a system call, in one static
 * binary (build/guest/lab-settle.c: under TCG every program started costs its start-up on a
 * cold translation cache, and date, mount(8) and stty side by side took 0.35-0.45 s).
 */
export const LAB_SETTLE = '/usr/local/sbin/lab-settle';

/** lab-settle's exit status when only the console's size failed (one bit per failed step). */
const SETTLE_FAILED_WINSIZE = 4;

/**
 * The workspace share. `cache=none` (the kernel's default, spelled out because the workspace
 * depends on it): the guest keeps no page cache for /root/work, so every write() the guest
 * finished has reached QEMU's 9p server and through it the host file, and nothing is lost when
 * QEMU is killed or the guest crashes. The host's own edits are seen at once. A writeback cache
 * (`loose`, `fscache`) would lose the guest's dirty pages with the guest.
 */
const WORKSPACE_SHARE = {
  source: 'workspace',
  target: '/root/work',
  fstype: '9p',
  options: 'trans=virtio,version=9p2000.L,msize=262144,cache=none',
};

/** mount(8)'s arguments for the share; X-mount.mkdir: it makes /root/work first. */
const MOUNT_WORKSPACE = [
  '-t',
  WORKSPACE_SHARE.fstype,
  '-o',
  `${WORKSPACE_SHARE.options},X-mount.mkdir`,
  WORKSPACE_SHARE.source,
  WORKSPACE_SHARE.target,
];

/** lab-settle's arguments for the same mount (it makes /root/work itself). */
const SETTLE_MOUNT_WORKSPACE = [
  '--mount',
  WORKSPACE_SHARE.source,
  WORKSPACE_SHARE.target,
  WORKSPACE_SHARE.fstype,
  WORKSPACE_SHARE.options,
];

/** The same mount as one shell command line (every word above is shell-safe as it is). */
export const MOUNT_WORKSPACE_LINE = ['mount', ...MOUNT_WORKSPACE].join(' ');

/**
 * Whether a restored shell's prompt must wait for the workspace mount (a shell in /root/work
 * must find it). When not, the session asks for the prompt as soon as the restored guest runs,
 * before its agent has answered: the prompt is there one agent round trip sooner.
 */
export function promptWaitsForMount(workspace: boolean): boolean {
  return workspace && hostHasVirtfs(process.platform as HostPlatform);
}

/**
 * What a guest whose agent just answered needs before it is ready for its user: the workspace
 * mounted, and, from a snapshot, its clock set and its shell's prompt printed again (it printed
 * it when the snapshot was taken; a newline makes it print one now); the console sized.
 *
 * The clock, the mount and the console's size are one lab-settle run (each program started in a
 * restored guest costs 0.1-0.3 s of TCG, more when two start side by side). The prompt waits for
 * the mount only (a shell in /root/work must find it): without a workspace the session asks for
 * it before this (promptWaitsForMount), and a command typed in that first moment sees the
 * snapshot's clock, which is always in the past, so what it builds looks older than the sources
 * and `make` rebuilds it; never the other way round. A console that is nobody's terminal (`exec`) is not sized.
 */
export async function settleGuest(
  proc: LabProcess,
  guard: <T>(promise: Promise<T>) => Promise<T>,
  opts: {
    fromSnapshot: boolean;
    workspace: boolean;
    /** The console's size, set with the rest; undefined: the console is nobody's terminal (`exec`). */
    consoleSize?: ConsoleSize;
    /** Whether the clock is set (default: when `fromSnapshot`); false: the first command sets it. */
    clock?: boolean;
    /** More lab-settle words, run right after the mount (a resume's `--shells-back`). */
    afterMount?: readonly string[];
    /** Hands the console's size on to the session once the guest has `applied` (undefined: not known). */
    sizeConsole: (applied: ConsoleSize | undefined) => Promise<void>;
    /**
     * Whether a restored shell is sent the newline that makes it print its prompt, after the
     * mount. Not when the session sent it already, nor to a resumed machine's shell (its caller
     * redraws the line being typed instead).
     */
    newline: boolean;
  },
): Promise<void> {
  // Mounted now rather than by init: a snapshot cannot be taken with a 9p share mounted.
  // No virtio-9p in QEMU for Windows: nothing to mount there (docs/user-guide.md).
  const mount = promptWaitsForMount(opts.workspace);
  // The snapshot's clock is from when it was taken.
  const { consoleSize } = opts;
  const words = [
    ...((opts.clock ?? opts.fromSnapshot) ? clockArgs() : []),
    ...(mount ? SETTLE_MOUNT_WORKSPACE : []),
    ...(opts.afterMount ?? []),
    ...(consoleSize ? winsizeArgs(consoleSize) : []),
  ];
  // Resolves with whether the console has `consoleSize` now; a size alone failing fails no boot.
  const settle =
    words.length === 0
      ? Promise.resolve(false)
      : guard(execOn(proc, LAB_SETTLE, words)).then(
          () => consoleSize !== undefined,
          (err: unknown) => {
            if (
              consoleSize &&
              err instanceof GuestCommandError &&
              err.result.exitCode === SETTLE_FAILED_WINSIZE
            )
              return false;
            throw err;
          },
        );
  const prompt = (mount ? settle : Promise.resolve()).then(() => {
    if (opts.newline) proc.write('\n');
  });
  // The session's sizer takes over: it applies a size asked for while lab-settle ran, or the one it
  // failed to set. Not after a failed settle (a crash, a stop): that guest takes no more commands.
  const size = consoleSize
    ? settle.then((sized) => guard(opts.sizeConsole(sized ? consoleSize : undefined)))
    : Promise.resolve();
  const steps = await Promise.allSettled([settle, prompt, size]);
  for (const step of steps) if (step.status === 'rejected') throw step.reason;
}
