// Electron main's API handlers, kept free of Electron itself so they can be unit-tested: one
// channel per API method, the sender checked, every argument validated, and errors serialized
// as {code, message} (Electron would drop an Error's properties across IPC).
import type { LabBackend, LabEvent } from '../emulator/src/api.ts';
import { toApiError } from '../emulator/src/backend.ts';
import { apiMethods, dispatch, validateCall } from '../emulator/src/validate.ts';

import { CHANNEL_PREFIX, EVENT_CHANNEL, type IpcReply } from './channels.ts';

export { CHANNEL_PREFIX, EVENT_CHANNEL, type IpcReply };

/** The part of an IPC event the handlers look at (Electron's senderFrame is a WebFrameMain). */
export interface IpcEventLike {
  senderFrame: { url: string; parent?: unknown } | null;
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

export function registerLabHandlers(ipc: IpcMainLike, backend: LabBackend, appUrl: string): () => void {
  for (const method of apiMethods) {
    ipc.handle(CHANNEL_PREFIX + method, async (event, ...params): Promise<IpcReply> => {
      // The app's own page, in the top frame: not a subframe, not a page navigated to.
      const frame = event.senderFrame;
      if (!frame || (frame.parent ?? null) !== null || !isTrustedSender(frame.url, appUrl)) {
        return { ok: false, error: { code: 'EPERM', message: 'this frame may not use the lab API' } };
      }
      try {
        const call = validateCall(method, params);
        return { ok: true, result: (await dispatch(backend, call)) ?? null };
      } catch (err) {
        return { ok: false, error: toApiError(err) };
      }
    });
  }
  return () => apiMethods.forEach((m) => ipc.removeHandler(CHANNEL_PREFIX + m));
}

/** Forwards backend events to the window while it exists. */
export function forwardEvents(
  backend: LabBackend,
  send: (channel: string, event: LabEvent) => void,
): () => void {
  return backend.onEvent((event) => send(EVENT_CHANNEL, event));
}
