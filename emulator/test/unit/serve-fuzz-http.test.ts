// `serve` against bad HTTP over loopback: raw requests and WebSocket handshakes of every wrong
// shape, curated (exact answers) and generated from a fixed seed (a few hundred, bounded), and a
// handler that throws. Afterwards the server must still answer a valid page request and a
// `status` call, and nothing may have escaped as an uncaught exception (serve-fuzz-fixture.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startServer } from '../../src/serve.ts';
import {
  BOUND,
  fakeBackend,
  fuzzedServer,
  SEED,
  seededInputs,
  testStillAnswers,
} from './serve-fuzz-fixture.ts';
import { exchange, httpRequest, statusOf, upgradeRequest } from './loopback-wire.ts';

const GENERATED_HTTP = 120;

const { random, pick, randomInt, randomBuffer } = seededInputs(SEED);
const fuzzed = fuzzedServer();

test('HTTP: bad tokens, Host variants, odd methods and paths get their exact status', BOUND, async () => {
  const token = fuzzed.server.token;
  const sameLengthWrong = token.replace(/^./, (c) => (c === 'a' ? 'b' : 'a'));
  const cases: [string, string, Record<string, string | undefined>, number][] = [
    ['GET', `/?token=${token}`, {}, 200],
    ['GET', `/index.html?token=${token}`, {}, 200],
    ['GET', `/?token=${token}`, { Host: `localhost:${fuzzed.port}` }, 200],
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
    ['GET', `/?token=${token}`, { Host: `evil.example:${fuzzed.port}` }, 403],
    ['GET', `/?token=${token}`, { Host: '127.0.0.1' }, 403],
    ['GET', `/?token=${token}`, { Host: `127.0.0.1:${fuzzed.port + 1}` }, 403],
    ['GET', `/?token=${token}`, { Host: `LOCALHOST:${fuzzed.port}` }, 403],
    ['GET', `/?token=${token}`, { Host: `[::1]:${fuzzed.port}` }, 403],
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
    const reply = await httpRequest(fuzzed.port, method, target, headers);
    assert.equal(statusOf(reply), status, `${method} ${target.slice(0, 80)} ${JSON.stringify(headers)}`);
  }
  // Not HTTP at all: the parser's 400, or nothing for nothing.
  assert.equal(statusOf(await exchange(fuzzed.port, 'hello\r\n\r\n', false)), 400);
  assert.equal(statusOf(await exchange(fuzzed.port, randomBuffer(64), true)), 400);
  assert.equal((await exchange(fuzzed.port, '', true)).length, 0);
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
        headers.Host = pick([`127.0.0.1:${fuzzed.port}`, 'x', '', `localhost:${fuzzed.port}`, '127.0.0.1:0']);
      if (random() < 0.2)
        headers.Origin = pick(['null', 'http://evil.example', `http://127.0.0.1:${fuzzed.port}`]);
      if (random() < 0.1)
        headers['X-Garbage'] = randomBuffer(12)
          .toString('latin1')
          .replace(/[\r\n]/g, '');
      const reply = await httpRequest(fuzzed.port, method, target, headers);
      const status = statusOf(reply);
      assert.ok([200, 400, 403, 404, 405].includes(status), `${method} ${target}: ${status}`);
    }
  },
);

test('WebSocket handshakes: token, Origin, path and protocol errors are refused exactly', BOUND, async () => {
  const token = fuzzed.server.token;
  const cases: [string, Record<string, string | undefined>, number][] = [
    [`/api?token=${token}`, {}, 101],
    [`/api?token=${token}`, { Origin: `http://localhost:${fuzzed.port}` }, 101],
    ['/api?token=wrong', {}, 403],
    ['/api', {}, 403],
    [`/api?token=${encodeURIComponent('é'.repeat(token.length))}`, {}, 403],
    [`/api?token=${'%C3%28'.repeat(token.length / 2)}`, {}, 403],
    [`/api?token=${token}`, { Origin: 'null' }, 403],
    [`/api?token=${token}`, { Origin: 'http://evil.example' }, 403],
    [`/api?token=${token}`, { Origin: `https://127.0.0.1:${fuzzed.port}` }, 403],
    [`/api?token=${token}`, { Host: `evil.example:${fuzzed.port}` }, 403],
    [`/api/?token=${token}`, {}, 403],
    [`/?token=${token}`, {}, 403],
    [`http://[/api?token=${token}`, {}, 403],
    [`/api?token=${token}`, { 'Sec-WebSocket-Key': undefined }, 400],
    [`/api?token=${token}`, { 'Sec-WebSocket-Key': 'short' }, 400],
    [`/api?token=${token}`, { 'Sec-WebSocket-Version': '12' }, 400],
    [`/api?token=${token}`, { Upgrade: 'h2c' }, 400],
  ];
  for (const [target, headers, status] of cases) {
    const reply = await exchange(fuzzed.port, upgradeRequest(fuzzed.port, target, headers), true);
    assert.equal(statusOf(reply), status, `${target.slice(0, 60)} ${JSON.stringify(headers)}`);
  }
});

testStillAnswers(fuzzed, []);

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
  assert.deepEqual(fuzzed.escaped, []);
});
