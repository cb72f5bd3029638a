// The one implementation of LabApi. Electron's main process serves it over IPC and
// `farfetchd-lab serve` over a WebSocket; both only move messages, and attach each page (window,
// tab) with connect(): its own events and its own console flow control (console-hub.ts).
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type {
  ApiError,
  LabApi,
  LabBackend,
  LabClient,
  LabEvent,
  ModuleName,
  SystemReport,
  VmState,
  VmStatus,
} from './api.ts';
import { AfterCommand } from './after-command.ts';
import { ConsoleHub } from './console-hub.ts';
import { collectSystemReport } from './doctor.ts';
import { createExerciseApi, type ExerciseOptions } from './exercise-backend.ts';
import { ensureWorkspace } from './exercise-workspace.ts';
import { createIntrospect } from './introspect.ts';
import { LabSession, type LabSessionOptions } from './session.ts';

export class LabError extends Error implements ApiError {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'LabError';
  }
}

export function toApiError(err: unknown): ApiError {
  if (err instanceof LabError) return { code: err.code, message: err.message };
  const code = (err as { code?: unknown } | null)?.code;
  if (err instanceof Error && typeof code === 'string') return { code, message: err.message };
  if (err instanceof Error) return { code: err.name === 'Error' ? 'ELAB' : err.name, message: err.message };
  return { code: 'ELAB', message: String(err) };
}

export interface BackendOptions extends LabSessionOptions {
  /** Module to load after every boot. */
  module?: ModuleName;
  session?: LabSession;
  /** What the System page shows; `reprobe` forgets the remembered accelerator verdict first. */
  systemReport?: (opts: { reprobe: boolean }) => Promise<SystemReport>;
  /** The exercise's steps, grader and "open in my editor" (the workspace is `workspace`'s). */
  exercise?: Omit<ExerciseOptions, 'workspace'>;
}

/** The student's folder on the host, shared into the guest at /root/work. */
export function defaultWorkspace(env: NodeJS.ProcessEnv = process.env): string {
  return env.FARFETCHD_LAB_WORKSPACE ?? path.join(os.homedir(), 'farfetchd-lab-workspace');
}

