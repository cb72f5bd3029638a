// GuestAgent's protocol against a fake qemu-ga (fake-guest-agent.ts): sync, framing, one request
// at a time, timeouts and disconnects.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import {
  GuestAgent,
  GuestAgentAbandonedError,
  GuestAgentDisconnectedError,
  GuestAgentError,
  GuestAgentTimeoutError,
  shellQuote,
} from '../../src/guest-agent.ts';
import {
  FakeAgent,
  PARSE_ERROR,
  TIMEOUT_MS,
  nextSocketPath,
  okHandler,
  setup,
  type Json,
} from './fake-guest-agent.ts';

test(
  'sync sends 0xFF then guest-sync-delimited with a random id, and skips the parse error',
  { timeout: TIMEOUT_MS },
  async () => {
    const file = nextSocketPath();
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
    const file = nextSocketPath();
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

test(
  'abandonPending rejects the request in flight and the queued ones; the next request resyncs and works',
  { timeout: TIMEOUT_MS },
  async () => {
    // The agent never answers guest-info: the guest froze under it, then was restored (loadvm).
    const { agent, client, done } = await setup((a, command) => {
      if (command !== 'guest-info') a.reply({ return: {} });
    });
    await client.sync(1000);
    const inFlight = client.request('guest-info');
    const queued = client.ping();
    while (agent.commands('guest-info').length === 0) await new Promise((r) => setTimeout(r, 5));
    agent.restore();
    client.abandonPending('the guest was reset to its warm snapshot');
    const abandoned = (err: Error) =>
      err instanceof GuestAgentAbandonedError && err.message === 'the guest was reset to its warm snapshot';
    await assert.rejects(inFlight, abandoned);
    await assert.rejects(queued, abandoned);
    await client.sync(1000);
    await client.ping();
    // The queued ping was never sent; after guest-info, only the new sync and the new ping.
    assert.deepEqual(
      agent.received.map((r) => r.command),
      ['guest-sync-delimited', 'guest-info', 'guest-sync-delimited', 'guest-ping'],
    );
    await done();
  },
);

test('connect fails with a clear error when the socket never appears', { timeout: TIMEOUT_MS }, async () => {
  await assert.rejects(GuestAgent.connect(nextSocketPath(), { timeoutMs: 100 }), (err: Error) => {
    assert.ok(err instanceof GuestAgentTimeoutError);
    assert.match(
      err.message,
      /^no guest agent socket: could not connect to .*ga-\d+\.sock within 100 ms \(ENOENT\)$/,
    );
    return true;
  });
});

test('shellQuote leaves safe words alone and single-quotes the rest', { timeout: TIMEOUT_MS }, () => {
  assert.equal(shellQuote('/root/a.out'), '/root/a.out');
  assert.equal(shellQuote('a b'), "'a b'");
  assert.equal(shellQuote(''), "''");
  assert.equal(shellQuote("it's"), "'it'\\''s'");
  assert.equal(shellQuote('$(reboot)'), "'$(reboot)'");
});
