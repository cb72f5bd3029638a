// The one implementation of LabApi. Electron's main process serves it over IPC and
// `farfetchd-lab serve` over a WebSocket; both only move messages.
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ApiError, ExecResult, LabBackend, LabEvent, ModuleName, VmStatus } from './api.ts';
import { LabSession, type LabSessionOptions } from './session.ts';

/** Console output is sent at most this often, in one batch (as VS Code's terminal does). */
export const CONSOLE_BATCH_MS = 16;
/** Unacknowledged console bytes above which QEMU's pty is paused, and below which it resumes. */
export const CONSOLE_HIGH_WATERMARK = 100_000;
export const CONSOLE_LOW_WATERMARK = 5_000;

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
  const session = opts.session ?? new LabSession({ ...opts, workspace });
  const listeners = new Set<(event: LabEvent) => void>();
  const emit = (event: LabEvent) => {
    for (const listener of listeners) listener(event);
  };

  let pending = '';
  let batchTimer: NodeJS.Timeout | undefined;
  let unacknowledged = 0;
  let paused = false;
  const flush = () => {
    batchTimer = undefined;
    if (pending === '') return;
    const data = pending;
    pending = '';
    emit({ type: 'console', data });
  };
  session.on('console', (data) => {
    pending += data;
    batchTimer ??= setTimeout(flush, CONSOLE_BATCH_MS);
    if (listeners.size === 0) return; // nobody to acknowledge: no flow control
    unacknowledged += data.length;
    if (!paused && unacknowledged > CONSOLE_HIGH_WATERMARK) {
      paused = true;
      session.pauseConsole();
    }
  });
  session.on('status', (status) => emit({ type: 'status', status }));
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

  return {
    status: async () => session.status(),
    start: () => guard(bootAndLoad),
    stop: () => guard(() => session.stop()),
    reset: () =>
      guard(async () => {
        await session.stop();
        unacknowledged = 0;
        if (paused) {
          paused = false;
        }
        await bootAndLoad();
      }),
    loadModule: (module: ModuleName) => guard(() => session.loadModule(module)),
    consoleInput: async (data: string) => session.writeConsole(data),
    consoleResize: async (cols: number, rows: number) => {
      await session.resizeConsole(cols, rows);
    },
    consoleAck: async (bytes: number) => {
      unacknowledged = Math.max(0, unacknowledged - bytes);
      if (paused && unacknowledged < CONSOLE_LOW_WATERMARK) {
        paused = false;
        session.resumeConsole();
      }
    },
    exec: async (command: string, args: string[]): Promise<ExecResult> => {
      const result = await session.run(command, args);
      return {
        exitCode: result.exitCode,
        stdout: result.stdout.toString(),
        stderr: result.stderr.toString(),
      };
    },
    onEvent: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    dispose: async () => {
      if (batchTimer) clearTimeout(batchTimer);
      listeners.clear();
      await session.stop();
    },
  };
}
