// The renderer's logic without a browser: the WebSocket API client (against a fake socket), the
// choice of transport, the output batcher, the input queue, the resize coalescer, the store,
// preferences, shortcuts and the System page's wording.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LabEvent, SystemReport, VmStatus } from '../../emulator/src/api.ts';
import {
  bridgeApi,
  connectWebSocket,
  createApi,
  LabApiError,
  parseServerMessage,
  webSocketUrl,
  type LabConnection,
  type PreloadBridge,
} from '../src/api/transport.ts';
import { OutputBatcher } from '../src/composables/batcher.ts';
import { firstPiece, InputQueue } from '../src/composables/inputQueue.ts';
import { LatestOnly } from '../src/composables/latest.ts';
import { acceleratorText, formatBytes, verdictSource } from '../src/composables/system.ts';
import { plainText } from '../src/composables/plainText.ts';
import {
  DEFAULT_PREFERENCES,
  parsePreferences,
  STORAGE_KEY,
  usePreferences,
} from '../src/composables/usePreferences.ts';
import { commandFor } from '../src/composables/useShortcuts.ts';
import { currentUptime, formatUptime, stepLabel, useVm } from '../src/composables/useVm.ts';

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

test('the batcher writes once per frame, in order, and nothing when empty', () => {
  const frames: (() => void)[] = [];
  const written: [string, number][] = [];
  const batcher = new OutputBatcher(
    (d, guestChars) => written.push([d, guestChars]),
    (fn) => frames.push(fn),
  );
  batcher.push('a');
  batcher.push('-- note --', 0);
  batcher.push('bc');
  assert.equal(frames.length, 1);
  frames.shift()!();
  batcher.push('d');
  frames.shift()!();
  assert.deepEqual(written, [
    ['a-- note --bc', 3],
    ['d', 1],
  ]);
});

test('input goes in order, whole, in pieces; each piece waits for the one before', async () => {
  const sent: string[] = [];
  let release: () => void = () => undefined;
  const queue = new InputQueue((data) => {
    sent.push(data);
    return new Promise<void>((resolve) => (release = resolve));
  }, 4);
  queue.push('abcdefghij');
  queue.push('k');
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(sent, ['abcd'], 'the next piece waits until this one was taken');
  for (let i = 0; i < 3; i++) {
    release();
    await new Promise((r) => setTimeout(r, 0));
  }
  release();
  await queue.idle();
  assert.deepEqual(sent, ['abcd', 'efgh', 'ij', 'k']);
  assert.equal(firstPiece('ab\ud83d\ude00cd', 3), 'ab', 'a surrogate pair is never split');
  assert.equal(firstPiece('ab', 3), 'ab');
});

test('a paste still being read keeps its place; a refused piece drops only the rest of its input', async () => {
  const sent: string[] = [];
  const errors: string[] = [];
  const queue = new InputQueue(
    async (data) => {
      if (data === 'BAD!') throw new Error('refused');
      sent.push(data);
    },
    4,
    (err) => errors.push((err as Error).message),
  );
  let give: (text: string) => void = () => undefined;
  queue.push('ls');
  queue.push(new Promise<string>((resolve) => (give = resolve)));
  queue.push('x');
  queue.push('y');
  queue.push(Promise.reject(new Error('clipboard denied')));
  queue.push('BAD!tail');
  queue.push('z');
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(sent, ['ls']);
  give('PASTED');
  await queue.idle();
  assert.deepEqual(sent, ['ls', 'PAST', 'ED', 'xy', 'z']);
  assert.deepEqual(errors, ['refused']);
});

test('the latest size only: sent once things settle, one call at a time, never twice the same', async () => {
  const timers: (() => void)[] = [];
  const sent: number[] = [];
  let done: () => void = () => undefined;
  const latest = new LatestOnly<number>(
    (v) => {
      sent.push(v);
      return new Promise<void>((resolve) => (done = resolve));
    },
    (a, b) => a === b,
    100,
    (fn) => {
      timers.push(fn);
      return () => timers.splice(timers.indexOf(fn), 1);
    },
  );
  for (const v of [1, 2, 3]) latest.push(v);
  assert.equal(timers.length, 1, 'each push restarts the one timer');
  timers.shift()!();
  assert.deepEqual(sent, [3]);
  latest.push(4);
  latest.push(5);
  assert.equal(timers.length, 0, 'nothing is timed while a call is in flight');
  done();
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(sent, [3, 5], 'the last value comes right after');
  done();
  await new Promise((r) => setTimeout(r, 0));
  latest.push(5);
  latest.flush();
  assert.deepEqual(sent, [3, 5], 'the same value again is not sent');
  latest.push(6);
  latest.dispose();
  assert.equal(timers.length, 0);
});

