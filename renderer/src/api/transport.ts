// How the renderer reaches the backend: Electron's preload bridge when present, else a WebSocket
// to `farfetchd-lab serve` (browser mode). Both give the same typed LabApi and event stream.
import type { ApiError, LabApi, LabEvent } from '../../../emulator/src/api.ts';

export interface LabConnection {
  api: LabApi;
  onEvent(listener: (event: LabEvent) => void): () => void;
  /** Called once if the backend goes away for good (browser mode: the socket closed). */
  onClose?(listener: (reason: string) => void): () => void;
}

/** What electron/preload exposes on window (one method per message, plus events). */
export interface PreloadBridge extends LabApi {
  onEvent(listener: (event: LabEvent) => void): () => void;
}

declare global {
  interface Window {
    farfetchdLab?: PreloadBridge;
  }
}

export class LabApiError extends Error implements ApiError {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'LabApiError';
  }
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

/** A message from the server, or null when it is not one (it is then ignored). */
export function parseServerMessage(
  raw: unknown,
): { event: LabEvent } | { id: number; result: unknown } | { id: number; error: ApiError } | null {
  let data: unknown;
  try {
    data = JSON.parse(String(raw));
  } catch {
    return null;
  }
  if (typeof data !== 'object' || data === null) return null;
  const m = data as Record<string, unknown>;
  if (typeof m.event === 'object' && m.event !== null && typeof (m.event as LabEvent).type === 'string') {
    return { event: m.event as LabEvent };
  }
  if (typeof m.id !== 'number') return null;
  if (typeof m.error === 'object' && m.error !== null) {
    const e = m.error as Partial<ApiError>;
    return {
      id: m.id,
      error: { code: String(e.code ?? 'ELAB'), message: String(e.message ?? 'the lab backend failed') },
    };
  }
  return { id: m.id, result: m.result };
}

/**
 * The browser-mode client: requests `{id, method, params}`, replies `{id, result}` or
 * `{id, error: {code, message}}` matched by id, events pushed as `{event}`. Everything still pending
 * is rejected (code ECONN) when the socket closes.
 */
export function connectWebSocket(url: string, WebSocketImpl: typeof WebSocket = WebSocket): LabConnection {
  const listeners = new Set<(event: LabEvent) => void>();
  const closeListeners = new Set<(reason: string) => void>();
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let closed: LabApiError | null = null;
  const ws = new WebSocketImpl(url);
  const opened = new Promise<void>((resolve, reject) => {
    ws.addEventListener('open', () => resolve());
    ws.addEventListener('error', () => reject(new LabApiError('ECONN', 'cannot reach the lab backend')));
  });
  opened.catch(() => undefined); // rejections are seen by the calls that wait for it
  ws.addEventListener('message', (msg: MessageEvent) => {
    const message = parseServerMessage(msg.data);
    if (!message) return;
    if ('event' in message) {
      for (const listener of listeners) listener(message.event);
      return;
    }
    const p = pending.get(message.id);
    if (!p) return;
    pending.delete(message.id);
    if ('error' in message) p.reject(new LabApiError(message.error.code, message.error.message));
    else p.resolve(message.result);
  });
  ws.addEventListener('close', () => {
    closed = new LabApiError('ECONN', 'the connection to the lab backend was lost');
    for (const p of pending.values()) p.reject(closed);
    pending.clear();
    for (const listener of closeListeners) listener(closed.message);
  });
  const call = async (method: keyof LabApi, ...params: unknown[]): Promise<never> => {
    await opened;
    if (closed) throw closed;
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      ws.send(JSON.stringify({ id, method, params }));
    });
  };
  const api: LabApi = {
    status: () => call('status'),
    start: () => call('start'),
    stop: () => call('stop'),
    reset: () => call('reset'),
    suspend: () => call('suspend'),
    resume: () => call('resume'),
    loadModule: (module) => call('loadModule', module),
    consoleInput: (data) => call('consoleInput', data),
    consoleResize: (cols, rows) => call('consoleResize', cols, rows),
    consoleAck: (bytes) => call('consoleAck', bytes),
    systemReport: () => call('systemReport'),
    probeAccelerator: () => call('probeAccelerator'),
    processes: () => call('processes'),
    mappings: (pid) => call('mappings', pid),
    pageWalk: (pid, addr) => call('pageWalk', pid, addr),
    drivers: () => call('drivers'),
    kernelLog: () => call('kernelLog'),
    resolveKernelAddress: (module, symbolOffset) => call('resolveKernelAddress', module, symbolOffset),
    exercise: () => call('exercise'),
    workspaceFiles: () => call('workspaceFiles'),
    readWorkspaceFile: (file) => call('readWorkspaceFile', file),
    writeWorkspaceFile: (file, text) => call('writeWorkspaceFile', file, text),
    openInEditor: (file) => call('openInEditor', file),
    buildAndLoad: (part) => call('buildAndLoad', part),
    grade: (stepId) => call('grade', stepId),
    setStepDone: (stepId, done) => call('setStepDone', stepId, done),
    setWelcomeSeen: (seen) => call('setWelcomeSeen', seen),
  };
  return {
    api,
    onEvent: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    onClose: (listener) => {
      closeListeners.add(listener);
      return () => closeListeners.delete(listener);
    },
  };
}

