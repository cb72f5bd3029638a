// Browser mode's transport: the message validator and the token-guarded server, with a
// recording backend (a fake is right here: this tests the protocol layer, not the guest).
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import WebSocket from 'ws';
import type { LabApi, LabBackend, LabEvent, VmStatus } from '../../src/api.ts';
import { CONTENT_SECURITY_POLICY, contentType, startServer, staticFile } from '../../src/serve.ts';
import { apiMethods, requestId, validateCall, validateRequest } from '../../src/validate.ts';

const stopped: VmStatus = { state: 'stopped', bootSteps: [], uptimeMs: null, loadedModule: 'none' };

/** A backend that records each client's calls (client numbers in attach order) and can send events. */
function recordingBackend() {
  const calls: unknown[][] = [];
  const listeners: ((e: LabEvent) => void)[] = [];
  const closed: number[] = [];
  const backend: LabBackend = {
    connect: (listener) => {
      const n = listeners.push(listener) - 1;
      const record =
        (name: string) =>
        async (...args: unknown[]) => {
          calls.push([n, name, ...args]);
          if (name === 'start') {
            throw Object.assign(new Error('the guest did not boot: test'), { code: 'ELAB' });
          }
          return stopped;
        };
      const api = Object.fromEntries(apiMethods.map((m) => [m, record(m)])) as unknown as LabApi;
      return { api, close: () => void closed.push(n) };
    },
    dispose: async () => undefined,
  };
  return {
    backend,
    calls,
    closed,
    emit: (e: LabEvent) => listeners.forEach((l) => l(e)),
  };
}

test('validateCall accepts exactly the API and its parameter types', () => {
  assert.deepEqual(validateCall('loadModule', ['p3']), { method: 'loadModule', params: ['p3'] });
  assert.deepEqual(validateCall('consoleResize', [80, 24]), { method: 'consoleResize', params: [80, 24] });
  assert.deepEqual(validateCall('status', undefined), { method: 'status', params: [] });
  assert.deepEqual(validateCall('pageWalk', [212, '0x7f00']), {
    method: 'pageWalk',
    params: [212, '0x7f00'],
  });
  assert.deepEqual(validateCall('pageWalk', [1, '4096']), { method: 'pageWalk', params: [1, '4096'] });
  assert.deepEqual(validateCall('mappings', [4194304]), { method: 'mappings', params: [4194304] });
  assert.deepEqual(validateCall('resolveKernelAddress', ['lab_crash', 'null_write+0x5/0x10']), {
    method: 'resolveKernelAddress',
    params: ['lab_crash', 'null_write+0x5/0x10'],
  });
  const bad: [unknown, unknown, RegExp][] = [
    ['dispose', [], /unknown method "dispose"/],
    ['__proto__', [], /unknown method/],
    ['constructor', [], /unknown method/],
    [42, [], /unknown method 42/],
    ['loadModule', ['p4'], /module must be one of none, p1, p2, p3/],
    ['consoleResize', [80.5, 24], /cols must be an integer from 1 to 1000/],
    ['consoleResize', [80, 0], /rows must be an integer from 1 to 1000/],
    ['consoleInput', [{}], /data must be a string/],
    ['consoleInput', ['x'.repeat(70_000)], /at most 65536 characters/],
    ['exec', ['uname', ['-r']], /unknown method "exec"/],
    ['systemReport', [true], /systemReport takes no parameters/],
    ['probeAccelerator', [{}], /probeAccelerator takes no parameters/],
    ['start', ['now'], /start takes no parameters/],
    ['processes', [1], /processes takes no parameters/],
    ['drivers', ['all'], /drivers takes no parameters/],
    ['kernelLog', [100], /kernelLog takes no parameters/],
    ['resolveKernelAddress', ['lab_crash'], /takes a module name/],
    ['resolveKernelAddress', ['lab crash', 'f+0x1'], /takes a module name/],
    ['resolveKernelAddress', ['lab_crash', 'f+0x1; reboot'], /symbolOffset must be function\+0xoff/],
    ['resolveKernelAddress', ['lab_crash', '$(reboot)+0x1'], /symbolOffset must be function\+0xoff/],
    ['resolveKernelAddress', ['lab_crash', 'null_write'], /symbolOffset must be function\+0xoff/],
    ['mappings', [], /mappings takes a pid/],
    ['mappings', [0], /pid must be an integer from 1 to 4194304/],
    ['mappings', ['1; reboot'], /pid must be an integer/],
    ['pageWalk', [212], /pageWalk takes a pid and an address/],
    ['pageWalk', [212, '0x7f00', 'x'], /pageWalk takes a pid and an address/],
    ['pageWalk', [212, 0x7f00], /addr must be a string/],
    ['pageWalk', [212, '0x7f00; reboot'], /addr must be a string/],
    ['pageWalk', [212, '$(reboot)'], /addr must be a string/],
    ['pageWalk', [212, '0x10000000000000000'], /addr must be a string/],
    ['pageWalk', [212, '18446744073709551616'], /below 2\^64/],
    ['pageWalk', [-1, '0x1000'], /pid must be an integer/],
    ['status', 'x', /params must be an array/],
  ];
  for (const [method, params, message] of bad) {
    assert.throws(
      () => validateCall(method, params),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'EINVAL');
        assert.match(err.message, message);
        return true;
      },
    );
  }
});

