// Electron main's handlers without Electron: a fake ipcMain records what is registered.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LabBackend, LabEvent } from '../../emulator/src/api.ts';
import {
  CHANNEL_PREFIX,
  forwardEvents,
  isTrustedSender,
  registerLabHandlers,
  type IpcEventLike,
  type IpcMainLike,
} from '../ipc.ts';
import { APP_URL } from '../policy.ts';

const APP = APP_URL;

function fakeIpc() {
  const handlers = new Map<string, (event: IpcEventLike, ...args: unknown[]) => unknown>();
  const ipc: IpcMainLike = {
    handle: (channel, listener) => void handlers.set(channel, listener),
    removeHandler: (channel) => void handlers.delete(channel),
  };
  const call = (channel: string, url: string | null, ...args: unknown[]) =>
    handlers.get(channel)!({ senderFrame: url === null ? null : { url, parent: null } }, ...args);
  const callFromSubframe = (channel: string, url: string, ...args: unknown[]) =>
    handlers.get(channel)!({ senderFrame: { url, parent: { url } } }, ...args);
  return { ipc, handlers, call, callFromSubframe };
}

function fakeBackend() {
  const calls: unknown[][] = [];
  let listener: ((e: LabEvent) => void) | undefined;
  const backend = new Proxy(
    {},
    {
      get: (_t, name: string) => {
        if (name === 'onEvent')
          return (l: (e: LabEvent) => void) => {
            listener = l;
            return () => (listener = undefined);
          };
        return async (...args: unknown[]) => {
          calls.push([name, ...args]);
          if (name === 'reset') throw Object.assign(new Error('QEMU is missing'), { code: 'ELAB' });
          return { state: 'ready' };
        };
      },
    },
  ) as LabBackend;
  return { backend, calls, emit: (e: LabEvent) => listener?.(e) };
}

test('one handler per API method, each removed again', () => {
  const { ipc, handlers } = fakeIpc();
  const unregister = registerLabHandlers(ipc, fakeBackend().backend, APP);
  assert.deepEqual(
    [...handlers.keys()].sort(),
    ['consoleAck', 'consoleInput', 'consoleResize', 'exec', 'loadModule', 'reset', 'start', 'status', 'stop']
      .map((m) => CHANNEL_PREFIX + m)
      .sort(),
  );
  unregister();
  assert.equal(handlers.size, 0);
});

test('valid calls reach the backend; bad arguments and foreign senders do not', async () => {
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
  for (const url of [
    'https://evil.example/index.html',
    'file:///tmp/other.html',
    'file:///opt/lab/resources/app.asar/renderer/dist/index.html',
    'app://lab/other.html',
    'app://evil/index.html',
    null,
  ]) {
    assert.deepEqual(await call('lab:start', url), {
      ok: false,
      error: { code: 'EPERM', message: 'this frame may not use the lab API' },
    });
  }
  assert.deepEqual(await call('lab:reset', `${APP}#x`), {
    ok: false,
    error: { code: 'ELAB', message: 'QEMU is missing' },
  });
  assert.deepEqual(await callFromSubframe('lab:start', APP), {
    ok: false,
    error: { code: 'EPERM', message: 'this frame may not use the lab API' },
  });
  assert.deepEqual(await call('lab:exec', APP, 'uname', '-r'), {
    ok: false,
    error: { code: 'EINVAL', message: 'args must be an array of at most 64 strings' },
  });
  assert.deepEqual(calls, [['loadModule', 'p2'], ['reset']]);
});

test('isTrustedSender compares protocol, host and path exactly', () => {
  assert.equal(isTrustedSender(APP, APP), true);
  assert.equal(isTrustedSender(`${APP}?q=1`, APP), true);
  assert.equal(isTrustedSender('app://lab/other.html', APP), false);
  assert.equal(isTrustedSender('app://lab.evil/index.html', APP), false);
  assert.equal(isTrustedSender('not a url', APP), false);
  assert.equal(isTrustedSender(undefined, APP), false);
});

test('backend events are forwarded on the event channel until stopped', () => {
  const { backend, emit } = fakeBackend();
  const sent: unknown[] = [];
  const stop = forwardEvents(backend, (channel, event) => sent.push([channel, event]));
  emit({ type: 'console', data: 'x' });
  stop();
  emit({ type: 'console', data: 'y' });
  assert.deepEqual(sent, [['lab:event', { type: 'console', data: 'x' }]]);
});