test('uptime and boot steps are shown as people read them; uptime ticks between updates', () => {
  assert.equal(currentUptime(ready, 1000, 3500), 7500);
  assert.equal(currentUptime({ ...ready, state: 'crashed' }, 1000, 3500), 5000);
  assert.equal(currentUptime({ ...ready, uptimeMs: null }, 1000, 3500), null);
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

test('the store keeps the crash until the machine is back, and notices a lost backend', async () => {
  let listener: (e: LabEvent) => void = () => undefined;
  let onClose: (reason: string) => void = () => undefined;
  let time = 100;
  const connection: LabConnection = {
    api: { reset: async () => ready } as unknown as LabConnection['api'],
    onEvent: (l) => {
      listener = l;
      return () => undefined;
    },
    onClose: (l) => {
      onClose = l;
      return () => undefined;
    },
  };
  const vm = useVm(connection, () => time);
  const crash = { kind: 'oops', headline: 'Oops: 0002', log: '', at: 'now' };
  listener({ type: 'crash', crash });
  listener({ type: 'status', status: { ...ready, state: 'crashed' } });
  assert.deepEqual(vm.store.crash, crash, 'a crashed status without details keeps the crash event');
  time = 200;
  const resetting = vm.reset();
  assert.equal(vm.store.busy, 'Resetting');
  await resetting;
  assert.equal(vm.store.crash, null);
  assert.equal(vm.store.statusAt, 200);
  onClose('the connection to the lab backend was lost');
  assert.equal(vm.store.disconnected, 'the connection to the lab backend was lost');
});

test('preferences: stored values are checked and clamped, and changes are written back', () => {
  assert.deepEqual(parsePreferences(null), DEFAULT_PREFERENCES);
  assert.deepEqual(parsePreferences('{oops'), DEFAULT_PREFERENCES);
  assert.deepEqual(parsePreferences('[1]').theme, 'dark');
  assert.deepEqual(
    parsePreferences('{"theme":"light","fontSize":99,"screenReader":true,"panelOpen":false,"panelWidth":10}'),
    { theme: 'light', fontSize: 32, screenReader: true, panelOpen: false, panelWidth: 200 },
  );
  assert.deepEqual(
    parsePreferences('{"theme":"blue","fontSize":"big","screenReader":1}'),
    DEFAULT_PREFERENCES,
  );

  const store = new Map<string, string>([[STORAGE_KEY, '{"fontSize":31}']]);
  const storage = {
    getItem: (k: string) => store.get(k) ?? null,
    setItem: (k: string, v: string) => store.set(k, v),
  };
  const { prefs, zoom, toggleTheme } = usePreferences(storage);
  zoom(1);
  zoom(1);
  assert.equal(prefs.fontSize, 32);
  toggleTheme();
  assert.deepEqual(JSON.parse(store.get(STORAGE_KEY)!), {
    ...DEFAULT_PREFERENCES,
    theme: 'light',
    fontSize: 32,
  });
  zoom(0);
  assert.equal(JSON.parse(store.get(STORAGE_KEY)!).fontSize, DEFAULT_PREFERENCES.fontSize);
  const broken = {
    getItem: () => {
      throw new Error('denied');
    },
    setItem: () => {
      throw new Error('denied');
    },
  };
  const fallback = usePreferences(broken);
  fallback.toggleTheme();
  assert.equal(fallback.prefs.theme, 'light');
});

test('shortcuts: Ctrl+Shift+letter (Cmd+letter on macOS), F3, zoom; everything else goes to the guest', () => {
  const key = (k: Partial<KeyboardEvent>) =>
    commandFor({
      type: 'keydown',
      key: '',
      code: '',
      ctrlKey: false,
      shiftKey: false,
      altKey: false,
      metaKey: false,
      ...k,
    });
  assert.equal(key({ code: 'KeyF', key: 'F', ctrlKey: true, shiftKey: true }), 'find');
  assert.equal(key({ code: 'KeyF', key: 'f', metaKey: true }), 'find');
  assert.equal(key({ code: 'KeyC', key: 'C', ctrlKey: true, shiftKey: true }), 'copy');
  assert.equal(key({ code: 'KeyV', key: 'V', ctrlKey: true, shiftKey: true }), 'paste');
  assert.equal(key({ code: 'KeyB', key: 'B', ctrlKey: true, shiftKey: true }), 'togglePanel');
  assert.equal(key({ code: 'KeyL', key: 'L', ctrlKey: true, shiftKey: true }), 'toggleTheme');
  assert.equal(key({ key: 'F3' }), 'findNext');
  assert.equal(key({ key: 'F3', shiftKey: true }), 'findPrevious');
  assert.equal(key({ key: '=', ctrlKey: true }), 'zoomIn');
  assert.equal(key({ key: '+', ctrlKey: true, shiftKey: true }), 'zoomIn');
  assert.equal(key({ key: '-', ctrlKey: true }), 'zoomOut');
  assert.equal(key({ key: '0', ctrlKey: true }), 'zoomReset');
  // The guest keeps Ctrl+C, Ctrl+F, Ctrl+V, Alt+..., plain keys, and key releases.
  assert.equal(key({ code: 'KeyC', key: 'c', ctrlKey: true }), null);
  assert.equal(key({ code: 'KeyF', key: 'f', ctrlKey: true }), null);
  assert.equal(key({ code: 'KeyV', key: 'v', ctrlKey: true }), null);
  assert.equal(key({ code: 'KeyF', key: 'F', ctrlKey: true, shiftKey: true, altKey: true }), null);
  assert.equal(key({ code: 'KeyA', key: 'a' }), null);
  assert.equal(key({ type: 'keyup', code: 'KeyF', key: 'F', ctrlKey: true, shiftKey: true }), null);
});

test('console text for the crash log loses escapes and control characters, keeps lines', () => {
  const raw =
    '\x1b]0;title\x07\x1b[?2004h\x1b[1;33m[guest]\x1b[0m root:~# echo c\r\n\x1b[?2004l\r' +
    '[    6.17] Kernel panic\r\r\n\tCall Trace:\x1bM\x08\r\n';
  assert.equal(plainText(raw), '[guest] root:~# echo c\n[    6.17] Kernel panic\n\tCall Trace:\n');
});

test('the System page and status bar put sizes, verdicts and their source into words', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(999), '999 B');
  assert.equal(formatBytes(1500), '1.5 KB');
  assert.equal(formatBytes(48_300_000), '48 MB');
  assert.equal(formatBytes(12_345_678_901), '12 GB');
  assert.equal(formatBytes(3.2e15), '3200 TB');
  assert.equal(acceleratorText(undefined), 'accelerator: not yet probed');
  assert.equal(
    acceleratorText({ accel: 'kvm', label: 'KVM — hardware acceleration' }),
    'KVM — hardware acceleration',
  );
  const reason = 'KVM did not boot the guest on this machine: no console output in 3 s';
  assert.equal(
    acceleratorText({ accel: 'tcg', label: `TCG — ${reason}`, fallbackReason: reason }),
    `TCG — ${reason}`,
  );
  assert.equal(
    acceleratorText({
      accel: 'tcg',
      label: 'TCG — no hardware acceleration: slower',
      fallbackReason: 'no /dev/kvm',
    }),
    'TCG — no /dev/kvm',
  );
  const accelerator: SystemReport['accelerator'] = { accel: 'tcg', label: 'TCG', source: 'probe' };
  assert.equal(verdictSource(accelerator), 'probed');
  assert.equal(
    verdictSource({ ...accelerator, source: 'forced', decidedAt: 'garbage', probeMs: 50 }),
    'set by FARFETCHD_LAB_ACCEL (the probe took 50 ms)',
  );
  assert.equal(
    verdictSource({ ...accelerator, source: 'watchdog', decidedAt: '2026-12-01T08:00:59.900Z' }),
    'fallen back to after a boot printed nothing on 2026-12-01 08:00 UTC',
  );
});