test('validateRequest wants {id, method, params}; requestId says which id a reply carries', () => {
  assert.deepEqual(validateRequest({ id: 7, method: 'consoleAck', params: [10] }), {
    method: 'consoleAck',
    params: [10],
  });
  assert.deepEqual(validateRequest({ id: 'a', method: 'status' }), { method: 'status', params: [] });
  for (const [message, error] of [
    [null, /must be an object/],
    [[1, 2], /must be an object/],
    ['status', /must be an object/],
    [{ method: 'status' }, /id must be/],
    [{ id: 1.5, method: 'status' }, /id must be/],
    [{ id: 'x'.repeat(65), method: 'status' }, /id must be/],
    [{ id: 1, method: 'exec', params: ['ls', []] }, /unknown method "exec"/],
    [{ id: 1, method: 'consoleAck', params: [-1] }, /bytes must be an integer/],
    [{ id: 1, method: 'consoleResize', params: [80, 1001] }, /rows must be an integer from 1 to 1000/],
    [{ id: 1, method: 'consoleResize', params: ['80', 24] }, /cols must be an integer/],
    [{ id: 1, method: 'hasOwnProperty', params: [] }, /unknown method/],
  ] as [unknown, RegExp][]) {
    assert.throws(() => validateRequest(message), error, JSON.stringify(message));
  }
  assert.equal(requestId({ id: 3 }), 3);
  assert.equal(requestId({ id: '3' }), '3');
  assert.equal(requestId({ id: {} }), null);
  assert.equal(requestId(null), null);
});

test('contentType knows what the renderer build holds', () => {
  assert.equal(contentType('/x/index.html'), 'text/html; charset=utf-8');
  assert.equal(contentType('/x/assets/index-1.js'), 'text/javascript; charset=utf-8');
  assert.equal(contentType('/x/assets/index-1.CSS'), 'text/css; charset=utf-8');
  assert.equal(contentType('/x/favicon.svg'), 'image/svg+xml');
  assert.equal(contentType('/x/assets/index-1.js.map'), 'application/json');
  assert.equal(contentType('/x/blob'), 'application/octet-stream');
});

test('staticFile never leaves the static folder', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'static-'));
  writeFileSync(path.join(dir, 'index.html'), '<p>hi</p>');
  assert.equal(staticFile(dir, '/'), path.join(dir, 'index.html'));
  assert.equal(staticFile(dir, '/../../etc/passwd'), null);
  assert.equal(staticFile(dir, '/%2e%2e/%2e%2e/etc/passwd'), null);
  assert.equal(staticFile(dir, '/missing.js'), null);
  assert.equal(staticFile(dir, '/%E0%A4%A'), null, 'bad percent-encoding');
  assert.equal(staticFile(dir, '/index.html%00.js'), null);
});

/** A raw request, so Host and Origin can be anything. */
function request(
  port: number,
  opts: { path?: string; method?: string; headers?: Record<string, string> },
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: opts.path ?? '/',
        method: opts.method ?? 'GET',
        headers: opts.headers,
      },
      (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** The status a WebSocket upgrade gets (101 when it opens). */
function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.on('unexpected-response', (req, res) => {
      req.destroy();
      resolve(res.statusCode ?? 0);
    });
    ws.on('open', () => {
      ws.close();
      resolve(101);
    });
    ws.on('error', reject);
  });
}

