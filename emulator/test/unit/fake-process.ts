// A fake QemuProcess for the session's state-machine tests: each boot is one FakeProcess whose
// launch, agent answer, console, kernel log and exit the test drives by hand.
import { writeFile } from 'node:fs/promises';
import type { AcceleratorInfo, VmState, VmStatus } from '../../src/api.ts';
import type { AcceleratorPolicy } from '../../src/boot-watchdog.ts';
import type { GuestImage } from '../../src/image.ts';
import type { LabProcess, QemuProcessSpec, SessionAgent } from '../../src/qemu-process.ts';
import type { QemuExit } from '../../src/session-state.ts';
import { LabSession, type LabSessionOptions } from '../../src/session.ts';
import { GUEST_PROMPT } from '../../src/warm-state.ts';

export class Deferred<T = void> {
  readonly promise: Promise<T>;
  resolve!: (value: T) => void;
  reject!: (err: Error) => void;
  constructor() {
    this.promise = new Promise<T>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.promise.catch(() => undefined);
  }
}

export interface FakeBehaviour {
  /** The agent answers guest-sync (default true); false: it never does. */
  agentAnswers?: boolean;
  /** Printed on the console during launch (e.g. init's line). */
  printsAtLaunch?: string;
  /**
   * Whether a booted (not restored) guest's login shell prints its prompt once the agent has
   * answered, as the real one does (default true; a warm-up waits for it).
   */
  printsPrompt?: boolean;
  /** A real file to stand for the overlay (the warm state is copied from it). */
  overlayDir?: string;
  /** Runs for each guest command; may return a promise that holds the command in flight. */
  onCommand?: (script: string, proc: FakeProcess) => Promise<void> | void;
  /** Runs for loadSnapshot (default: the snapshot loads); may throw or hold it. */
  onLoadSnapshot?: (tag: string, proc: FakeProcess) => Promise<void> | void;
  /** What a guest command answers (default: exit 0, no output). */
  answer?: (script: string) => { exitCode: number; stdout?: string; stderr?: string } | undefined;
  /** The text QEMU's savevm answers (HMP: an error is text in a "successful" reply). */
  savevmText?: string;
  /** Runs when the process is disposed, before QEMU "exits"; may hold the disposal. */
  onDispose?: () => Promise<void> | void;
}

/** What the fake guest's shell prints as its prompt. */
export const FAKE_PROMPT = `\r\n${GUEST_PROMPT} root:~# `;

export class FakeProcess implements LabProcess {
  readonly exited: Promise<QemuExit>;
  overlayPath: string | undefined;
  readonly runFolder: string | undefined = undefined;
  launched = false;
  disposed = false;
  savedSnapshot?: string;
  /** Whether consumeDisk() was called (a resumed machine's disk is its own then). */
  diskConsumed = false;
  /** Every loadSnapshot asked, in order. */
  readonly loadedSnapshots: string[] = [];
  /** How often the session asked it to make the next warm start's disk ahead. */
  nextStartPrepared = 0;
  /** How often the agent's pending requests were abandoned. */
  abandoned = 0;
  quitAsked = false;
  private prompted = false;
  /** The commands (as in `commands`) that set the clock with their own start. */
  readonly clockWithCommand: string[] = [];
  /** Every shell script run through the agent, in order. */
  readonly commands: string[] = [];
  readonly written: string[] = [];
  /** What the session did to this process, in order: `agent answered`, `run …`, `write …`, `loadvm …`. */
  readonly events: string[] = [];
  readonly agentSync = new Deferred();
  private resolveExit!: (exit: QemuExit) => void;
  private hasExited = false;
  private readonly consoleListeners: ((data: string) => void)[] = [];
  private readonly kernelListeners: ((text: string) => void)[] = [];
  private readonly panicListeners: (() => void)[] = [];

  constructor(
    readonly spec: QemuProcessSpec,
    readonly index: number,
    private readonly behaviour: FakeBehaviour,
  ) {
    this.exited = new Promise((resolve) => (this.resolveExit = resolve));
    if (behaviour.agentAnswers !== false) this.agentSync.resolve();
  }

