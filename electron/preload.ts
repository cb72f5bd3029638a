// The preload: one method per API message, exposed to the sandboxed renderer as
// window.farfetchdLab. It only moves messages; main validates them.
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { LabEvent, LabApi } from '../emulator/src/api.ts';

type IpcReply = { ok: true; result: unknown } | { ok: false; error: { code: string; message: string } };

async function invoke(method: keyof LabApi, ...args: unknown[]): Promise<never> {
  const reply = (await ipcRenderer.invoke(`lab:${method}`, ...args)) as IpcReply;
  if (reply.ok) return reply.result as never;
  throw Object.assign(new Error(reply.error.message), { code: reply.error.code });
}

contextBridge.exposeInMainWorld('farfetchdLab', {
  status: () => invoke('status'),
  start: () => invoke('start'),
  stop: () => invoke('stop'),
  reset: () => invoke('reset'),
  loadModule: (module: string) => invoke('loadModule', module),
  consoleInput: (data: string) => invoke('consoleInput', data),
  consoleResize: (cols: number, rows: number) => invoke('consoleResize', cols, rows),
  consoleAck: (bytes: number) => invoke('consoleAck', bytes),
  exec: (command: string, args: string[]) => invoke('exec', command, args),
  onEvent: (listener: (event: LabEvent) => void) => {
    const wrapped = (_e: IpcRendererEvent, event: LabEvent) => listener(event);
    ipcRenderer.on('lab:event', wrapped);
    return () => ipcRenderer.off('lab:event', wrapped);
  },
});