test('the server answers only to its own names and origins, and only to GET', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'static-'));
  writeFileSync(path.join(dir, 'index.html'), '<p>lab</p>');
  writeFileSync(path.join(dir, 'app.js'), 'x');
  const server = await startServer({ backend: recordingBackend().backend, staticDir: dir });
  try {
    const port = Number(new URL(server.url).port);
    const page = `/?token=${server.token}`;
    assert.equal((await request(port, { path: page })).status, 200);
    assert.equal((await request(port, { path: page, headers: { Host: `localhost:${port}` } })).status, 200);
    const rebound = await request(port, { path: page, headers: { Host: `evil.example:${port}` } });
    assert.equal(rebound.status, 403);
    const post = await request(port, { path: page, method: 'POST' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET, HEAD');
    const head = await request(port, { path: '/app.js', method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(head.headers['x-frame-options'], 'DENY');
    assert.equal(head.body, '');
    // The page without the token, however its path is spelt.
    for (const p of ['/index.html', '/index.html/', '//index.html', '/%69ndex.html', '/./index.html']) {
      assert.equal((await request(port, { path: p })).status, 403, p);
    }
    assert.equal((await request(port, { path: '/nothing.js' })).status, 404);

    const api = `ws://127.0.0.1:${port}/api?token=${server.token}`;
    assert.equal(await upgradeStatus(api), 101);
    assert.equal(await upgradeStatus(api, { Origin: `http://127.0.0.1:${port}` }), 101);
    assert.equal(await upgradeStatus(api, { Origin: 'http://evil.example' }), 403);
    assert.equal(await upgradeStatus(api, { Origin: `http://127.0.0.1:${port + 1}` }), 403);
    assert.equal(await upgradeStatus(`ws://127.0.0.1:${port}/elsewhere?token=${server.token}`), 403);
  } finally {
    await server.close();
  }
});

test('the server listens on 127.0.0.1 only and wants the token for the page and the socket', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'static-'));
  writeFileSync(path.join(dir, 'index.html'), '<p>lab</p>');
  const { backend, calls, closed, emit } = recordingBackend();
  const server = await startServer({ backend, staticDir: dir });
  try {
    const url = new URL(server.url);
    assert.equal(url.hostname, '127.0.0.1');
    const page = await fetch(server.url);
    assert.equal(page.status, 200);
    assert.equal(await page.text(), '<p>lab</p>');
    assert.equal(page.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY);
    assert.equal((await fetch(`http://127.0.0.1:${url.port}/`)).status, 403);
    assert.equal((await fetch(`http://127.0.0.1:${url.port}/?token=wrong`)).status, 403);

    const refused = new WebSocket(`ws://127.0.0.1:${url.port}/api?token=wrong`);
    const refusal = await new Promise<string>((resolve) => {
      refused.on('unexpected-response', (_req, res) => resolve(String(res.statusCode)));
      refused.on('error', (e) => resolve(e.message));
    });
    assert.match(refusal, /403/);

    const ws = new WebSocket(`ws://127.0.0.1:${url.port}/api?token=${server.token}`);
    const messages: unknown[] = [];
    ws.on('message', (m) => messages.push(JSON.parse(m.toString())));
    await new Promise((resolve) => ws.once('open', resolve));
    const reply = async (id: number) => {
      for (let i = 0; i < 100; i++) {
        const found = messages.find((m) => (m as { id?: number }).id === id);
        if (found) return found;
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error(`no reply ${id}`);
    };
    ws.send(JSON.stringify({ id: 1, method: 'consoleResize', params: [120, 40] }));
    assert.deepEqual(await reply(1), { id: 1, result: stopped });
    ws.send(JSON.stringify({ id: 2, method: 'loadModule', params: ['p9'] }));
    assert.deepEqual(await reply(2), {
      id: 2,
      error: { code: 'EINVAL', message: 'module must be one of none, p1, p2, p3' },
    });
    ws.send(JSON.stringify({ id: 3, method: 'start' }));
    assert.deepEqual(await reply(3), {
      id: 3,
      error: { code: 'ELAB', message: 'the guest did not boot: test' },
    });
    ws.send('{not json');
    assert.deepEqual(await reply(null as unknown as number), {
      id: null,
      error: { code: 'EINVAL', message: 'not JSON' },
    });
    // A page cannot run commands in the guest: there is no exec.
    ws.send(JSON.stringify({ id: 4, method: 'exec', params: ['sh', ['-c', 'id']] }));
    assert.deepEqual(await reply(4), {
      id: 4,
      error: { code: 'EINVAL', message: 'unknown method "exec"' },
    });
    ws.send(JSON.stringify({ id: 5, method: 'dispose', params: [] }));
    assert.deepEqual(await reply(5), {
      id: 5,
      error: { code: 'EINVAL', message: 'unknown method "dispose"' },
    });
    emit({ type: 'console', data: 'hello' });
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(
      messages.some(
        (m) => JSON.stringify(m) === JSON.stringify({ event: { type: 'console', data: 'hello' } }),
      ),
    );
    ws.send(JSON.stringify({ id: 6, method: 'systemReport', params: [] }));
    assert.deepEqual(await reply(6), { id: 6, result: stopped });
    assert.deepEqual(calls, [
      [0, 'consoleResize', 120, 40],
      [0, 'start'],
      [0, 'systemReport'],
    ]);
    ws.close();
    for (let i = 0; i < 100 && closed.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(closed, [0], 'the tab that closed is detached from the backend');
  } finally {
    await server.close();
  }
});