  async launch(): Promise<void> {
    await Promise.resolve();
    this.launched = true;
    const dir = this.behaviour.overlayDir;
    this.overlayPath = `${dir ?? '/fake'}/run-${this.index}-overlay.qcow2`;
    if (dir) await writeFile(this.overlayPath, `disk of process ${this.index}\n`);
    if (this.behaviour.printsAtLaunch) this.print(this.behaviour.printsAtLaunch);
  }

  agent(): SessionAgent {
    const agent = {
      sync: async () => {
        await this.agentSync.promise;
        this.events.push('agent answered');
        // The login shell starts after the agent, and prints its prompt once.
        if (this.spec.disk.kind === 'fresh' && this.behaviour.printsPrompt !== false && !this.prompted) {
          this.prompted = true;
          setImmediate(() => this.print(FAKE_PROMPT));
        }
      },
      run: async (file: string, args: string[]) => {
        // runOn's form (`lab-settle [--clock T] --cd /root -- FILE ARGS`) is recorded as FILE
        // ARGS, or as SCRIPT for `/bin/sh -c SCRIPT` (a clock asked for with it is counted in
        // `clockWithCommand`); a program run directly (execOn) as its name and arguments.
        const dash = file.endsWith('/lab-settle') ? args.indexOf('--') : -1;
        const [program, ...rest] = dash < 0 ? [file, ...args] : args.slice(dash + 1);
        const shell = dash >= 0 && program === '/bin/sh' && rest[0] === '-c';
        const script = shell ? (rest[1] ?? '') : [program!.split('/').pop(), ...rest].join(' ');
        if (dash >= 0 && args.slice(0, dash).includes('--clock')) this.clockWithCommand.push(script);
        this.commands.push(script);
        this.events.push(`run ${script}`);
        await this.behaviour.onCommand?.(script, this);
        const answer = this.behaviour.answer?.(script) ?? { exitCode: 0 };
        return {
          exitCode: answer.exitCode,
          stdout: Buffer.from(answer.stdout ?? ''),
          stderr: Buffer.from(answer.stderr ?? ''),
        };
      },
      writeFile: async () => undefined,
      ping: async () => undefined,
      close: async () => undefined,
      abandonPending: () => void this.abandoned++,
    };
    return agent as unknown as SessionAgent;
  }

  onConsole(listener: (data: string) => void): void {
    this.consoleListeners.push(listener);
  }

  onKernelLog(listener: (text: string) => void): void {
    this.kernelListeners.push(listener);
  }

  onGuestPanicked(listener: () => void): void {
    this.panicListeners.push(listener);
  }

  write(data: string): void {
    this.written.push(data);
    this.events.push(`write ${JSON.stringify(data)}`);
  }

  resize(): void {}
  pause(): void {}
  resume(): void {}
  async freeze(): Promise<void> {}

  /** No guest memory here: the panels' host walk is tested on its own (introspect.test.ts). */
  async monitor(command: string): Promise<string> {
    throw new Error(`the fake QEMU has no monitor (${command})`);
  }

  async saveSnapshot(tag: string): Promise<void> {
    // As QemuProcess does with HMP's text: any text is an error.
    if (this.behaviour.savevmText) throw new Error(`savevm: ${this.behaviour.savevmText.trim()}`);
    this.savedSnapshot = tag;
  }

  async loadSnapshot(tag: string): Promise<void> {
    this.loadedSnapshots.push(tag);
    this.events.push(`loadvm ${tag}`);
    await this.behaviour.onLoadSnapshot?.(tag, this);
  }

  consumeDisk(): void {
    this.diskConsumed = true;
  }

  prepareNextStart(): void {
    this.nextStartPrepared++;
  }

  async quit(): Promise<QemuExit> {
    this.quitAsked = true;
    this.exit({ code: 0, signal: null, shutdownReason: 'host-qmp-quit' });
    return this.exited;
  }

