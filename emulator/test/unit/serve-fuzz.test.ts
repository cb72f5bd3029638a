// `serve` against bad input, over loopback: raw HTTP requests, WebSocket handshakes, hand-made
// WebSocket frames and API messages of every wrong shape, curated (exact answers) and generated
// from a fixed seed (a few hundred, bounded). Afterwards the server must still answer a valid
// page request and a `status` call, and nothing may have escaped as an uncaught exception. The
// backend is a small fake: this tests the protocol layer, not the guest.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { LabBackend, LabEvent, VmStatus } from '../../src/api.ts';
import { startServer, type RunningServer } from '../../src/serve.ts';
import { apiMethods, requestId, validateRequest } from '../../src/validate.ts';
import {
  apiClient,
  closeCode,
  exchange,
  frame,
  httpRequest,
  prng,
  statusOf,
  upgradeRequest,
} from './loopback-wire.ts';

const SEED = 0x5eed;
const GENERATED_HTTP = 120;
const GENERATED_FRAMES = 60;
const GENERATED_MESSAGES = 250;
/** A safety net, not a speed check: a handler that never answers fails the test instead of hanging it. */
const BOUND = { timeout: 30_000 };

const stopped: VmStatus = { state: 'stopped', bootSteps: [], uptimeMs: null, loadedModule: 'none' };

const random = prng(SEED);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
const randomInt = (max: number): number => Math.floor(random() * max);
const randomBuffer = (length: number): Buffer => Buffer.from(Array.from({ length }, () => randomInt(256)));

/**
 * What the fake's loadModule does per module: fail in every way a backend can (a synchronous
 * throw, rejections that are no Error, a result JSON cannot carry), and the reply each gets.
 */
const LOAD_MODULE: Record<string, { act: () => unknown; reply: unknown }> = {
  p1: {
    act: () => {
      throw new Error('sync failure');
    },
    reply: { error: { code: 'ELAB', message: 'sync failure' } },
  },
  p2: {
    act: () => Promise.reject(null as unknown as Error),
    reply: { error: { code: 'ELAB', message: 'null' } },
  },
  p3: {
    act: () => Promise.reject(Object.create(null) as Error),
    reply: { error: { code: 'ELAB', message: '[object Object]' } },
  },
  none: {
    act: () => Promise.resolve({ state: 1n }),
    reply: { error: { code: 'TypeError', message: 'Do not know how to serialize a BigInt' } },
  },
};

/** The reply the fake backend's answer to a valid call becomes. */
function fakeReply(id: unknown, method: string, params: unknown[]): unknown {
  if (method === 'loadModule') return { id, ...(LOAD_MODULE[params[0] as string]!.reply as object) };
  return { id, result: method.startsWith('console') ? null : stopped };
}

/**
 * The fake backend: every API method (validate.ts's list) answers at once, loadModule fails as
 * LOAD_MODULE says. Events reach listeners given to onEvent or to connect (a backend that
 * attaches each client with its own handle).
 */
function fakeBackend() {
  const calls: unknown[][] = [];
  const listeners = new Set<(e: LabEvent) => void>();
  const api: Record<string, unknown> = {};
  for (const method of apiMethods) {
    api[method] = (...args: unknown[]) => {
      calls.push([method, ...args]);
      if (method === 'loadModule') return LOAD_MODULE[args[0] as string]!.act();
      return Promise.resolve(method.startsWith('console') ? undefined : stopped);
    };
  }
  const listen = (listener: (e: LabEvent) => void) => {
    listeners.add(listener);
    return () => listeners.delete(listener);
  };
  const backend = {
    ...api,
    onEvent: listen,
    connect: (listener: (e: LabEvent) => void) => ({ api, close: listen(listener) }),
    dispose: async () => undefined,
  } as unknown as LabBackend;
  return { backend, calls, emit: (event: unknown) => listeners.forEach((l) => l(event as LabEvent)) };
}

const fake = fakeBackend();
const reported: string[] = [];
const escaped: unknown[] = [];
const onUncaught = (err: unknown) => escaped.push(err);
let server: RunningServer;
let port: number;
let apiUrl: string;

