// Electron main's handlers without Electron: a fake ipcMain records what is registered.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LabApi, LabBackend, LabEvent } from '../../emulator/src/api.ts';
import {
  CHANNEL_PREFIX,
  isTrustedSender,
  registerLabHandlers,
  type IpcEventLike,
  type IpcMainLike,
  type SenderLike,
} from '../ipc.ts';
import { APP_URL } from '../policy.ts';
import { LAB_HANDLER_NAMES } from './lab-channels.ts';

const APP = APP_URL;

/** A window's webContents: what it was sent, and its 'destroyed' event. */
function fakeSender(id: number) {
  const sent: unknown[][] = [];
  let destroyed = false;
  let onDestroyed: (() => void) | undefined;
  const sender: SenderLike = {
    id,
    send: (channel, event) => void sent.push([channel, event]),
    isDestroyed: () => destroyed,
    once: (_event, listener) => (onDestroyed = listener),
  };
  return {
    sender,
    sent,
    destroy: () => {
      destroyed = true;
      onDestroyed?.();
    },
  };
}

function fakeIpc() {
  const handlers = new Map<string, (event: IpcEventLike, ...args: unknown[]) => unknown>();
  const ipc: IpcMainLike = {
    handle: (channel, listener) => void handlers.set(channel, listener),
    removeHandler: (channel) => void handlers.delete(channel),
  };
  const window = fakeSender(1);
  const call = (channel: string, url: string | null, ...args: unknown[]) =>
    handlers.get(channel)!(
      { senderFrame: url === null ? null : { url, parent: null }, sender: window.sender },
      ...args,
    );
  const callAs = (sender: SenderLike, channel: string, ...args: unknown[]) =>
    handlers.get(channel)!({ senderFrame: { url: APP, parent: null }, sender }, ...args);
  const callFromSubframe = (channel: string, url: string, ...args: unknown[]) =>
    handlers.get(channel)!({ senderFrame: { url, parent: { url } }, sender: window.sender }, ...args);
  return { ipc, handlers, call, callAs, callFromSubframe, window };
}

/** A backend whose clients are numbered: what each was asked, and a way to send it events. */
function fakeBackend() {
  const calls: unknown[][] = [];
  const clients: { listener: (e: LabEvent) => void; closed: boolean }[] = [];
  const backend: LabBackend = {
    connect: (listener) => {
      const client = { listener, closed: false };
      const n = clients.push(client) - 1;
      const api = new Proxy(
        {},
        {
          get:
            (_t, name: string) =>
            async (...args: unknown[]) => {
              calls.push([n, name, ...args]);
              if (name === 'reset') throw Object.assign(new Error('QEMU is missing'), { code: 'ELAB' });
              return { state: 'ready' };
            },
        },
      ) as LabApi;
      return { api, close: () => void (client.closed = true) };
    },
    dispose: async () => undefined,
  };
  return { backend, calls, clients };
}

test('one handler per API method and one to attach, each removed again', () => {
  const { ipc, handlers } = fakeIpc();
  const unregister = registerLabHandlers(ipc, fakeBackend().backend, APP);
  assert.deepEqual([...handlers.keys()].sort(), [...LAB_HANDLER_NAMES].map((m) => CHANNEL_PREFIX + m).sort());
  unregister();
  assert.equal(handlers.size, 0);
});

test('valid calls reach the backend; bad arguments, exec and foreign senders do not', async () => {
  const { ipc, call, callFromSubframe } = fakeIpc();
  const { backend, calls } = fakeBackend();
  registerLabHandlers(ipc, backend, APP);
  assert.deepEqual(await call('lab:loadModule', APP, 'p2'), { ok: true, result: { state: 'ready' } });
  assert.deepEqual(await call('lab:loadModule', APP, 'p2; rm -rf /'), {
    ok: false,
    error: { code: 'EINVAL', message: 'module must be one of none, p1, p2, p3' },
  });
  assert.deepEqual(await call('lab:consoleResize', APP, 80, -1), {
    ok: false,
    error: { code: 'EINVAL', message: 'rows must be an integer from 1 to 1000' },
  });
  assert.deepEqual(await call('lab:systemReport', APP, 'x'), {
    ok: false,
    error: { code: 'EINVAL', message: 'systemReport takes no parameters' },
  });
  for (const url of [
    'https://evil.example/index.html',
    'file:///tmp/other.html',
    'file:///opt/lab/resources/app.asar/renderer/dist/index.html',
    'app://lab/other.html',
    'app://evil/index.html',
    null,
  ]) {
    for (const channel of ['lab:start', 'lab:connect']) {
      assert.deepEqual(await call(channel, url), {
        ok: false,
        error: { code: 'EPERM', message: 'this frame may not use the lab API' },
      });
    }
  }
  assert.deepEqual(await call('lab:reset', `${APP}#x`), {
    ok: false,
    error: { code: 'ELAB', message: 'QEMU is missing' },
  });
  assert.deepEqual(await callFromSubframe('lab:start', APP), {
    ok: false,
    error: { code: 'EPERM', message: 'this frame may not use the lab API' },
  });
  assert.deepEqual(await call('lab:probeAccelerator', APP), { ok: true, result: { state: 'ready' } });
  assert.deepEqual(calls, [
    [0, 'loadModule', 'p2'],
    [0, 'reset'],
    [0, 'probeAccelerator'],
  ]);
});

test('each window is its own client; a reload replaces it, a closed window detaches it', async () => {
  const { ipc, callAs } = fakeIpc();
  const { backend, calls, clients } = fakeBackend();
  const unregister = registerLabHandlers(ipc, backend, APP);
  const one = fakeSender(1);
  const two = fakeSender(2);
  assert.deepEqual(await callAs(one.sender, 'lab:connect'), { ok: true, result: null });
  await callAs(two.sender, 'lab:consoleAck', 100); // attached on first use, too
  await callAs(one.sender, 'lab:consoleAck', 7);
  assert.deepEqual(calls, [
    [1, 'consoleAck', 100],
    [0, 'consoleAck', 7],
  ]);
  clients[0].listener({ type: 'console', data: 'to one' });
  clients[1].listener({ type: 'console', data: 'to two' });
  assert.deepEqual(one.sent, [['lab:event', { type: 'console', data: 'to one' }]]);
  assert.deepEqual(two.sent, [['lab:event', { type: 'console', data: 'to two' }]]);

  await callAs(one.sender, 'lab:connect'); // window one reloaded its page
  assert.deepEqual(
    clients.map((c) => c.closed),
    [true, false, false],
  );
  await callAs(one.sender, 'lab:status');
  assert.deepEqual(calls.at(-1), [2, 'status']);

  two.destroy();
  clients[1].listener({ type: 'console', data: 'too late' });
  assert.equal(two.sent.length, 1, 'nothing is sent to a destroyed window');
  assert.deepEqual(
    clients.map((c) => c.closed),
    [true, true, false],
  );
  unregister();
  assert.deepEqual(
    clients.map((c) => c.closed),
    [true, true, true],
  );
});

test('isTrustedSender compares protocol, host and path exactly', () => {
  assert.equal(isTrustedSender(APP, APP), true);
  assert.equal(isTrustedSender(`${APP}?q=1`, APP), true);
  assert.equal(isTrustedSender('app://lab/other.html', APP), false);
  assert.equal(isTrustedSender('app://lab.evil/index.html', APP), false);
  assert.equal(isTrustedSender('not a url', APP), false);
  assert.equal(isTrustedSender(undefined, APP), false);
});
