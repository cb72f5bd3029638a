// Electron's main process: one window, one LabBackend, nothing else. Everything the lab does
// lives in emulator/; this file only wires Electron to it (see ipc.ts for the handlers).
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { app, BrowserWindow, ipcMain, session } from 'electron';
import { createBackend } from '../emulator/src/backend.ts';
import { CONTENT_SECURITY_POLICY } from '../emulator/src/serve.ts';
import { forwardEvents, registerLabHandlers } from './ipc.ts';
import { parseWindowState, type WindowState } from './window-state.ts';

// Bundled to electron/dist/main.cjs (build/build-electron.js); the renderer is built to renderer/dist.
const rendererIndex = path.join(__dirname, '..', '..', 'renderer', 'dist', 'index.html');
const appUrl = new URL(`file://${rendererIndex}`).href;

app.on('web-contents-created', (_event, contents) => {
  // No navigation away from the app and no new windows: the renderer shows only local content.
  contents.on('will-navigate', (event) => event.preventDefault());
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
});

// An installed app carries its guest image in its resources (the release workflow puts it there).
if (app.isPackaged && !process.env.FARFETCHD_LAB_IMAGE) {
  process.env.FARFETCHD_LAB_IMAGE = path.join(process.resourcesPath, 'guest');
}

app.whenReady().then(() => {
  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({
      responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] },
    });
  });
  session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));

  const backend = createBackend();
  const stateFile = path.join(app.getPath('userData'), 'window-state.json');
  let saved: string | null = null;
  try {
    saved = readFileSync(stateFile, 'utf8');
  } catch {
    // first run
  }
  const state = parseWindowState(saved);
  const win = new BrowserWindow({
    width: state.width,
    height: state.height,
    x: state.x,
    y: state.y,
    title: "Farfetch'd Lab",
    webPreferences: {
      preload: path.join(__dirname, 'preload.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
    },
  });
  const unregister = registerLabHandlers(ipcMain, backend, appUrl);
  const stopForwarding = forwardEvents(backend, (channel, event) => {
    if (!win.isDestroyed()) win.webContents.send(channel, event);
  });
  if (state.maximized) win.maximize();
  win.on('close', () => {
    const bounds = win.getNormalBounds();
    const next: WindowState = { ...bounds, maximized: win.isMaximized() };
    writeFileSync(stateFile, JSON.stringify(next));
  });
  win.loadFile(rendererIndex);

  let quitting = false;
  app.on('before-quit', (event) => {
    if (quitting) return;
    // Stop QEMU cleanly before the process goes.
    event.preventDefault();
    quitting = true;
    stopForwarding();
    unregister();
    backend.dispose().finally(() => app.quit());
  });
});

app.on('window-all-closed', () => app.quit());