before(async () => {
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUncaught);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'serve-fuzz-'));
  writeFileSync(path.join(dir, 'index.html'), '<p>lab</p>');
  writeFileSync(path.join(dir, 'app.js'), 'x');
  server = await startServer({
    backend: fake.backend,
    staticDir: dir,
    onError: (where, err) => reported.push(`${where}: ${(err as Error).message}`),
  });
  port = Number(new URL(server.url).port);
  apiUrl = `ws://127.0.0.1:${port}/api?token=${server.token}`;
});

after(async () => {
  await server.close();
  process.off('uncaughtException', onUncaught);
  process.off('unhandledRejection', onUncaught);
});

test('HTTP: bad tokens, Host variants, odd methods and paths get their exact status', BOUND, async () => {
  const token = server.token;
  const sameLengthWrong = token.replace(/^./, (c) => (c === 'a' ? 'b' : 'a'));
  const cases: [string, string, Record<string, string | undefined>, number][] = [
    ['GET', `/?token=${token}`, {}, 200],
    ['GET', `/index.html?token=${token}`, {}, 200],
    ['GET', `/?token=${token}`, { Host: `localhost:${port}` }, 200],
    ['GET', '/app.js', {}, 200],
    ['GET', '/', {}, 403],
    ['GET', '/?token=', {}, 403],
    ['GET', `/?token=${sameLengthWrong}`, {}, 403],
    ['GET', `/?token=${token.toUpperCase()}`, {}, 403],
    ['GET', `/?token=${token}x`, {}, 403],
    ['GET', `/?token=${token.slice(1)}`, {}, 403],
    // Right length in UTF-16 units, not in bytes: the case that used to throw in timingSafeEqual.
    ['GET', `/?token=${encodeURIComponent('é'.repeat(token.length))}`, {}, 403],
    // Right length in bytes, wrong bytes.
    ['GET', `/?token=${encodeURIComponent('é'.repeat(token.length / 2))}`, {}, 403],
    ['GET', `/?token=${encodeURIComponent('\u{1F600}'.repeat(token.length / 2))}`, {}, 403],
    ['GET', '/?token=%zz%', {}, 403],
    ['GET', `/?token=${'%C3%28'.repeat(token.length / 2)}`, {}, 403],
    ['GET', `/?token=${'%E0%A4%A'.repeat(12)}`, {}, 403],
    ['GET', `/?token=${'%ED%A0%80'.repeat(token.length)}`, {}, 403],
    ['GET', `/?token=x&token=${token}`, {}, 403],
    ['GET', `/?token=${token}`, { Host: `evil.example:${port}` }, 403],
    ['GET', `/?token=${token}`, { Host: '127.0.0.1' }, 403],
    ['GET', `/?token=${token}`, { Host: `127.0.0.1:${port + 1}` }, 403],
    ['GET', `/?token=${token}`, { Host: `LOCALHOST:${port}` }, 403],
    ['GET', `/?token=${token}`, { Host: `[::1]:${port}` }, 403],
    ['GET', `/?token=${token}`, { Host: undefined }, 400],
    ['GET', `/?token=${token}`, { Origin: 'http://evil.example' }, 200],
    ['POST', `/?token=${token}`, { 'Content-Length': '0' }, 405],
    ['PUT', '/', {}, 405],
    ['DELETE', '/', {}, 405],
    ['OPTIONS', '*', {}, 405],
    ['PATCH', '/app.js', {}, 405],
    ['TRACE', '/', {}, 405],
    ['BREW', '/', {}, 400],
    ['GET', '/../../etc/passwd', {}, 404],
    ['GET', '/%2e%2e/%2e%2e/etc/passwd', {}, 404],
    ['GET', '/%00', {}, 404],
    ['GET', '/%', {}, 404],
    ['GET', '/%E0%A4%A', {}, 404],
    ['GET', '/index.html%00.js', {}, 404],
    ['GET', '*', {}, 404],
    ['GET', `http://[/?token=${token}`, {}, 400],
    ['GET', `http://evil.example/?token=${token}`, {}, 200],
    ['GET', `/${'a'.repeat(20_000)}`, {}, 431],
  ];
  for (const [method, target, headers, status] of cases) {
    const reply = await httpRequest(port, method, target, headers);
    assert.equal(statusOf(reply), status, `${method} ${target.slice(0, 80)} ${JSON.stringify(headers)}`);
  }
  // Not HTTP at all: the parser's 400, or nothing for nothing.
  assert.equal(statusOf(await exchange(port, 'hello\r\n\r\n', false)), 400);
  assert.equal(statusOf(await exchange(port, randomBuffer(64), true)), 400);
  assert.equal((await exchange(port, '', true)).length, 0);
});