  async dispose(): Promise<void> {
    await this.behaviour.onDispose?.();
    this.disposed = true;
    this.exit({ code: 0, signal: null, shutdownReason: 'host-qmp-quit' });
  }

  // What the test does to the "guest":
  print(data: string): void {
    for (const listener of this.consoleListeners) listener(data);
  }

  kernel(text: string): void {
    for (const listener of this.kernelListeners) listener(text);
  }

  exit(exit: QemuExit): void {
    if (this.hasExited) return;
    this.hasExited = true;
    this.resolveExit(exit);
  }
}

/** A factory that records every process it makes; `behaviours[i]` shapes the i-th. */
export function fakeFactory(behaviours: FakeBehaviour[] = [], fallback: FakeBehaviour = {}) {
  const made: FakeProcess[] = [];
  const create = (spec: QemuProcessSpec) => {
    const proc = new FakeProcess(spec, made.length, behaviours[made.length] ?? fallback);
    made.push(proc);
    return proc;
  };
  return { made, create };
}

export const fakeImage: GuestImage = {
  dir: '/fake/image',
  kernelPath: '/fake/image/bzImage',
  diskPath: '/fake/image/rootfs.qcow2',
  manifest: {
    key: 'feedface',
    kernelKey: 'k1',
    rootfsKey: 'r1',
    kernelRelease: '6.12.117-farfetch',
    kernel: 'bzImage',
    disk: 'rootfs.qcow2',
    diskVirtualBytes: 1,
    rootfsBytes: 1,
    qcow2Bytes: 1,
    builtAt: '2026-12-01T00:00:00Z',
  },
};

/** Resolves after every queued microtask and pending I/O callback so far. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export const tcg: AcceleratorInfo = { accel: 'tcg', label: 'TCG — no hardware acceleration: slower' };

/** A session over fake processes (no warm state, no probe, no cleaning), and what it went through. */
export function makeSession(
  behaviours: FakeBehaviour[] = [],
  opts: LabSessionOptions = {},
  fallback?: FakeBehaviour,
) {
  const factory = fakeFactory(behaviours, fallback);
  const session = new LabSession({
    image: fakeImage,
    accelerator: tcg,
    warmBoot: false,
    cleanStale: false,
    cols: 120,
    rows: 40,
    createProcess: factory.create,
    ...opts,
  });
  const states: VmState[] = [];
  const statuses: VmStatus[] = [];
  session.on('status', (s) => {
    statuses.push(s);
    if (states.at(-1) !== s.state) states.push(s.state);
  });
  return { session, made: factory.made, states, statuses };
}

/** The next status in `state`. */
export function untilState(session: LabSession, state: VmState): Promise<VmStatus> {
  return new Promise((resolve) => {
    const onStatus = (s: VmStatus) => {
      if (s.state !== state) return;
      session.off('status', onStatus);
      resolve(s);
    };
    session.on('status', onStatus);
  });
}

export const winsize = (rows: number, cols: number) => `lab-settle --winsize ${rows} ${cols}`;

export const kvm: AcceleratorInfo = { accel: 'kvm', label: 'KVM — hardware acceleration' };

/**
 * A policy that chooses KVM and, when a boot stays silent for 50 ms, records the failure and
 * answers `fallback` (TCG with the reason).
 */
export function silentKvmPolicy(fallbackReason: string): {
  accelerators: AcceleratorPolicy;
  fallback: AcceleratorInfo;
  failures: string[];
} {
  const fallback: AcceleratorInfo = { accel: 'tcg', label: `TCG — ${fallbackReason}`, fallbackReason };
  const failures: string[] = [];
  const accelerators: AcceleratorPolicy = {
    detect: async () => kvm,
    bootFailed: async (accel, reason) => {
      failures.push(`${accel.accel}: ${reason}`);
      return fallback;
    },
    watchdogMs: 50,
  };
  return { accelerators, fallback, failures };
}