test('the store asks for the system report, one question at a time, and keeps what went wrong', async () => {
  const report = { checks: [] } as unknown as SystemReport;
  const asked: string[] = [];
  let answer: (r: SystemReport) => void = () => undefined;
  const connection = {
    api: {
      systemReport: async () => {
        asked.push('systemReport');
        return report;
      },
      probeAccelerator: () => {
        asked.push('probeAccelerator');
        return new Promise<SystemReport>((resolve) => (answer = resolve));
      },
    },
    onEvent: () => () => undefined,
  } as unknown as LabConnection;
  const vm = useVm(connection);
  await vm.loadSystem();
  assert.deepEqual(vm.store.system, report);
  const probing = vm.probeAgain();
  assert.equal(vm.store.systemBusy, 'probing');
  await vm.loadSystem(); // ignored: the probe's answer will be the newest
  const probed = { checks: [{ name: 'accelerator', ok: true, detail: 'TCG' }] } as unknown as SystemReport;
  answer(probed);
  await probing;
  assert.deepEqual(asked, ['systemReport', 'probeAccelerator']);
  assert.deepEqual(vm.store.system, probed);
  assert.equal(vm.store.systemBusy, null);
  (connection.api as { systemReport: () => Promise<SystemReport> }).systemReport = async () => {
    throw new Error('this build of the lab has no system report');
  };
  await vm.loadSystem();
  assert.equal(vm.store.systemError, 'this build of the lab has no system report');
  assert.deepEqual(vm.store.system, probed, 'the last good report stays');
});