export function createBackend(opts: BackendOptions = {}): LabBackend {
  let workspace = opts.workspace;
  if (workspace === undefined) {
    workspace = defaultWorkspace();
    mkdirSync(workspace, { recursive: true });
  }
  // A new (empty) workspace gets the exercise's folders before the first question about them.
  const workspaceReady = ensureWorkspace(workspace);
  workspaceReady.catch(() => undefined); // each exercise call below reports it
  const session = opts.session ?? new LabSession({ ...opts, workspace });
  const systemReport =
    opts.systemReport ?? (({ reprobe }) => collectSystemReport({ env: opts.env, reprobe }));
  const listeners = new Set<(event: LabEvent) => void>();
  /** One client's transport failing to send (a closing socket) must not keep the event from the others. */
  const deliver = (listener: (event: LabEvent) => void, event: LabEvent) => {
    try {
      listener(event);
    } catch {
      // that transport detaches itself when it closes
    }
  };
  const emit = (event: LabEvent) => {
    for (const listener of listeners) deliver(listener, event);
  };

  const hub = new ConsoleHub({
    setPaused: (paused) => (paused ? session.pauseConsole() : session.resumeConsole()),
  });
  // The farfetch modules in the guest are read again after a command typed in the terminal (an
  // insmod there), when a machine becomes ready (a resumed one may hold the student's), and
  // when a UI asks for the status: the status bar and the driver panel then say whose module it is.
  const afterCommand = new AfterCommand(() => void session.modules.refresh());
  session.on('console', (data) => {
    hub.write(data);
    afterCommand.output();
  });
  let lastState: VmState = session.status().state;
  session.on('status', (status) => {
    // Every boot starts the console's flow control over, unpaused (a new pty, or after an in-place
    // reset the same one).
    if (status.state !== lastState && (status.state === 'booting' || status.state === 'stopped')) {
      hub.newBoot();
    }
    if (status.state === 'ready' && lastState !== 'ready') void session.modules.refresh();
    lastState = status.state;
    emit({ type: 'status', status });
  });
  session.on('crash', (crash) => emit({ type: 'crash', crash }));

  const guard = async (fn: () => Promise<unknown>): Promise<VmStatus> => {
    try {
      await fn();
    } catch (err) {
      throw new LabError(toApiError(err).code, (err as Error).message);
    }
    return session.status();
  };
  const bootAndLoad = async () => {
    await session.start();
    if (opts.module && opts.module !== 'none') await session.loadModule(opts.module);
  };

  const introspect = createIntrospect(session);
  const exerciseApi = createExerciseApi(session, { ...opts.exercise, workspace });
  const exercise = Object.fromEntries(
    Object.entries(exerciseApi).map(([name, fn]) => [
      name,
      async (...args: unknown[]) => {
        await workspaceReady;
        return (fn as (...a: unknown[]) => Promise<unknown>)(...args);
      },
    ]),
  ) as unknown as typeof exerciseApi;
  let probing: Promise<SystemReport> | null = null;
  /** What every client shares; consoleAck is each client's own. */
  const shared: Omit<LabApi, 'consoleAck'> = {
    status: async () => {
      void session.modules.refresh(); // what it finds comes as a status event
      return session.status();
    },
    start: () => guard(bootAndLoad),
    stop: () => guard(() => session.stop()),
    reset: () =>
      guard(async () => {
        // One queued operation in the session: a Stop pressed in another tab meanwhile waits.
        await session.reset();
        if (opts.module && opts.module !== 'none') await session.loadModule(opts.module);
      }),
    // A failed swap (a student's module still in use) changed the guest anyway: read it again.
    loadModule: (module: ModuleName) =>
      guard(() => session.loadModule(module).finally(() => session.modules.refresh())),
    suspend: () => guard(() => session.suspend()),
    // The saved machine has the module it had: the lab's own (opts.module) is not loaded again.
    resume: () => guard(() => session.resume()),
    consoleInput: async (data: string) => {
      session.writeConsole(data);
      afterCommand.input(data);
    },
    consoleResize: async (cols: number, rows: number) => {
      await session.resizeConsole(cols, rows);
    },
    systemReport: () => systemReport({ reprobe: false }),
    probeAccelerator: () => {
      // Two tabs pressing "Probe again" at once share one probe (and one verdict file write).
      probing ??= systemReport({ reprobe: true }).finally(() => (probing = null));
      return probing;
    },
    // The panels' typed queries: fixed guest commands, the validated parameters as arguments.
    processes: () => introspect.processes(),
    mappings: (pid: number) => introspect.mappings(pid),
    pageWalk: (pid: number, addr: string) => introspect.pageWalk(pid, addr),
    drivers: () => introspect.drivers(),
    kernelLog: async () => session.kernelLogTail,
    resolveKernelAddress: (module: string, symbolOffset: string) =>
      introspect.resolveKernelAddress(module, symbolOffset),
    ...exercise,
  };

  return {
    connect(listener): LabClient {
      // The machine as it is now, then the console's recent history (the hub sends it in its
      // next batch), then live events.
      deliver(listener, { type: 'status', status: session.status() });
      listeners.add(listener);
      const consoleClient = hub.attach((data, skipped) =>
        listener(skipped > 0 ? { type: 'console', data, skipped } : { type: 'console', data }),
      );
      return {
        api: { ...shared, consoleAck: async (chars: number) => consoleClient.ack(chars) },
        close: () => {
          listeners.delete(listener);
          consoleClient.detach();
        },
      };
    },
    dispose: async () => {
      afterCommand.dispose();
      hub.dispose();
      listeners.clear();
      await session.stop();
    },
  };
}
