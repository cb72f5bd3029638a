// `serve` against bad WebSocket input over loopback: hand-made frames and API messages of every
// wrong shape, curated (exact answers) and generated from a fixed seed (a few hundred, bounded),
// and a backend that throws. Afterwards the server must still answer a valid page request and a
// `status` call, and nothing may have escaped as an uncaught exception (serve-fuzz-fixture.ts).
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { LabBackend } from '../../src/api.ts';
import { startServer } from '../../src/serve.ts';
import { requestId, validateRequest } from '../../src/validate.ts';
import {
  BOUND,
  fakeBackend,
  fakeReply,
  fuzzedServer,
  LOAD_MODULE,
  SEED,
  seededInputs,
  stopped,
  testStillAnswers,
} from './serve-fuzz-fixture.ts';
import { apiClient, closeCode, exchange, frame, statusOf, upgradeRequest } from './loopback-wire.ts';

const GENERATED_FRAMES = 60;
const GENERATED_MESSAGES = 250;

const { random, pick, randomInt, randomBuffer } = seededInputs(SEED);
const fuzzed = fuzzedServer();

test('WebSocket frames: malformed ones close the connection with the matching code', BOUND, async () => {
  const handshake = upgradeRequest(fuzzed.port, `/api?token=${fuzzed.server.token}`);
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
    const reply = await exchange(fuzzed.port, Buffer.concat([Buffer.from(handshake), ...frames]), true);
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
    const reply = await exchange(fuzzed.port, Buffer.concat([Buffer.from(handshake), garbage]), true);
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
    const client = await apiClient(fuzzed.apiUrl);
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
        // The exercise's methods: workspace paths are confined before the backend sees them.
        ...(
          [
            ['readWorkspaceFile', ['../etc/passwd']],
            ['readWorkspaceFile', ['/etc/passwd']],
            ['readWorkspaceFile', ['.git/config']],
            ['readWorkspaceFile', ['farfetch_p3/../../x']],
            ['writeWorkspaceFile', ['.farfetchd-lab/progress.json', '{}']],
            ['openInEditor', ['a\\b']],
            ['readWorkspaceFile', [7]],
          ] as const
        ).map(([method, params], i): [unknown, unknown] => [
          { id: `w${i}`, method, params },
          invalid(
            `w${i}`,
            'file must be a path inside the workspace, like farfetch_p3/farfetch_p3.c (no "..", no hidden folders)',
          ),
        ]),
        [
          { id: 'w7', method: 'readWorkspaceFile', params: [] },
          invalid('w7', 'readWorkspaceFile takes a file path'),
        ],
        [
          { id: 'w8', method: 'writeWorkspaceFile', params: ['a.c'] },
          invalid('w8', 'writeWorkspaceFile takes a file path and its text'),
        ],
        [
          { id: 'w9', method: 'writeWorkspaceFile', params: ['a.c', 5] },
          invalid('w9', 'text must be a string of at most 1048576 characters'),
        ],
        [{ id: 'w10', method: 'buildAndLoad', params: ['3'] }, invalid('w10', 'part must be 1, 2 or 3')],
        [{ id: 'w11', method: 'buildAndLoad', params: [4] }, invalid('w11', 'part must be 1, 2 or 3')],
        [
          { id: 'w12', method: 'grade', params: ['Part 3'] },
          invalid('w12', 'stepId must be a step id: lowercase letters, digits and -'),
        ],
        [
          { id: 'w13', method: 'setStepDone', params: ['part3', 'yes'] },
          invalid('w13', 'done must be true or false'),
        ],
        [
          { id: 'w14', method: 'setWelcomeSeen', params: [] },
          invalid('w14', 'setWelcomeSeen takes true or false'),
        ],
        [{ id: 'w15', method: 'exercise', params: [1] }, invalid('w15', 'exercise takes no parameters')],
        [
          { id: 'w16', method: 'writeWorkspaceFile', params: ['farfetch_p3/farfetch_p3.c', '\tint x;\n'] },
          { id: 'w16', result: stopped },
        ],
        [
          { id: 'w17', method: 'buildAndLoad', params: [3] },
          { id: 'w17', result: stopped },
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
      fuzzed.fake.emit({ type: 'console', data: 1n });
      assert.deepEqual(fuzzed.reported, ['event listener: Do not know how to serialize a BigInt']);
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
  const leaves = [null, true, false, 0, -1, 1.5, 2 ** 53, 1e308, '', 'p1', '\u{1F600}', 'none', 80, 3];
  const paths = ['farfetch_p3/farfetch_p3.c', '../x', '.git/config', '/etc/passwd', 'a/./b', 'part3'];
  const roll = random();
  // One over consoleInput's limit, only as a parameter itself: the message stays under maxPayload.
  if (depth === 1 && roll < 0.05) return 'x'.repeat(65_537);
  if (depth > 2 || roll < 0.4) return pick(leaves);
  if (roll < 0.5) return pick(paths);
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
      'readWorkspaceFile',
      'writeWorkspaceFile',
      'openInEditor',
      'buildAndLoad',
      'grade',
      'setStepDone',
      'exec',
      'dispose',
      'onEvent',
      'constructor',
      'hasOwnProperty',
      '',
      'STATUS',
    ];
    const client = await apiClient(fuzzed.apiUrl);
    const callsBefore = fuzzed.fake.calls.length;
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
    assert.equal(fuzzed.fake.calls.length - callsBefore, valid);
    assert.ok(valid > 0 && valid < GENERATED_MESSAGES, `${valid} valid of ${GENERATED_MESSAGES}`);
  },
);

testStillAnswers(fuzzed, ['event listener: Do not know how to serialize a BigInt']);

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
      // serve attaches every client with connect() and never calls onEvent: nothing to report.
      assert.deepEqual(failures, []);
    } finally {
      await other.close();
    }
    assert.deepEqual(fuzzed.escaped, []);
  },
);
