// How the renderer reaches the backend: Electron's preload bridge when present, else a WebSocket
// to `farfetchd-lab serve` (browser mode). Both give the same typed LabApi and event stream.
import type { ApiError, LabApi, LabEvent } from '../../../emulator/src/api.ts';

export interface LabConnection {
  api: LabApi;
  onEvent(listener: (event: LabEvent) => void): () => void;
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
  }
}

type Reply = { id: number; result?: unknown; error?: ApiError };

/** A WebSocket client: requests with ids, replies matched by id, all rejected on disconnect. */
export function connectWebSocket(url: string, WebSocketImpl: typeof WebSocket = WebSocket): LabConnection {
  const listeners = new Set<(event: LabEvent) => void>();
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  const ws = new WebSocketImpl(url);
  const opened = new Promise<void>((resolve, reject) => {
    ws.addEventListener('open', () => resolve());
    ws.addEventListener('error', () => reject(new LabApiError('ECONN', 'cannot reach the lab backend')));
  });
  ws.addEventListener('message', (msg: MessageEvent) => {
    const data = JSON.parse(String(msg.data)) as Reply & { event?: LabEvent };
    if (data.event) {
      for (const l of listeners) l(data.event);
      return;
    }
    const p = pending.get(data.id);
    if (!p) return;
    pending.delete(data.id);
    if (data.error) p.reject(new LabApiError(data.error.code, data.error.message));
    else p.resolve(data.result);
  });
  ws.addEventListener('close', () => {
    for (const p of pending.values()) p.reject(new LabApiError('ECONN', 'the lab backend went away'));
    pending.clear();
  });
  const call = async (method: keyof LabApi, ...params: unknown[]): Promise<never> => {
    await opened;
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
    loadModule: (m) => call('loadModule', m),
    consoleInput: (d) => call('consoleInput', d),
    consoleResize: (c, r) => call('consoleResize', c, r),
    consoleAck: (n) => call('consoleAck', n),
    exec: (c, a) => call('exec', c, a),
  };
  return {
    api,
    onEvent: (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  };
}

export function connect(): LabConnection {
  const bridge = window.farfetchdLab;
  if (bridge) return { api: bridge, onEvent: (l) => bridge.onEvent(l) };
  const token = new URLSearchParams(location.search).get('token') ?? '';
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  return connectWebSocket(`${scheme}://${location.host}/api?token=${encodeURIComponent(token)}`);
}