test(
  'HTTP: generated request lines and headers never get an answer outside the expected set',
  BOUND,
  async () => {
    const pieces = [
      '/',
      '..',
      '%',
      '%2f',
      '%00',
      '%C3%28',
      '%ff',
      'index.html',
      'app.js',
      '?',
      '&',
      '=',
      'token',
      '#',
    ];
    const methods = ['GET', 'HEAD', 'POST', 'get', 'G\u00c9T', 'M-SEARCH', 'PROPFIND', ''];
    for (let i = 0; i < GENERATED_HTTP; i++) {
      const target = '/' + Array.from({ length: randomInt(8) }, () => pick(pieces)).join('');
      const method = pick(methods);
      const headers: Record<string, string | undefined> = {};
      if (random() < 0.3)
        headers.Host = pick([`127.0.0.1:${port}`, 'x', '', `localhost:${port}`, '127.0.0.1:0']);
      if (random() < 0.2) headers.Origin = pick(['null', 'http://evil.example', `http://127.0.0.1:${port}`]);
      if (random() < 0.1)
        headers['X-Garbage'] = randomBuffer(12)
          .toString('latin1')
          .replace(/[\r\n]/g, '');
      const reply = await httpRequest(port, method, target, headers);
      const status = statusOf(reply);
      assert.ok([200, 400, 403, 404, 405].includes(status), `${method} ${target}: ${status}`);
    }
  },
);

test('WebSocket handshakes: token, Origin, path and protocol errors are refused exactly', BOUND, async () => {
  const token = server.token;
  const cases: [string, Record<string, string | undefined>, number][] = [
    [`/api?token=${token}`, {}, 101],
    [`/api?token=${token}`, { Origin: `http://localhost:${port}` }, 101],
    ['/api?token=wrong', {}, 403],
    ['/api', {}, 403],
    [`/api?token=${encodeURIComponent('é'.repeat(token.length))}`, {}, 403],
    [`/api?token=${'%C3%28'.repeat(token.length / 2)}`, {}, 403],
    [`/api?token=${token}`, { Origin: 'null' }, 403],
    [`/api?token=${token}`, { Origin: 'http://evil.example' }, 403],
    [`/api?token=${token}`, { Origin: `https://127.0.0.1:${port}` }, 403],
    [`/api?token=${token}`, { Host: `evil.example:${port}` }, 403],
    [`/api/?token=${token}`, {}, 403],
    [`/?token=${token}`, {}, 403],
    [`http://[/api?token=${token}`, {}, 403],
    [`/api?token=${token}`, { 'Sec-WebSocket-Key': undefined }, 400],
    [`/api?token=${token}`, { 'Sec-WebSocket-Key': 'short' }, 400],
    [`/api?token=${token}`, { 'Sec-WebSocket-Version': '12' }, 400],
    [`/api?token=${token}`, { Upgrade: 'h2c' }, 400],
  ];
  for (const [target, headers, status] of cases) {
    const reply = await exchange(port, upgradeRequest(port, target, headers), true);
    assert.equal(statusOf(reply), status, `${target.slice(0, 60)} ${JSON.stringify(headers)}`);
  }
});

