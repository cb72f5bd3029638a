// Electron main's API handlers, kept free of Electron itself so they can be unit-tested: one
// channel per API method, the sender checked, every argument validated, and errors serialized
// as {code, message} (Electron would drop an Error's properties across IPC). Each window's page
// (webContents) is its own client of the backend, with its own console flow control.
import type { LabBackend, LabClient, LabEvent } from '../emulator/src/api.ts';
import { toApiError } from '../emulator/src/backend.ts';
import { apiMethods, dispatch, validateCall } from '../emulator/src/validate.ts';

import { CHANNEL_PREFIX, CONNECT_CHANNEL, EVENT_CHANNEL, type IpcReply } from './channels.ts';

export { CHANNEL_PREFIX, CONNECT_CHANNEL, EVENT_CHANNEL, type IpcReply };

/** The part of Electron's WebContents the handlers use. */
export interface SenderLike {
  id: number;
  send(channel: string, event: LabEvent): void;
  isDestroyed(): boolean;
  once(event: 'destroyed', listener: () => void): unknown;
}

/** The part of an IPC event the handlers look at (Electron's senderFrame is a WebFrameMain). */
export interface IpcEventLike {
  senderFrame: { url: string; parent?: unknown } | null;
  sender: SenderLike;
}
/** The part of Electron's ipcMain the handlers need. */
export interface IpcMainLike {
  handle(channel: string, listener: (event: IpcEventLike, ...args: unknown[]) => unknown): void;
  removeHandler(channel: string): void;
}

/** Only the app's own page may call the API: no other frame, no navigated-away page. */
export function isTrustedSender(frameUrl: string | undefined, appUrl: string): boolean {
  if (!frameUrl) return false;
  try {
    const frame = new URL(frameUrl);
    const app = new URL(appUrl);
    return frame.protocol === app.protocol && frame.host === app.host && frame.pathname === app.pathname;
  } catch {
    return false;
  }
}

const REFUSED: IpcReply = {
  ok: false,
  error: { code: 'EPERM', message: 'this frame may not use the lab API' },
};

/** The app's own page, in the top frame: not a subframe, not a page navigated to. */
function trusted(event: IpcEventLike, appUrl: string): boolean {
  const frame = event.senderFrame;
  return !!frame && (frame.parent ?? null) === null && isTrustedSender(frame.url, appUrl);
}

/**
 * Registers a handler per API method plus CONNECT_CHANNEL. Returns a function that removes them
 * and detaches every client.
 */
export function registerLabHandlers(ipc: IpcMainLike, backend: LabBackend, appUrl: string): () => void {
  const clients = new Map<number, LabClient>();
  const connect = (sender: SenderLike): LabClient => {
    const known = clients.has(sender.id);
    clients.get(sender.id)?.close(); // the page was reloaded: its old client goes
    const client = backend.connect((event) => {
      if (!sender.isDestroyed()) sender.send(EVENT_CHANNEL, event);
    });
    clients.set(sender.id, client);
    if (!known) {
      sender.once('destroyed', () => {
        clients.get(sender.id)?.close();
        clients.delete(sender.id);
      });
    }
    return client;
  };

  ipc.handle(CONNECT_CHANNEL, (event): IpcReply => {
    if (!trusted(event, appUrl)) return REFUSED;
    connect(event.sender);
    return { ok: true, result: null };
  });
  for (const method of apiMethods) {
    ipc.handle(CHANNEL_PREFIX + method, async (event, ...params): Promise<IpcReply> => {
      if (!trusted(event, appUrl)) return REFUSED;
      try {
        const call = validateCall(method, params);
        const client = clients.get(event.sender.id) ?? connect(event.sender);
        return { ok: true, result: (await dispatch(client.api, call)) ?? null };
      } catch (err) {
        return { ok: false, error: toApiError(err) };
      }
    });
  }
  return () => {
    ipc.removeHandler(CONNECT_CHANNEL);
    apiMethods.forEach((m) => ipc.removeHandler(CHANNEL_PREFIX + m));
    for (const client of clients.values()) client.close();
    clients.clear();
  };
}
