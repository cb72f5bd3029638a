// The renderer's transports without a browser: the WebSocket API client (against a fake socket),
// the server messages it accepts, the Electron bridge's errors, and the choice between the two.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LabEvent } from '../../emulator/src/api.ts';
import {
  bridgeApi,
  connectWebSocket,
  createApi,
  LabApiError,
  parseServerMessage,
  webSocketUrl,
  type PreloadBridge,
} from '../src/api/transport.ts';
import { readyP2 as ready } from './statuses.ts';

class FakeSocket extends EventTarget {
  static last: FakeSocket;
  sent: unknown[] = [];
  constructor(readonly url: string) {
    super();
    FakeSocket.last = this;
    queueMicrotask(() => this.dispatchEvent(new Event('open')));
  }
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  reply(message: unknown) {
    this.dispatchEvent(new MessageEvent('message', { data: JSON.stringify(message) }));
  }
}

test('the WebSocket client sends {id, method, params} and matches replies by id', async () => {
  const { api } = connectWebSocket('ws://127.0.0.1:1/api?token=t', FakeSocket as unknown as typeof WebSocket);
  const resize = api.consoleResize(120, 40);
  const load = api.loadModule('p2');
  await new Promise((r) => setTimeout(r, 0));
  const socket = FakeSocket.last;
  assert.deepEqual(socket.sent, [
    { id: 1, method: 'consoleResize', params: [120, 40] },
    { id: 2, method: 'loadModule', params: ['p2'] },
  ]);
  socket.reply({ id: 2, result: ready });
  socket.reply({ id: 1, error: { code: 'EINVAL', message: 'rows must be an integer from 1 to 1000' } });
  assert.deepEqual(await load, ready);
  await assert.rejects(
    resize,
    (err: LabApiError) => err.code === 'EINVAL' && /rows must be/.test(err.message),
  );
});

test('pushed events reach listeners; a closed socket rejects what is pending, and later calls', async () => {
  const conn = connectWebSocket('ws://x/api', FakeSocket as unknown as typeof WebSocket);
  const events: LabEvent[] = [];
  const closed: string[] = [];
  conn.onEvent((e) => events.push(e));
  conn.onClose?.((reason) => closed.push(reason));
  const pending = conn.api.status();
  await new Promise((r) => setTimeout(r, 0));
  FakeSocket.last.reply({ event: { type: 'console', data: 'hi' } });
  FakeSocket.last.reply('not json at all');
  FakeSocket.last.dispatchEvent(new MessageEvent('message', { data: '{broken' }));
  FakeSocket.last.dispatchEvent(new Event('close'));
  assert.deepEqual(events, [{ type: 'console', data: 'hi' }]);
  await assert.rejects(pending, (err: LabApiError) => err.code === 'ECONN');
  await assert.rejects(conn.api.start(), (err: LabApiError) => err.code === 'ECONN');
  assert.deepEqual(closed, ['the connection to the lab backend was lost']);
});

test('a socket that never opens fails the calls with ECONN', async () => {
  class Refused extends EventTarget {
    constructor() {
      super();
      queueMicrotask(() => this.dispatchEvent(new Event('error')));
    }
  }
  const conn = connectWebSocket('ws://x/api', Refused as unknown as typeof WebSocket);
  await assert.rejects(conn.api.status(), (err: LabApiError) => err.code === 'ECONN');
});

test('server messages are checked before use', () => {
  assert.deepEqual(parseServerMessage('{"id":3,"result":null}'), { id: 3, result: null });
  assert.deepEqual(parseServerMessage('{"id":4,"error":{"code":"EINVAL","message":"m"}}'), {
    id: 4,
    error: { code: 'EINVAL', message: 'm' },
  });
  assert.deepEqual(parseServerMessage('{"id":5,"error":{}}'), {
    id: 5,
    error: { code: 'ELAB', message: 'the lab backend failed' },
  });
  assert.deepEqual(parseServerMessage('{"event":{"type":"console","data":"x"}}'), {
    event: { type: 'console', data: 'x' },
  });
  for (const bad of ['', 'null', '42', '"s"', '{"id":"1"}', '{"event":{}}', '{']) {
    assert.equal(parseServerMessage(bad), null, bad);
  }
});

test('the bridge API turns what the preload rejects with back into LabApiErrors', async () => {
  const bridge = {
    reset: async () => Promise.reject({ code: 'ELAB', message: 'QEMU is missing' }),
    stop: async () => Promise.reject(new Error('plain')),
    start: async () => Promise.reject('a string'),
  } as unknown as PreloadBridge;
  const api = bridgeApi(bridge);
  await assert.rejects(
    api.reset(),
    (e: LabApiError) => e instanceof LabApiError && e.code === 'ELAB' && e.message === 'QEMU is missing',
  );
  await assert.rejects(api.stop(), (e: LabApiError) => e.code === 'ELAB' && e.message === 'plain');
  await assert.rejects(api.start(), (e: LabApiError) => e.code === 'ELAB' && e.message === 'a string');
});

test('createApi uses the preload bridge when Electron gives one, else a WebSocket with the page token', () => {
  const calls: string[] = [];
  const bridge = {
    status: async () => {
      calls.push('status');
      return ready;
    },
    onEvent: () => () => calls.push('off'),
  } as unknown as PreloadBridge;
  const viaBridge = createApi({ farfetchdLab: bridge, location: {} as Location });
  void viaBridge.api.status();
  viaBridge.onEvent(() => undefined)();
  assert.deepEqual(calls, ['status', 'off']);
  assert.equal('onEvent' in viaBridge.api, false);

  const loc = { protocol: 'http:', host: '127.0.0.1:4000', search: '?token=a%2Bb&x=1' };
  assert.equal(webSocketUrl(loc), 'ws://127.0.0.1:4000/api?token=a%2Bb');
  assert.equal(webSocketUrl({ ...loc, protocol: 'https:', search: '' }), 'wss://127.0.0.1:4000/api?token=');
});