test('WebSocket frames: malformed ones close the connection with the matching code', BOUND, async () => {
  const handshake = upgradeRequest(port, `/api?token=${server.token}`);
  const text = (s: string) => Buffer.from(s);
  const cases: [string, Buffer[], number | null][] = [
    ['bad opcode', [frame({ opcode: 0x3, payload: text('x') })], 1002],
    ['reserved control opcode', [frame({ opcode: 0xb })], 1002],
    ['unmasked client frame', [frame({ opcode: 0x1, payload: text('{}'), masked: false })], 1002],
    ['RSV1 without an extension', [frame({ opcode: 0x1, rsv: 4, payload: text('{}') })], 1002],
    ['continuation with nothing to continue', [frame({ opcode: 0x0, payload: text('x') })], 1002],
    [
      'a new text frame inside a fragmented one',
      [
        frame({ opcode: 0x1, fin: false, payload: text('{"id"') }),
        frame({ opcode: 0x1, payload: text('1') }),
      ],
      1002,
    ],
    ['fragmented ping', [frame({ opcode: 0x9, fin: false })], 1002],
    ['ping longer than 125 bytes', [frame({ opcode: 0x9, payload: Buffer.alloc(126) })], 1002],
    ['close with one byte', [frame({ opcode: 0x8, payload: Buffer.from([3]) })], 1002],
    ['close with code 999', [frame({ opcode: 0x8, payload: Buffer.from([0x03, 0xe7]) })], 1002],
    ['length beyond 2^53', [frame({ opcode: 0x2, length: 2n ** 63n })], 1009],
    ['length above maxPayload', [frame({ opcode: 0x1, length: 2 * 1024 * 1024 })], 1009],
    [
      'fragments adding up to more than maxPayload',
      [
        frame({ opcode: 0x1, fin: false, payload: Buffer.alloc(700 * 1024, 0x20) }),
        frame({ opcode: 0x0, payload: Buffer.alloc(700 * 1024, 0x20) }),
      ],
      1009,
    ],
    ['invalid UTF-8 text', [frame({ opcode: 0x1, payload: Buffer.from([0x7b, 0xc3, 0x28, 0x7d]) })], 1007],
    [
      'a close with invalid UTF-8 reason',
      [frame({ opcode: 0x8, payload: Buffer.from([0x03, 0xe8, 0xff]) })],
      1007,
    ],
    [
      'length lying: 100 declared, 10 sent, then EOF',
      [frame({ opcode: 0x1, length: 100 }).subarray(0, 6 + 10)],
      null,
    ],
    ['the handshake and nothing else', [], null],
  ];
  for (const [name, frames, code] of cases) {
    const reply = await exchange(port, Buffer.concat([Buffer.from(handshake), ...frames]), true);
    assert.equal(statusOf(reply), 101, name);
    assert.equal(closeCode(reply), code, name);
  }
  // Generated garbage after a valid handshake; the client then hangs up. Whatever the bytes
  // spell, the server either closes with a protocol code or simply sees the end.
  for (let i = 0; i < GENERATED_FRAMES; i++) {
    const garbage =
      random() < 0.5
        ? randomBuffer(1 + randomInt(200))
        : frame({
            opcode: randomInt(16),
            fin: random() < 0.5,
            rsv: randomInt(8),
            payload: randomBuffer(randomInt(300)),
          });
    const reply = await exchange(port, Buffer.concat([Buffer.from(handshake), garbage]), true);
    assert.equal(statusOf(reply), 101);
    const code = closeCode(reply);
    assert.ok(
      code === null || [1000, 1002, 1007, 1009].includes(code),
      `garbage ${garbage.toString('hex')}: ${code}`,
    );
  }
});

