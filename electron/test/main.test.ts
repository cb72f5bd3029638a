// The bundled main process (electron/dist/main.cjs) run under Node with a fake 'electron' module:
// the Electron binary cannot be downloaded here, but what main asks of Electron can be checked.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { repoRoot } from '../../emulator/src/image.ts';
import { CONTENT_SECURITY_POLICY } from '../../emulator/src/serve.ts';
import { LAB_HANDLER_NAMES } from './lab-channels.ts';

type Fn = (...args: unknown[]) => unknown;

interface FakeWindow {
  options: { webPreferences: Record<string, unknown> };
  loaded?: string;
  menuRemoved: boolean;
  sent: unknown[][];
  webContents: object;
}

const appHandlers = new Map<string, Fn>();
const ipcHandlers = new Map<string, Fn>();
const windows: FakeWindow[] = [];
const opened: string[] = [];
const privileged: unknown[] = [];
let protocolHandler: ((request: Request) => Promise<Response>) | undefined;
let permissionRequest: Fn | undefined;
let permissionCheck: Fn | undefined;
let markReady: () => void = () => undefined;
let quits = 0;
const userData = mkdtempSync(path.join(os.tmpdir(), 'electron-userdata-'));
const workspace = mkdtempSync(path.join(os.tmpdir(), 'electron-workspace-'));

const fakeElectron = {
  app: {
    isPackaged: false,
    on: (event: string, fn: Fn) => void appHandlers.set(event, fn),
    whenReady: () => new Promise<void>((resolve) => (markReady = resolve)),
    getPath: () => userData,
    quit: () => void quits++,
  },
  protocol: {
    registerSchemesAsPrivileged: (schemes: unknown[]) => void privileged.push(...schemes),
    handle: (scheme: string, fn: (request: Request) => Promise<Response>) => {
      assert.equal(scheme, 'app');
      protocolHandler = fn;
    },
  },
  session: {
    defaultSession: {
      setPermissionRequestHandler: (fn: Fn) => void (permissionRequest = fn),
      setPermissionCheckHandler: (fn: Fn) => void (permissionCheck = fn),
    },
  },
  shell: { openExternal: async (url: string) => void opened.push(url) },
  ipcMain: {
    handle: (channel: string, fn: Fn) => void ipcHandlers.set(channel, fn),
    removeHandler: (channel: string) => void ipcHandlers.delete(channel),
  },
  BrowserWindow: class implements FakeWindow {
    loaded?: string;
    menuRemoved = false;
    sent: unknown[][] = [];
    webContents = {
      id: 1,
      send: (...args: unknown[]) => void this.sent.push(args),
      isDestroyed: () => false,
      once: () => undefined,
    };
    constructor(readonly options: FakeWindow['options']) {
      windows.push(this);
    }
    removeMenu() {
      this.menuRemoved = true;
    }
    on() {}
    maximize() {}
    isDestroyed() {
      return false;
    }
    loadURL(url: string) {
      this.loaded = url;
      return Promise.resolve();
    }
  },
};

const signalListeners = { SIGINT: process.listeners('SIGINT'), SIGTERM: process.listeners('SIGTERM') };
const moduleInternals = Module as unknown as { _load: (request: string, ...rest: unknown[]) => unknown };
const realLoad = moduleInternals._load;

before(() => {
  for (const [script, out] of [
    ['build:renderer', path.join(repoRoot, 'renderer', 'dist', 'index.html')],
    ['build:electron', path.join(repoRoot, 'electron', 'dist', 'main.cjs')],
  ]) {
    if (script === 'build:electron' || !existsSync(out)) {
      const r = spawnSync('npm', ['run', '-s', script], { cwd: repoRoot, stdio: 'inherit' });
      assert.equal(r.status, 0, `npm run ${script} failed`);
    }
  }
  process.env.FARFETCHD_LAB_WORKSPACE = workspace;
  moduleInternals._load = function (request: string, ...rest: unknown[]) {
    return request === 'electron' ? fakeElectron : realLoad.call(this, request, ...rest);
  };
  createRequire(import.meta.url)(path.join(repoRoot, 'electron', 'dist', 'main.cjs'));
});

