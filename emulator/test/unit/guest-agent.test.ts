// GuestAgent against a fake qemu-ga on a unix socket. The fake behaves as qemu-ga 7.2 does
// (checked against the real binary): a 0xFF byte makes it drop any partial input and answer
// with a JSON parse error; guest-sync-delimited is answered with 0xFF + {"return": id}. Like
// QEMU's virtio-serial chardev, it can hold everything we write until the agent "starts".
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  FILE_WRITE_CHUNK,
  GuestAgent,
  GuestAgentDisconnectedError,
  GuestAgentError,
  GuestAgentTimeoutError,
  shellQuote,
} from '../../src/guest-agent.ts';

/** A protocol bug tends to leave a call waiting forever: fail instead of hanging the run. */
const TIMEOUT_MS = 5000;

type Json = Record<string, unknown>;
type Handler = (agent: FakeAgent, command: string, args: Json) => void;

const PARSE_ERROR = { error: { class: 'GenericError', desc: "JSON parse error, stray '\uFFFD'" } };

/**
 * Like qemu-ga, the fake handles one request at a time, in the order received: the next one
 * (a sync included) is looked at only after the current one has been answered.
 */
class FakeAgent {
  /** Every command received, in order, sync requests included. */
  readonly received: { command: string; args: Json }[] = [];
  /** Bytes held while the agent is "not up", as QEMU holds them before the guest opens the port. */
  private held: Buffer[] = [];
  private partial = Buffer.alloc(0);
  private up: boolean;
  private readonly inbox: ({ kind: 'sentinel' } | { kind: 'request'; request: Json })[] = [];
  private busy = false;
  socket?: net.Socket;
  /** Set when a request arrives while an earlier one (not a sync) is unanswered. */
  overlapped = false;

  constructor(
    private readonly handler: Handler,
    private readonly opts: { up?: boolean; syncDelayMs?: number } = {},
  ) {
    this.up = opts.up ?? true;
  }

  attach(socket: net.Socket): void {
    this.socket = socket;
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      if (this.up) this.feed(chunk);
      else this.held.push(chunk);
    });
  }

  /** The agent starts: it reads everything that piled up while it was not running. */
  start(): void {
    this.up = true;
    for (const chunk of this.held.splice(0)) this.feed(chunk);
  }

  /** Answers the request being handled; the next one is handled after this. */
  reply(message: Json): void {
    this.socket?.write(JSON.stringify(message) + '\n');
    this.busy = false;
    this.pump();
  }

  raw(bytes: Buffer | string): void {
    this.socket?.write(bytes);
  }

  commands(name: string): Json[] {
    return this.received.filter((r) => r.command === name).map((r) => r.args);
  }

  private feed(chunk: Buffer): void {
    let data = Buffer.concat([this.partial, chunk]);
    for (;;) {
      const sentinel = data.indexOf(0xff);
      const newline = data.indexOf(0x0a);
      if (sentinel >= 0 && (newline < 0 || sentinel < newline)) {
        data = data.subarray(sentinel + 1);
        this.inbox.push({ kind: 'sentinel' });
        continue;
      }
      if (newline < 0) break;
      const request = JSON.parse(data.subarray(0, newline).toString()) as Json;
      data = data.subarray(newline + 1);
      if (this.busy && request.execute !== 'guest-sync-delimited') this.overlapped = true;
      this.inbox.push({ kind: 'request', request });
    }
    this.partial = Buffer.from(data);
    this.pump();
  }

  private pump(): void {
    while (!this.busy) {
      const item = this.inbox.shift();
      if (!item) return;
      if (item.kind === 'sentinel') {
        // qemu-ga drops its partial input and reports a parse error for the 0xFF.
        this.socket?.write(JSON.stringify(PARSE_ERROR) + '\n');
        continue;
      }
      const command = String(item.request.execute);
      const args = (item.request.arguments ?? {}) as Json;
      this.received.push({ command, args });
      this.busy = true;
      if (command === 'guest-sync-delimited') {
        const answer = (): void => {
          this.socket?.write(
            Buffer.concat([Buffer.from([0xff]), Buffer.from(JSON.stringify({ return: args.id }) + '\n')]),
          );
          this.busy = false;
          this.pump();
        };
        if (this.opts.syncDelayMs) setTimeout(answer, this.opts.syncDelayMs);
        else answer();
        return;
      }
      this.handler(this, command, args);
    }
  }
}