test(
  'API messages: non-JSON, every wrong shape, unknown methods and bad params get exact replies',
  BOUND,
  async () => {
    const client = await apiClient(apiUrl);
    try {
      const notJson = { id: null, error: { code: 'EINVAL', message: 'not JSON' } };
      assert.deepEqual(await client.call('{not json'), notJson);
      assert.deepEqual(await client.call(''), notJson);
      assert.deepEqual(await client.call('\u0000'), notJson);
      assert.deepEqual(await client.call(Buffer.from('{"id":1,"method":"status"}'), true), notJson);
      assert.deepEqual(await client.call(randomBuffer(32), true), notJson);
      const invalid = (id: unknown, message: string) => ({ id, error: { code: 'EINVAL', message } });
      const exact: [unknown, unknown][] = [
        [null, invalid(null, 'a request must be an object {id, method, params}')],
        [42, invalid(null, 'a request must be an object {id, method, params}')],
        ['status', invalid(null, 'a request must be an object {id, method, params}')],
        [[{ id: 1, method: 'status' }], invalid(null, 'a request must be an object {id, method, params}')],
        [{}, invalid(null, 'id must be an integer or a short string')],
        [{ id: 1.5, method: 'status' }, invalid(null, 'id must be an integer or a short string')],
        [{ id: { x: 1 }, method: 'status' }, invalid(null, 'id must be an integer or a short string')],
        [{ id: 1 }, invalid(1, 'unknown method undefined')],
        [{ id: 2, method: 5 }, invalid(2, 'unknown method 5')],
        [{ id: 3, method: 'dispose' }, invalid(3, 'unknown method "dispose"')],
        [{ id: 4, method: 'onEvent' }, invalid(4, 'unknown method "onEvent"')],
        [{ id: 5, method: '__proto__' }, invalid(5, 'unknown method "__proto__"')],
        [{ id: 6, method: 'toString' }, invalid(6, 'unknown method "toString"')],
        [{ id: 7, method: 'status', params: {} }, invalid(7, 'params must be an array')],
        [
          { id: 8, method: 'consoleResize', params: [80] },
          invalid(8, 'rows must be an integer from 1 to 1000'),
        ],
        [
          { id: 9, method: 'consoleAck', params: ['1'] },
          invalid(9, 'bytes must be an integer from 0 to 2147483648'),
        ],
        [
          { id: 10, method: 'consoleInput', params: [null] },
          invalid(10, 'data must be a string of at most 65536 characters'),
        ],
        [
          { id: 11, method: 'loadModule', params: [['p1']] },
          invalid(11, 'module must be one of none, p1, p2, p3'),
        ],
        [
          { id: 12, method: 'consoleResize', params: ['80', 24] },
          invalid(12, 'cols must be an integer from 1 to 1000'),
        ],
        [
          { id: 'ok', method: 'status' },
          { id: 'ok', result: stopped },
        ],
        [
          { id: 13, method: 'consoleInput', params: ['ls\r'] },
          { id: 13, result: null },
        ],
        // The backend failing in every way (LOAD_MODULE).
        ...Object.keys(LOAD_MODULE).map((module, i): [unknown, unknown] => [
          { id: 14 + i, method: 'loadModule', params: [module] },
          fakeReply(14 + i, 'loadModule', [module]),
        ]),
      ];
      for (const [message, reply] of exact) {
        assert.deepEqual(await client.call(JSON.stringify(message)), reply, JSON.stringify(message));
      }
      // An event JSON cannot carry is reported, and the client stays connected.
      fake.emit({ type: 'console', data: 1n });
      assert.deepEqual(reported, ['event listener: Do not know how to serialize a BigInt']);
      assert.deepEqual(await client.call(JSON.stringify({ id: 18, method: 'status' })), {
        id: 18,
        result: stopped,
      });
    } finally {
      client.close();
    }
  },
);

/** A JSON value of a random shape, biased towards what a request looks like. */
function randomValue(depth = 0): unknown {
  const leaves = [null, true, false, 0, -1, 1.5, 2 ** 53, 1e308, '', 'p1', '\u{1F600}', 'none', 80];
  const roll = random();
  // One over consoleInput's limit, only as a parameter itself: the message stays under maxPayload.
  if (depth === 1 && roll < 0.05) return 'x'.repeat(65_537);
  if (depth > 2 || roll < 0.5) return pick(leaves);
  if (roll < 0.75) return Array.from({ length: randomInt(4) }, () => randomValue(depth + 1));
  return Object.fromEntries(
    Array.from({ length: randomInt(3) }, () => [pick(['id', 'a', '__proto__']), randomValue(depth + 1)]),
  );
}

