// The renderer's logic without a browser: the WebSocket API client (against a fake socket), the
// output batcher, and the store's formatting and event handling.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LabEvent, VmStatus } from '../../emulator/src/api.ts';
import { connectWebSocket, LabApiError, type LabConnection } from '../src/api/transport.ts';
import { OutputBatcher } from '../src/composables/batcher.ts';
import { formatUptime, stepLabel, useVm } from '../src/composables/useVm.ts';

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

const ready: VmStatus = { state: 'ready', bootSteps: [], uptimeMs: 5000, loadedModule: 'p2' };

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

test('pushed events reach listeners; a closed socket rejects what is pending', async () => {
  const conn = connectWebSocket('ws://x/api', FakeSocket as unknown as typeof WebSocket);
  const events: LabEvent[] = [];
  conn.onEvent((e) => events.push(e));
  const pending = conn.api.status();
  await new Promise((r) => setTimeout(r, 0));
  FakeSocket.last.reply({ event: { type: 'console', data: 'hi' } });
  FakeSocket.last.dispatchEvent(new Event('close'));
  assert.deepEqual(events, [{ type: 'console', data: 'hi' }]);
  await assert.rejects(pending, (err: LabApiError) => err.code === 'ECONN');
});

test('the batcher writes once per frame, in order, and nothing when empty', () => {
  const frames: (() => void)[] = [];
  const written: string[] = [];
  const batcher = new OutputBatcher(
    (d) => written.push(d),
    (fn) => frames.push(fn),
  );
  batcher.push('a');
  batcher.push('b');
  batcher.push('c');
  assert.equal(frames.length, 1);
  frames.shift()!();
  batcher.push('d');
  frames.shift()!();
  assert.deepEqual(written, ['abc', 'd']);
});

test('uptime and boot steps are shown as people read them', () => {
  assert.equal(formatUptime(null), '—');
  assert.equal(formatUptime(59_999), '0:00:59');
  assert.equal(formatUptime(3_725_000), '1:02:05');
  assert.equal(stepLabel('agent-ready'), 'agent ready');
  assert.equal(stepLabel('something-new'), 'something-new');
});

test('the store follows status and crash events, and keeps an action error to show', async () => {
  let listener: (e: LabEvent) => void = () => undefined;
  const connection = {
    api: { start: async () => Promise.reject(new Error('QEMU was not found')), status: async () => ready },
    onEvent: (l: (e: LabEvent) => void) => {
      listener = l;
      return () => undefined;
    },
  } as unknown as LabConnection;
  const vm = useVm(connection);
  const crash = { kind: 'panic', headline: 'Kernel panic - not syncing: x', log: '...', at: 'now' };
  listener({ type: 'status', status: { ...ready, state: 'crashed', crash } });
  assert.equal(vm.store.status.state, 'crashed');
  assert.deepEqual(vm.store.crash, crash);
  listener({ type: 'status', status: ready });
  assert.equal(vm.store.crash, null);
  await vm.start();
  assert.equal(vm.store.error, 'QEMU was not found');
  assert.equal(vm.store.busy, null);
});