let dir: string;
let counter = 0;
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'ga-test-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const okHandler: Handler = (agent) => agent.reply({ return: {} });

async function setup(
  handler: Handler = okHandler,
  opts: { up?: boolean; syncDelayMs?: number; requestTimeoutMs?: number } = {},
): Promise<{ agent: FakeAgent; client: GuestAgent; done: () => Promise<void> }> {
  const file = path.join(dir, `ga-${counter++}.sock`);
  const agent = new FakeAgent(handler, opts);
  const server = net.createServer((socket) => agent.attach(socket));
  await new Promise<void>((resolve) => server.listen(file, resolve));
  const client = await GuestAgent.connect(file, { timeoutMs: 1000, requestTimeoutMs: opts.requestTimeoutMs });
  return {
    agent,
    client,
    done: async () => {
      await client.close();
      agent.socket?.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

test(
  'sync sends 0xFF then guest-sync-delimited with a random id, and skips the parse error',
  { timeout: TIMEOUT_MS },
  async () => {
    const file = path.join(dir, `ga-${counter++}.sock`);
    const bytes: Buffer[] = [];
    const agent = new FakeAgent(okHandler);
    const server = net.createServer((socket) => {
      socket.on('data', (chunk: Buffer) => bytes.push(chunk));
      agent.attach(socket);
    });
    await new Promise<void>((resolve) => server.listen(file, resolve));
    const client = await GuestAgent.connect(file, { timeoutMs: 1000 });
    await client.sync(1000);
    const sent = Buffer.concat(bytes);
    assert.equal(sent[0], 0xff);
    const request = JSON.parse(sent.subarray(1).toString()) as Json;
    assert.equal(request.execute, 'guest-sync-delimited');
    const id = (request.arguments as Json).id;
    assert.ok(Number.isInteger(id) && (id as number) > 0, `id ${String(id)}`);
    await client.ping();
    assert.deepEqual(
      agent.received.map((r) => r.command),
      ['guest-sync-delimited', 'guest-ping'],
    );
    await client.close();
    agent.socket?.destroy();
    server.close();
  },
);

test(
  'sync keeps resending while the agent is not up, and only the latest id counts',
  { timeout: TIMEOUT_MS },
  async () => {
    let infoCalls = 0;
    const { agent, client, done } = await setup(
      (a, command) => {
        if (command === 'guest-info') a.reply({ return: { version: `7.2.${++infoCalls}` } });
        else a.reply({ return: {} });
      },
      // Each answer takes a while, as under TCG: the stale ones arrive one by one, and a
      // client that took the first for its own would send its next request among them.
      { up: false, syncDelayMs: 25 },
    );
    const synced = client.sync(5000);
    // The agent "boots" after 700 ms; several syncs are waiting in the channel by then.
    await new Promise((resolve) => setTimeout(resolve, 700));
    agent.start();
    await synced;
    const syncs = agent.commands('guest-sync-delimited');
    assert.ok(syncs.length >= 3, `expected several syncs, got ${syncs.length}`);
    assert.equal(new Set(syncs.map((s) => s.id)).size, syncs.length, 'each sync has its own id');
    // Each stale answer (and parse error) was discarded: the next reply is the next request's.
    assert.deepEqual(await client.request('guest-info'), { version: '7.2.1' });
    assert.deepEqual(await client.request('guest-info'), { version: '7.2.2' });
    await done();
  },
);

test(
  'a stale sync answer and garbage before the real answer are ignored',
  { timeout: TIMEOUT_MS },
  async () => {
    const file = path.join(dir, `ga-${counter++}.sock`);
    const server = net.createServer((socket) => {
      socket.on('data', (chunk: Buffer) => {
        const text = chunk.subarray(chunk.indexOf(0x7b)).toString();
        const { execute, arguments: args } = JSON.parse(text) as { execute: string; arguments?: Json };
        if (execute === 'guest-sync-delimited') {
          // Leftovers of an earlier conversation, an old sync's answer, the parse error for our
          // 0xFF, a half line — then the real answer, all in one write.
          socket.write(
            Buffer.concat([
              Buffer.from('{"return": {"pid": 12'),
              Buffer.from([0xff]),
              Buffer.from('{"return": 4242}\n'),
              Buffer.from(JSON.stringify(PARSE_ERROR) + '\n{"ret'),
              Buffer.from([0xff]),
              Buffer.from(JSON.stringify({ return: args?.id }) + '\n'),
            ]),
          );
        } else {
          socket.write(JSON.stringify({ return: { answered: execute } }) + '\n');
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(file, resolve));
    const client = await GuestAgent.connect(file, { timeoutMs: 1000 });
    await client.sync(1000);
    assert.deepEqual(await client.request('guest-info'), { answered: 'guest-info' });
    await client.close();
    server.close();
  },
);

test(
  'sync gives up with GuestAgentTimeoutError when the agent never answers',
  { timeout: TIMEOUT_MS },
  async () => {
    const { agent, client, done } = await setup(okHandler, { up: false });
    const started = Date.now();
    await assert.rejects(client.sync(400), (err: Error) => {
      assert.ok(err instanceof GuestAgentTimeoutError);
      assert.equal(err.message, 'the guest agent did not answer guest-sync-delimited within 400 ms');
      return true;
    });
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 400 && elapsed < 1000, `took ${elapsed} ms`);
    assert.equal(agent.received.length, 0);
    await done();
  },
);

test('the first request syncs by itself', { timeout: TIMEOUT_MS }, async () => {
  const { agent, client, done } = await setup();
  await client.ping();
  assert.deepEqual(
    agent.received.map((r) => r.command),
    ['guest-sync-delimited', 'guest-ping'],
  );
  await done();
});

test(
  'an error reply rejects with GuestAgentError carrying class and desc',
  { timeout: TIMEOUT_MS },
  async () => {
    const { client, done } = await setup((a, command) =>
      a.reply({ error: { class: 'CommandNotFound', desc: `The command ${command} has not been found` } }),
    );
    await client.sync(1000);
    await assert.rejects(client.request('guest-nope'), (err: Error) => {
      assert.ok(err instanceof GuestAgentError);
      assert.equal(err.class, 'CommandNotFound');
      assert.equal(err.desc, 'The command guest-nope has not been found');
      assert.equal(err.command, 'guest-nope');
      return true;
    });
    await done();
  },
);

test('requests are sent one at a time, and each gets its own reply', { timeout: TIMEOUT_MS }, async () => {
  const { agent, client, done } = await setup((a, command, args) => {
    // Slow answers: a client that does not wait would send the next request meanwhile.
    setTimeout(() => a.reply({ return: { command, n: args.n ?? null } }), 15);
  });
  await client.sync(1000);
  const replies = await Promise.all([1, 2, 3, 4].map((n) => client.request('guest-echo', { n })));
  assert.deepEqual(
    replies,
    [1, 2, 3, 4].map((n) => ({ command: 'guest-echo', n })),
  );
  assert.equal(agent.overlapped, false, 'a request was sent before the previous reply');
  await done();
});

test(
  'a request that times out makes the next one resync, so its late reply is not misread',
  { timeout: TIMEOUT_MS },
  async () => {
    let slow = true;
    const { agent, client, done } = await setup(
      (a, command) => {
        if (slow) {
          slow = false;
          setTimeout(() => a.reply({ return: 'late reply to the first request' }), 150);
        } else {
          a.reply({ return: `reply to ${command}` });
        }
      },
      { requestTimeoutMs: 60 },
    );
    await client.sync(1000);
    await assert.rejects(client.request('guest-slow'), (err: Error) => {
      assert.ok(err instanceof GuestAgentTimeoutError);
      assert.equal(err.message, 'the guest agent did not answer guest-slow within 60 ms');
      return true;
    });
    // Sent at once: the agent is still busy with guest-slow, so its late reply comes first.
    assert.equal(await client.request('guest-fast', undefined, { timeoutMs: 1000 }), 'reply to guest-fast');
    assert.deepEqual(
      agent.received.map((r) => r.command),
      ['guest-sync-delimited', 'guest-slow', 'guest-sync-delimited', 'guest-fast'],
    );
    await done();
  },
);

test(
  'exec sends path, arg, env, input-data (base64) and capture-output',
  { timeout: TIMEOUT_MS },
  async () => {
    const { agent, client, done } = await setup((a) => a.reply({ return: { pid: 321 } }));
    assert.equal(
      await client.exec('/bin/cat', ['-n'], { env: ['PATH=/bin', 'LANG=C'], inputData: Buffer.from('hi\n') }),
      321,
    );
    assert.equal(await client.exec('/bin/true', [], { env: { HOME: '/root' }, captureOutput: false }), 321);
    assert.deepEqual(agent.commands('guest-exec'), [
      {
        path: '/bin/cat',
        arg: ['-n'],
        'capture-output': true,
        env: ['PATH=/bin', 'LANG=C'],
        'input-data': 'aGkK',
      },
      { path: '/bin/true', arg: [], 'capture-output': false, env: ['HOME=/root'] },
    ]);
    await done();
  },
);

test(
  'run polls guest-exec-status until the program exits and decodes its output',
  { timeout: TIMEOUT_MS },
  async () => {
    let polls = 0;
    const { agent, client, done } = await setup((a, command) => {
      if (command === 'guest-exec') a.reply({ return: { pid: 77 } });
      else if (++polls < 4) a.reply({ return: { exited: false } });
      else
        a.reply({
          return: {
            exited: true,
            exitcode: 3,
            'out-data': Buffer.from('out\n').toString('base64'),
            'err-data': Buffer.from([0xff, 0x00, 0x41]).toString('base64'),
            'out-truncated': false,
            'err-truncated': false,
          },
        });
    });
    const started = Date.now();
    const result = await client.run('/bin/sh', ['-c', 'exit 3'], {
      timeoutMs: 5000,
      input: Buffer.from('x'),
    });
    assert.deepEqual(result, {
      exitCode: 3,
      stdout: Buffer.from('out\n'),
      stderr: Buffer.from([0xff, 0x00, 0x41]),
    });
    assert.equal(polls, 4);
    // Backoff 2, 4, 8 ms between the four polls: quick, but not a busy loop.
    assert.ok(Date.now() - started >= 14, `took ${Date.now() - started} ms`);
    assert.deepEqual(agent.commands('guest-exec-status'), [
      { pid: 77 },
      { pid: 77 },
      { pid: 77 },
      { pid: 77 },
    ]);
    assert.equal(agent.commands('guest-exec')[0]?.['input-data'], 'eA==');
    await done();
  },
);

test('run reports a signal as 128 + signal, and truncated output', { timeout: TIMEOUT_MS }, async () => {
  const { client, done } = await setup((a, command) => {
    if (command === 'guest-exec') a.reply({ return: { pid: 5 } });
    else
      a.reply({
        return: { exited: true, signal: 9, 'out-data': '', 'out-truncated': true, 'err-truncated': false },
      });
  });
  const result = await client.run('/bin/yes', [], { timeoutMs: 1000 });
  assert.deepEqual(result, {
    exitCode: 137,
    signal: 9,
    stdout: Buffer.alloc(0),
    stderr: Buffer.alloc(0),
    truncated: true,
  });
  await done();
});

test(
  'run past its timeout kills the program tree and throws GuestAgentTimeoutError with the pid',
  { timeout: TIMEOUT_MS },
  async () => {
    const statuses = new Map<number, number>();
    const { agent, client, done } = await setup((a, command, args) => {
      if (command === 'guest-exec') {
        a.reply({ return: { pid: args.path === '/bin/sleep' ? 100 : 200 } });
      } else {
        const pid = Number(args.pid);
        const n = (statuses.get(pid) ?? 0) + 1;
        statuses.set(pid, n);
        // The sleeper runs until the killer (pid 200) has been started.
        const killed = agent.commands('guest-exec').length === 2;
        a.reply({ return: killed ? { exited: true, signal: 9 } : { exited: false } });
      }
    });
    const started = Date.now();
    await assert.rejects(client.run('/bin/sleep', ['60'], { timeoutMs: 100 }), (err: Error) => {
      assert.ok(err instanceof GuestAgentTimeoutError);
      assert.equal(err.pid, 100);
      assert.equal(err.message, '/bin/sleep (guest pid 100) ran longer than 100 ms; it was killed');
      return true;
    });
    assert.ok(Date.now() - started >= 100);
    const killer = agent.commands('guest-exec')[1];
    assert.equal(killer?.path, '/bin/sh');
    assert.equal((killer?.arg as string[])[0], '-c');
    assert.match((killer?.arg as string[])[1] ?? '', /kill -KILL/);
    assert.equal((killer?.arg as string[])[2], '100');
    // Both exec records were collected from the agent.
    assert.ok((statuses.get(200) ?? 0) >= 1);
    await done();
  },
);

test('run with killOnTimeout false leaves the program alone', { timeout: TIMEOUT_MS }, async () => {
  const { agent, client, done } = await setup((a, command) =>
    a.reply({ return: command === 'guest-exec' ? { pid: 9 } : { exited: false } }),
  );
  await assert.rejects(
    client.run('/bin/sleep', ['60'], { timeoutMs: 60, killOnTimeout: false }),
    /\/bin\/sleep \(guest pid 9\) ran longer than 60 ms; it is still running/,
  );
  assert.equal(agent.commands('guest-exec').length, 1);
  await done();
});

test(
  'writeFile writes 48 KiB chunks, closes the handle, then applies the mode with chmod',
  { timeout: TIMEOUT_MS },
  async () => {
    const written: Buffer[] = [];
    const { agent, client, done } = await setup((a, command, args) => {
      switch (command) {
        case 'guest-file-open':
          a.reply({ return: 1000 });
          break;
        case 'guest-file-write': {
          const data = Buffer.from(String(args['buf-b64']), 'base64');
          written.push(data);
          a.reply({ return: { count: data.length, eof: false } });
          break;
        }
        case 'guest-file-close':
          a.reply({ return: {} });
          break;
        case 'guest-exec':
          a.reply({ return: { pid: 55 } });
          break;
        case 'guest-exec-status':
          a.reply({ return: { exited: true, exitcode: 0 } });
          break;
      }
    });
    const data = Buffer.alloc(2 * FILE_WRITE_CHUNK + 4096);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 0xff;
    await client.writeFile('/root/prog', data, 0o755);
    assert.equal(FILE_WRITE_CHUNK, 49152);
    assert.deepEqual(
      written.map((b) => b.length),
      [49152, 49152, 4096],
    );
    assert.ok(Buffer.concat(written).equals(data));
    assert.deepEqual(
      agent.received.filter((r) => r.command !== 'guest-sync-delimited').map((r) => r.command),
      [
        'guest-file-open',
        'guest-file-write',
        'guest-file-write',
        'guest-file-write',
        'guest-file-close',
        'guest-exec',
        'guest-exec-status',
      ],
    );
    assert.deepEqual(agent.commands('guest-file-open'), [{ path: '/root/prog', mode: 'w' }]);
    assert.deepEqual(agent.commands('guest-file-close'), [{ handle: 1000 }]);
    assert.deepEqual(agent.commands('guest-exec')[0], {
      path: '/bin/chmod',
      arg: ['0755', '/root/prog'],
      'capture-output': true,
    });
    await done();
  },
);

test(
  'writeFile of an empty buffer opens and closes (creates or truncates) the file',
  { timeout: TIMEOUT_MS },
  async () => {
    const { agent, client, done } = await setup((a, command) =>
      a.reply({ return: command === 'guest-file-open' ? 7 : {} }),
    );
    await client.writeFile('/tmp/empty', Buffer.alloc(0));
    assert.deepEqual(
      agent.received.map((r) => r.command),
      ['guest-sync-delimited', 'guest-file-open', 'guest-file-close'],
    );
    await done();
  },
);

test(
  'writeFile closes the handle when a write fails, and reports the write error',
  { timeout: TIMEOUT_MS },
  async () => {
    const { agent, client, done } = await setup((a, command) => {
      if (command === 'guest-file-open') a.reply({ return: 3 });
      else if (command === 'guest-file-write')
        a.reply({ error: { class: 'GenericError', desc: 'No space left on device' } });
      else a.reply({ return: {} });
    });
    await assert.rejects(client.writeFile('/root/big', Buffer.alloc(10)), (err: Error) => {
      assert.ok(err instanceof GuestAgentError);
      assert.equal(err.desc, 'No space left on device');
      return true;
    });
    assert.deepEqual(agent.commands('guest-file-close'), [{ handle: 3 }]);
    await done();
  },
);

test('readFile reads until eof and closes the handle', { timeout: TIMEOUT_MS }, async () => {
  const parts = [Buffer.from('first part, '), Buffer.from('second ü part')];
  let reads = 0;
  const { agent, client, done } = await setup((a, command) => {
    if (command === 'guest-file-open') a.reply({ return: 9 });
    else if (command === 'guest-file-read') {
      const part = parts[reads++] ?? Buffer.alloc(0);
      a.reply({
        return: { count: part.length, 'buf-b64': part.toString('base64'), eof: reads >= parts.length },
      });
    } else a.reply({ return: {} });
  });
  assert.equal((await client.readFile('/proc/devices')).toString(), 'first part, second ü part');
  assert.deepEqual(agent.commands('guest-file-open'), [{ path: '/proc/devices', mode: 'r' }]);
  assert.deepEqual(agent.commands('guest-file-read'), [
    { handle: 9, count: 1048576 },
    { handle: 9, count: 1048576 },
  ]);
  assert.deepEqual(agent.commands('guest-file-close'), [{ handle: 9 }]);
  await done();
});

test('replies that arrive one byte at a time are put back together', { timeout: TIMEOUT_MS }, async () => {
  const { client, done } = await setup((a) => {
    const bytes = Buffer.from(JSON.stringify({ return: { text: 'ünï — €' } }) + '\n');
    void (async () => {
      for (const byte of bytes) {
        a.raw(Buffer.from([byte]));
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
  });
  await client.sync(1000);
  assert.deepEqual(await client.request('guest-info'), { text: 'ünï — €' });
  await done();
});

test('a 0xFF inside a reply line discards what came before it', { timeout: TIMEOUT_MS }, async () => {
  const { client, done } = await setup((a) => {
    // Half a line in one read, then 0xFF and a whole reply in the next.
    a.raw('{"return": {"half');
    setTimeout(() => {
      a.raw(Buffer.from([0xff]));
      a.reply({ return: { whole: true } });
    }, 20);
  });
  await client.sync(1000);
  assert.deepEqual(await client.request('guest-info'), { whole: true });
  await done();
});

test(
  'closing the channel rejects the request in flight and every queued one',
  { timeout: TIMEOUT_MS },
  async () => {
    const { agent, client, done } = await setup(() => undefined);
    await client.sync(1000);
    const calls = [client.ping(), client.request('guest-info'), client.readFile('/etc/hostname')];
    await new Promise((resolve) => setTimeout(resolve, 30));
    agent.socket?.destroy();
    const results = await Promise.allSettled(calls);
    for (const result of results) {
      assert.equal(result.status, 'rejected');
      assert.ok(result.reason instanceof GuestAgentDisconnectedError, String(result.reason));
    }
    await client.closed;
    await assert.rejects(client.ping(), GuestAgentDisconnectedError);
    await done();
  },
);

test('close() by the client rejects pending requests', { timeout: TIMEOUT_MS }, async () => {
  const { client, done } = await setup(() => undefined);
  await client.sync(1000);
  const pending = client.ping();
  await new Promise((resolve) => setTimeout(resolve, 20));
  await client.close();
  await assert.rejects(pending, (err: Error) => {
    assert.ok(err instanceof GuestAgentDisconnectedError);
    assert.equal(err.message, 'the guest agent channel was closed by the client');
    return true;
  });
  await done();
});

test('connect fails with a clear error when the socket never appears', { timeout: TIMEOUT_MS }, async () => {
  await assert.rejects(
    GuestAgent.connect(path.join(dir, 'missing.sock'), { timeoutMs: 100 }),
    (err: Error) => {
      assert.ok(err instanceof GuestAgentTimeoutError);
      assert.match(
        err.message,
        /^no guest agent socket: could not connect to .*missing\.sock within 100 ms \(ENOENT\)$/,
      );
      return true;
    },
  );
});

test('shellQuote leaves safe words alone and single-quotes the rest', { timeout: TIMEOUT_MS }, () => {
  assert.equal(shellQuote('/root/a.out'), '/root/a.out');
  assert.equal(shellQuote('a b'), "'a b'");
  assert.equal(shellQuote(''), "''");
  assert.equal(shellQuote("it's"), "'it'\\''s'");
  assert.equal(shellQuote('$(reboot)'), "'$(reboot)'");
});