test(
  'API messages: generated requests are answered as validateRequest says, with the request id',
  BOUND,
  async () => {
    const methods = [
      'status',
      'start',
      'stop',
      'reset',
      'loadModule',
      'consoleInput',
      'consoleResize',
      'consoleAck',
      'exec',
      'dispose',
      'onEvent',
      'constructor',
      'hasOwnProperty',
      '',
      'STATUS',
    ];
    const client = await apiClient(apiUrl);
    const callsBefore = fake.calls.length;
    let valid = 0;
    try {
      for (let i = 0; i < GENERATED_MESSAGES; i++) {
        const message: Record<string, unknown> = {};
        if (random() < 0.9) message.id = random() < 0.8 ? i : randomValue(2);
        if (random() < 0.95) message.method = random() < 0.9 ? pick(methods) : randomValue(2);
        if (random() < 0.8)
          message.params =
            random() < 0.8 ? Array.from({ length: randomInt(3) }, () => randomValue(1)) : randomValue(2);
        let expected: unknown;
        try {
          const call = validateRequest(message);
          valid++;
          expected = fakeReply(requestId(message), call.method, call.params);
        } catch (err) {
          expected = { id: requestId(message), error: { code: 'EINVAL', message: (err as Error).message } };
        }
        assert.deepEqual(
          await client.call(JSON.stringify(message)),
          expected,
          JSON.stringify(message).slice(0, 300),
        );
      }
    } finally {
      client.close();
    }
    // Only validated calls reached the backend.
    assert.equal(fake.calls.length - callsBefore, valid);
    assert.ok(valid > 0 && valid < GENERATED_MESSAGES, `${valid} valid of ${GENERATED_MESSAGES}`);
  },
);

test('afterwards serve still answers, and nothing escaped as an uncaught exception', BOUND, async () => {
  const page = await fetch(server.url);
  assert.equal(page.status, 200);
  assert.equal(await page.text(), '<p>lab</p>');
  const client = await apiClient(apiUrl);
  try {
    assert.deepEqual(await client.call(JSON.stringify({ id: 1, method: 'status' })), {
      id: 1,
      result: stopped,
    });
  } finally {
    client.close();
  }
  assert.deepEqual(escaped, []);
  assert.deepEqual(reported, ['event listener: Do not know how to serialize a BigInt']);
});

test(
  'a backend whose onEvent and status throw synchronously cannot stop a client from connecting',
  BOUND,
  async () => {
    const failures: string[] = [];
    const brokenApi = {
      ...(fakeBackend().backend as unknown as Record<string, unknown>),
      status: () => {
        throw new Error('status exploded');
      },
    };
    const broken = {
      ...brokenApi,
      onEvent: () => {
        throw new Error('onEvent exploded');
      },
      connect: () => ({ api: brokenApi, close: () => undefined }),
    } as unknown as LabBackend;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'serve-fuzz-'));
    const other = await startServer({
      backend: broken,
      staticDir: dir,
      onError: (where, err) => failures.push(`${where}: ${(err as Error).message}`),
    });
    try {
      const client = await apiClient(`ws://127.0.0.1:${new URL(other.url).port}/api?token=${other.token}`);
      try {
        assert.deepEqual(await client.call(JSON.stringify({ id: 1, method: 'status' })), {
          id: 1,
          error: { code: 'ELAB', message: 'status exploded' },
        });
      } finally {
        client.close();
      }
      // A serve that attaches clients with connect() never calls onEvent: then nothing is reported.
      assert.ok(
        failures.length <= 1 && failures.every((f) => f === 'onEvent: onEvent exploded'),
        failures.join('\n'),
      );
    } finally {
      await other.close();
    }
    assert.deepEqual(escaped, []);
  },
);

test('a request handler that throws answers 500, is reported, and the server goes on', BOUND, async () => {
  const failures: string[] = [];
  // No static folder at all: resolving a file under it throws inside the handler.
  const other = await startServer({
    backend: fakeBackend().backend,
    staticDir: undefined as unknown as string,
    onError: (where, err) => failures.push(`${where}: ${(err as Error).name}`),
  });
  try {
    const otherPort = Number(new URL(other.url).port);
    assert.equal(statusOf(await httpRequest(otherPort, 'GET', '/app.js', {})), 500);
    assert.equal(statusOf(await httpRequest(otherPort, 'POST', '/', {})), 405);
    assert.deepEqual(failures, ['an HTTP request: TypeError']);
  } finally {
    await other.close();
  }
  assert.deepEqual(escaped, []);
});
