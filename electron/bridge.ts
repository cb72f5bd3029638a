// What the preload exposes to the page as window.farfetchdLab: one method per API message and
// onEvent. Kept apart from preload.ts (which only hands it to contextBridge) so it is tested
// without Electron. It only moves messages; main validates them.
import type { LabApi, LabEvent } from '../emulator/src/api.ts';
import { CHANNEL_PREFIX, EVENT_CHANNEL, type IpcReply } from './channels.ts';

/** The part of Electron's ipcRenderer the bridge uses. */
export interface IpcRendererLike {
  invoke(channel: string, ...args: unknown[]): Promise<unknown>;
  on(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
  off(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
}

export type Bridge = LabApi & { onEvent(listener: (event: LabEvent) => void): () => void };

export function createBridge(ipc: IpcRendererLike): Bridge {
  // A failure is rejected as the plain {code, message} object: contextBridge would strip an Error
  // down to its message, and the renderer turns the object back into its own error class.
  const invoke = async (method: keyof LabApi, ...args: unknown[]): Promise<never> => {
    const reply = (await ipc.invoke(CHANNEL_PREFIX + method, ...args)) as IpcReply;
    if (reply.ok) return reply.result as never;
    throw { code: reply.error.code, message: reply.error.message };
  };
  return {
    status: () => invoke('status'),
    start: () => invoke('start'),
    stop: () => invoke('stop'),
    reset: () => invoke('reset'),
    loadModule: (module) => invoke('loadModule', module),
    consoleInput: (data) => invoke('consoleInput', data),
    consoleResize: (cols, rows) => invoke('consoleResize', cols, rows),
    consoleAck: (bytes) => invoke('consoleAck', bytes),
    exec: (command, args) => invoke('exec', command, args),
    onEvent: (listener) => {
      // The page's listener never sees Electron's event object (it holds the sender).
      const wrapped = (_event: unknown, event: unknown) => listener(event as LabEvent);
      ipc.on(EVENT_CHANNEL, wrapped);
      return () => void ipc.off(EVENT_CHANNEL, wrapped);
    },
  };
}