after(() => {
  moduleInternals._load = realLoad;
  delete process.env.FARFETCHD_LAB_WORKSPACE;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    for (const l of process.listeners(signal)) {
      if (!signalListeners[signal].includes(l)) process.off(signal, l);
    }
  }
  rmSync(userData, { recursive: true, force: true });
  rmSync(workspace, { recursive: true, force: true });
});

test('before ready: app:// is registered as a secure standard scheme', () => {
  assert.deepEqual(privileged, [
    { scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true } },
  ]);
  assert.equal(windows.length, 0);
});

test('when ready: one sandboxed, isolated window on app://lab, one handler per API method', async () => {
  markReady();
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(windows.length, 1);
  const prefs = windows[0].options.webPreferences;
  assert.equal(prefs.contextIsolation, true);
  assert.equal(prefs.sandbox, true);
  assert.equal(prefs.nodeIntegration, false);
  assert.equal(prefs.webviewTag, false);
  assert.match(String(prefs.preload), /electron[/\\]dist[/\\]preload\.cjs$/);
  assert.equal(windows[0].loaded, 'app://lab/index.html');
  assert.equal(windows[0].menuRemoved, process.platform !== 'darwin');
  assert.deepEqual(
    [...ipcHandlers.keys()].sort(),
    LAB_HANDLER_NAMES.map((m) => `lab:${m}`),
  );
  const sender = windows[0].webContents;
  const reply = await ipcHandlers.get('lab:status')!({
    senderFrame: { url: 'app://lab/index.html', parent: null },
    sender,
  });
  assert.deepEqual((reply as { ok: boolean }).ok, true);
  // The window's page became a client: it was sent the machine's status.
  assert.deepEqual(windows[0].sent[0][0], 'lab:event');
  assert.equal((windows[0].sent[0][1] as { type: string }).type, 'status');
  const refused = await ipcHandlers.get('lab:status')!({
    senderFrame: { url: 'https://evil.example/', parent: null },
    sender,
  });
  assert.equal((refused as { error: { code: string } }).error.code, 'EPERM');
});

test('app:// answers with the built renderer and the CSP header', async () => {
  const page = await protocolHandler!(new Request('app://lab/index.html'));
  assert.equal(page.status, 200);
  assert.equal(page.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY);
  assert.match(await page.text(), /<div id="app"><\/div>/);
  const escape = await protocolHandler!(new Request('app://lab/%2e%2e/%2e%2e/package.json'));
  assert.equal(escape.status, 404);
});

test('permissions: the clipboard for the app page only; links go to the system browser', () => {
  const answers: boolean[] = [];
  permissionRequest!(null, 'clipboard-read', (ok: boolean) => answers.push(ok), {
    requestingUrl: 'app://lab/index.html',
  });
  permissionRequest!(null, 'media', (ok: boolean) => answers.push(ok), {
    requestingUrl: 'app://lab/index.html',
  });
  assert.deepEqual(answers, [true, false]);
  assert.equal(permissionCheck!(null, 'clipboard-sanitized-write', 'app://lab'), true);
  assert.equal(permissionCheck!(null, 'clipboard-read', 'https://evil.example'), false);

  const listeners = new Map<string, Fn>();
  let openHandler: Fn = () => undefined;
  const contents = {
    on: (event: string, fn: Fn) => void listeners.set(event, fn),
    setWindowOpenHandler: (fn: Fn) => void (openHandler = fn),
  };
  appHandlers.get('web-contents-created')!({}, contents);
  for (const event of ['will-navigate', 'will-redirect', 'will-attach-webview']) {
    let prevented = false;
    listeners.get(event)!({ preventDefault: () => (prevented = true) });
    assert.equal(prevented, true, event);
  }
  assert.deepEqual(openHandler({ url: 'https://www.kernel.org/' }), { action: 'deny' });
  assert.deepEqual(openHandler({ url: 'file:///etc/passwd' }), { action: 'deny' });
  assert.deepEqual(opened, ['https://www.kernel.org/']);
});

test('quitting stops the backend first, then quits', async () => {
  let prevented = 0;
  const beforeQuit = appHandlers.get('before-quit')!;
  beforeQuit({ preventDefault: () => prevented++ });
  assert.equal(prevented, 1);
  assert.equal(ipcHandlers.size, 0, 'handlers removed');
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(quits, 1);
  beforeQuit({ preventDefault: () => prevented++ });
  assert.equal(prevented, 1, 'the second before-quit goes through');
});