/** The WebSocket URL for a page served by `farfetchd-lab serve` (it carries the page's token). */
export function webSocketUrl(loc: Pick<Location, 'protocol' | 'host' | 'search'>): string {
  const token = new URLSearchParams(loc.search).get('token') ?? '';
  const scheme = loc.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${loc.host}/api?token=${encodeURIComponent(token)}`;
}

/** Whatever a call was rejected with, as a LabApiError (the preload rejects with {code, message}). */
export function toLabApiError(err: unknown): LabApiError {
  if (err instanceof LabApiError) return err;
  const e = (typeof err === 'object' && err !== null ? err : {}) as Partial<ApiError>;
  const message = typeof e.message === 'string' ? e.message : String(err);
  return new LabApiError(typeof e.code === 'string' ? e.code : 'ELAB', message);
}

/** The preload bridge's methods as a LabApi whose failures are LabApiErrors. */
export function bridgeApi(bridge: PreloadBridge): LabApi {
  const wrap =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      try {
        return await fn(...args);
      } catch (err) {
        throw toLabApiError(err);
      }
    };
  return {
    status: wrap(bridge.status),
    start: wrap(bridge.start),
    stop: wrap(bridge.stop),
    reset: wrap(bridge.reset),
    suspend: wrap(bridge.suspend),
    resume: wrap(bridge.resume),
    loadModule: wrap(bridge.loadModule),
    consoleInput: wrap(bridge.consoleInput),
    consoleResize: wrap(bridge.consoleResize),
    consoleAck: wrap(bridge.consoleAck),
    systemReport: wrap(bridge.systemReport),
    probeAccelerator: wrap(bridge.probeAccelerator),
    processes: wrap(bridge.processes),
    mappings: wrap(bridge.mappings),
    pageWalk: wrap(bridge.pageWalk),
    drivers: wrap(bridge.drivers),
    kernelLog: wrap(bridge.kernelLog),
    resolveKernelAddress: wrap(bridge.resolveKernelAddress),
    exercise: wrap(bridge.exercise),
    workspaceFiles: wrap(bridge.workspaceFiles),
    readWorkspaceFile: wrap(bridge.readWorkspaceFile),
    writeWorkspaceFile: wrap(bridge.writeWorkspaceFile),
    openInEditor: wrap(bridge.openInEditor),
    buildAndLoad: wrap(bridge.buildAndLoad),
    grade: wrap(bridge.grade),
    setStepDone: wrap(bridge.setStepDone),
    setWelcomeSeen: wrap(bridge.setWelcomeSeen),
  };
}

/** The API for this page: Electron's preload bridge when there is one, else browser mode. */
export function createApi(win: Pick<Window, 'farfetchdLab' | 'location'> = window): LabConnection {
  const bridge = win.farfetchdLab;
  if (bridge) return { api: bridgeApi(bridge), onEvent: (listener) => bridge.onEvent(listener) };
  return connectWebSocket(webSocketUrl(win.location));
}
