// The preload's bridge without Electron: a fake ipcRenderer records what it is asked.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LabEvent } from '../../emulator/src/api.ts';
import { apiMethods } from '../../emulator/src/validate.ts';
import { createBridge, type IpcRendererLike } from '../bridge.ts';

function fakeIpcRenderer(reply: (channel: string, args: unknown[]) => unknown) {
  const invoked: unknown[][] = [];
  const listeners = new Map<string, Set<(event: unknown, ...args: unknown[]) => void>>();
  const ipc: IpcRendererLike = {
    invoke: async (channel, ...args) => {
      invoked.push([channel, ...args]);
      return reply(channel, args);
    },
    on: (channel, listener) => {
      if (!listeners.has(channel)) listeners.set(channel, new Set());
      listeners.get(channel)!.add(listener);
    },
    off: (channel, listener) => listeners.get(channel)?.delete(listener),
  };
  const send = (channel: string, payload: unknown) =>
    listeners.get(channel)?.forEach((l) => l({ sender: 'electron internals' }, payload));
  return { ipc, invoked, send };
}

test('one method per API message, each on its own channel with its arguments, after attaching', async () => {
  const { ipc, invoked } = fakeIpcRenderer(() => ({ ok: true, result: null }));
  const bridge = createBridge(ipc);
  assert.deepEqual(Object.keys(bridge).sort(), [...apiMethods, 'onEvent'].sort());
  assert.equal('exec' in bridge, false, 'no general command runner for the page');
  assert.deepEqual(invoked, [], 'nothing is sent before the page uses the bridge');
  await bridge.loadModule('p3');
  await bridge.consoleResize(120, 40);
  await bridge.consoleAck(4096);
  await bridge.systemReport();
  await bridge.probeAccelerator();
  bridge.onEvent(() => undefined);
  assert.deepEqual(invoked, [
    ['lab:connect'],
    ['lab:loadModule', 'p3'],
    ['lab:consoleResize', 120, 40],
    ['lab:consoleAck', 4096],
    ['lab:systemReport'],
    ['lab:probeAccelerator'],
  ]);
});

test('a page that listens first attaches once, before its first call', async () => {
  const { ipc, invoked } = fakeIpcRenderer(() => ({ ok: true, result: null }));
  const bridge = createBridge(ipc);
  bridge.onEvent(() => undefined);
  bridge.onEvent(() => undefined);
  await bridge.status();
  assert.deepEqual(invoked, [['lab:connect'], ['lab:status']]);
});

test('results come back as they are; failures as plain {code, message}', async () => {
  const { ipc } = fakeIpcRenderer((channel) =>
    channel === 'lab:start'
      ? { ok: false, error: { code: 'ELAB', message: 'QEMU is missing' } }
      : { ok: true, result: { state: 'ready' } },
  );
  const bridge = createBridge(ipc);
  assert.deepEqual(await bridge.status(), { state: 'ready' });
  await assert.rejects(bridge.start(), (err: unknown) => {
    assert.deepEqual(err, { code: 'ELAB', message: 'QEMU is missing' });
    assert.equal(err instanceof Error, false);
    return true;
  });
});

test('events reach the page without Electron event objects, until unsubscribed', () => {
  const { ipc, send } = fakeIpcRenderer(() => ({ ok: true, result: null }));
  const bridge = createBridge(ipc);
  const seen: unknown[][] = [];
  const seenToo: unknown[] = [];
  const off = bridge.onEvent((...args: unknown[]) => seen.push(args));
  bridge.onEvent((event) => seenToo.push(event));
  send('lab:event', { type: 'console', data: 'x' } satisfies LabEvent);
  send('lab:other', { type: 'console', data: 'no' });
  off();
  send('lab:event', { type: 'console', data: 'y' });
  assert.deepEqual(seen, [[{ type: 'console', data: 'x' }]]);
  assert.deepEqual(seenToo, [
    { type: 'console', data: 'x' },
    { type: 'console', data: 'y' },
  ]);
});
