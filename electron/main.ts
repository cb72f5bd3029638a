// Electron's main process: one window, one LabBackend, nothing else. Everything the lab does
// lives in emulator/; this file only wires Electron to it. The decisions are in ipc.ts (the API
// handlers), policy.ts (what the window may load, ask for and open) and window-state.ts, all
// unit-tested without Electron.
import { readFile } from 'node:fs/promises';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { app, BrowserWindow, dialog, ipcMain, protocol, session, shell } from 'electron';
import { createBackend } from '../emulator/src/backend.ts';
import { imageDir } from '../emulator/src/image.ts';
import { verifyImage } from '../emulator/src/image-verify.ts';
import { runSmokeTest } from '../emulator/src/smoke-test.ts';
import { registerLabHandlers } from './ipc.ts';
import {
  allowPermission,
  APP_SCHEME,
  APP_URL,
  externalUrl,
  packagedEnv,
  rendererDir,
  resolveAppRequest,
} from './policy.ts';
import { parseWindowState, type WindowState } from './window-state.ts';

// Bundled to electron/dist/main.cjs (build/build-electron.js); the renderer is built to renderer/dist.
const staticDir = rendererDir(__dirname);

// Must happen before 'ready': app:// is a secure, standard scheme (a real origin for the page).
protocol.registerSchemesAsPrivileged([
  { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } },
]);

app.on('web-contents-created', (_event, contents) => {
  // No navigation away from the app, no webviews, and no new windows: http(s) links go to the
  // system browser instead.
  contents.on('will-navigate', (event) => event.preventDefault());
  contents.on('will-redirect', (event) => event.preventDefault());
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    const external = externalUrl(url);
    if (external) void shell.openExternal(external);
    return { action: 'deny' };
  });
});

// An installed app carries its guest image, and on macOS and Windows its QEMU, in its resources
// (build/electron-builder.yml and the release workflow put them there).
if (app.isPackaged) {
  Object.assign(process.env, packagedEnv(process.resourcesPath, process.env, process.platform, existsSync));
}

function loadWindowState(file: string): WindowState {
  try {
    return parseWindowState(readFileSync(file, 'utf8'));
  } catch {
    return parseWindowState(null); // first run
  }
}

// `--smoke-test` (the release workflow, on each runner): no window; boot the bundled guest with
// the bundled QEMU, run `uname -r` in it through the backend's session, exit 0 or 1.
if (process.argv.includes('--smoke-test')) {
  void app.whenReady().then(async () => {
    app.exit(await runSmokeTest({ env: process.env, log: (line) => process.stdout.write(`${line}\n`) }));
  });
} else {
  void app.whenReady().then(async () => {
    // The installed image is checked before anything uses it: a damaged one is one line with
    // the fix, never a boot that hangs. A development checkout builds its own image (no sums).
    if (app.isPackaged) {
      try {
        await verifyImage(imageDir(process.env));
      } catch (err) {
        dialog.showErrorBox("Farfetch'd Lab cannot start", (err as Error).message);
        app.exit(1);
        return;
      }
    }
    openWindow();
  });
}

function openWindow(): void {
  protocol.handle(APP_SCHEME, async (request) => {
    const answer = resolveAppRequest(request.url, staticDir);
    const body = answer.file ? await readFile(answer.file) : 'not found';
    return new Response(body, { status: answer.status, headers: answer.headers });
  });
  session.defaultSession.setPermissionRequestHandler((_contents, permission, callback, details) =>
    callback(allowPermission(permission, details.requestingUrl)),
  );
  session.defaultSession.setPermissionCheckHandler((_contents, permission, requestingOrigin) =>
    allowPermission(permission, requestingOrigin),
  );

  const backend = createBackend({ exercise: { openPath: (file) => shell.openPath(file) } });
  const stateFile = path.join(app.getPath('userData'), 'window-state.json');
  const state = loadWindowState(stateFile);
  const win = new BrowserWindow({
    width: state.width,
    height: state.height,
    x: state.x,
    y: state.y,
    minWidth: 640,
    minHeight: 400,
    title: "Farfetch'd Lab",
    backgroundColor: '#1e1e1e',
    webPreferences: {
      preload: path.join(__dirname, 'preload.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      webviewTag: false,
      spellcheck: false,
    },
  });
  // The toolbar has every command; macOS keeps the default menu, whose Edit items make Cmd+C/V work.
  if (process.platform !== 'darwin') win.removeMenu();
  // Each page (webContents) that attaches is its own console client: a reload gets the history again.
  const unregister = registerLabHandlers(ipcMain, backend, APP_URL);
  if (state.maximized) win.maximize();
  win.on('close', () => {
    const next: WindowState = { ...win.getNormalBounds(), maximized: win.isMaximized() };
    try {
      writeFileSync(stateFile, JSON.stringify(next));
    } catch {
      // not worth failing the quit for
    }
  });
  void win.loadURL(APP_URL);

  let quitting = false;
  app.on('before-quit', (event) => {
    if (quitting) return;
    // Stop QEMU cleanly before the process goes.
    event.preventDefault();
    quitting = true;
    unregister();
    backend.dispose().finally(() => app.quit());
  });
}

app.on('window-all-closed', () => app.quit());
// Ctrl-C in the terminal that ran `npm start`: the same clean stop as closing the window.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => app.quit());
