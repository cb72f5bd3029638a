// What the preload exposes to the page as window.farfetchdLab: one method per API message and
// onEvent. Kept apart from preload.ts (which only hands it to contextBridge) so it is tested
// without Electron. It only moves messages; main validates them.
import type { LabApi, LabEvent } from '../emulator/src/api.ts';
import { CHANNEL_PREFIX, CONNECT_CHANNEL, EVENT_CHANNEL, type IpcReply } from './channels.ts';

/** The part of Electron's ipcRenderer the bridge uses. */
export interface IpcRendererLike {
  invoke(channel: string, ...args: unknown[]): Promise<unknown>;
  on(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
  off(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
}

export type Bridge = LabApi & { onEvent(listener: (event: LabEvent) => void): () => void };

export function createBridge(ipc: IpcRendererLike): Bridge {
  // One IPC listener for the page's listeners, registered before the page attaches as a client so
  // that nothing main sends after attaching (status, console history) is missed.
  const listeners = new Set<(event: LabEvent) => void>();
  ipc.on(EVENT_CHANNEL, (_event: unknown, event: unknown) => {
    // The page's listeners never see Electron's event object (it holds the sender).
    for (const listener of listeners) listener(event as LabEvent);
  });
  // Attached once, on first use, before any call is sent: main handles messages in order, so every
  // call is this page's client's.
  let attached = false;
  const attach = () => {
    if (attached) return;
    attached = true;
    ipc.invoke(CONNECT_CHANNEL).catch(() => undefined);
  };
  // A failure is rejected as the plain {code, message} object: contextBridge would strip an Error
  // down to its message, and the renderer turns the object back into its own error class.
  const invoke = async (method: keyof LabApi, ...args: unknown[]): Promise<never> => {
    attach();
    const reply = (await ipc.invoke(CHANNEL_PREFIX + method, ...args)) as IpcReply;
    if (reply.ok) return reply.result as never;
    throw { code: reply.error.code, message: reply.error.message };
  };
  return {
    status: () => invoke('status'),
    start: () => invoke('start'),
    stop: () => invoke('stop'),
    reset: () => invoke('reset'),
    suspend: () => invoke('suspend'),
    resume: () => invoke('resume'),
    loadModule: (module) => invoke('loadModule', module),
    consoleInput: (data) => invoke('consoleInput', data),
    consoleResize: (cols, rows) => invoke('consoleResize', cols, rows),
    consoleAck: (bytes) => invoke('consoleAck', bytes),
    systemReport: () => invoke('systemReport'),
    probeAccelerator: () => invoke('probeAccelerator'),
    processes: () => invoke('processes'),
    mappings: (pid) => invoke('mappings', pid),
    pageWalk: (pid, addr) => invoke('pageWalk', pid, addr),
    drivers: () => invoke('drivers'),
    kernelLog: () => invoke('kernelLog'),
    resolveKernelAddress: (module, symbolOffset) => invoke('resolveKernelAddress', module, symbolOffset),
    exercise: () => invoke('exercise'),
    workspaceFiles: () => invoke('workspaceFiles'),
    readWorkspaceFile: (file) => invoke('readWorkspaceFile', file),
    writeWorkspaceFile: (file, text) => invoke('writeWorkspaceFile', file, text),
    openInEditor: (file) => invoke('openInEditor', file),
    buildAndLoad: (part) => invoke('buildAndLoad', part),
    grade: (stepId) => invoke('grade', stepId),
    setStepDone: (stepId, done) => invoke('setStepDone', stepId, done),
    setWelcomeSeen: (seen) => invoke('setWelcomeSeen', seen),
    onEvent: (listener) => {
      listeners.add(listener);
      attach();
      return () => void listeners.delete(listener);
    },
  };
}
