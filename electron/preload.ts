// The preload of the sandboxed window: exposes the lab API (electron/bridge.ts) as
// window.farfetchdLab, and nothing else.
import { contextBridge, ipcRenderer } from 'electron';
import { createBridge } from './bridge.ts';

contextBridge.exposeInMainWorld('farfetchdLab', createBridge(ipcRenderer));
