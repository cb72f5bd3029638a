// QmpClient against a fake QEMU (fake-qmp.ts): connecting, negotiation, replies matched by id.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { QmpClient, QmpCommandError, QmpConnectError, type QmpEvent } from '../../src/qmp.ts';
import { GREETING, TIMEOUT_MS, event, fakeQemu, socketPath, withQmp, type Json } from './fake-qmp.ts';

test(
  'connect reads the greeting, then negotiates capabilities before anything else',
  { timeout: TIMEOUT_MS },
  () =>
    withQmp({}, async ({ qmp, peer }) => {
      assert.deepEqual(qmp.greeting, GREETING);
      assert.equal(qmp.runstate, 'running');
      assert.equal(peer.received.length, 1);
      assert.equal(peer.received[0]?.execute, 'qmp_capabilities');
      // No 'oob' is enabled: the client never sends out-of-band commands.
      assert.equal(peer.received[0]?.arguments, undefined);
      assert.equal(typeof peer.received[0]?.id, 'string');
    }),
);

test('connect waits for the socket QEMU has not created yet', { timeout: TIMEOUT_MS }, async () => {
  const file = socketPath();
  const started = Date.now();
  const connecting = QmpClient.connect(file, { timeoutMs: 3000 });
  await new Promise((resolve) => setTimeout(resolve, 300));
  const qemu = await fakeQemu(file);
  const qmp = await connecting;
  assert.ok(Date.now() - started >= 300);
  assert.equal(qmp.runstate, 'running');
  await qmp.close();
  await qemu.close();
});

test(
  'connect gives up with QmpConnectError when no socket appears in time',
  { timeout: TIMEOUT_MS },
  async () => {
    const file = socketPath();
    const started = Date.now();
    await assert.rejects(QmpClient.connect(file, { timeoutMs: 250 }), (err: Error) => {
      assert.ok(err instanceof QmpConnectError);
      assert.match(err.message, /could not connect to .*qmp-\d+\.sock within 250 ms \(ENOENT\)/);
      return true;
    });
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 250 && elapsed < 1500, `took ${elapsed} ms`);
  },
);

test('connect gives up when QEMU accepts but never greets', { timeout: TIMEOUT_MS }, async () => {
  const file = socketPath();
  const qemu = await fakeQemu(file, { greeting: false });
  await assert.rejects(QmpClient.connect(file, { timeoutMs: 300 }), (err: Error) => {
    assert.ok(err instanceof QmpConnectError);
    assert.match(err.message, /no QMP greeting and negotiation from .* within \d+ ms/);
    return true;
  });
  await qemu.close();
});

test('connect fails when negotiation is refused', { timeout: TIMEOUT_MS }, async () => {
  const file = socketPath();
  const server = net.createServer((socket) => {
    socket.write(JSON.stringify(GREETING) + '\r\n');
    socket.on('data', (text) => {
      const { id } = JSON.parse(text.toString()) as Json;
      socket.write(
        JSON.stringify({
          error: { class: 'GenericError', desc: 'Capabilities negotiation is already complete' },
          id,
        }) + '\r\n',
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(file, resolve));
  await assert.rejects(QmpClient.connect(file, { timeoutMs: 1000 }), (err: Error) => {
    assert.ok(err instanceof QmpConnectError);
    assert.match(err.message, /Capabilities negotiation is already complete/);
    assert.ok(err.cause instanceof QmpCommandError);
    return true;
  });
  server.close();
});

test('replies are matched by id, in any order, with events in between', { timeout: TIMEOUT_MS }, async () => {
  const held: Json[] = [];
  await withQmp(
    {
      onCommand: (peer, command) => {
        held.push(command);
        if (held.length < 3) return;
        // Answer the three commands backwards, with events around the replies.
        peer.send(event('RESUME'));
        for (const c of [...held].reverse()) {
          peer.send({ return: { echo: c.execute, args: c.arguments ?? null }, id: c.id });
          peer.send(event('RTC_CHANGE', { offset: 1 }));
        }
      },
    },
    async ({ qmp, peer }) => {
      const seen: string[] = [];
      qmp.onEvent((e) => seen.push(e.event));
      const [a, b, c] = await Promise.all([
        qmp.execute('query-status'),
        qmp.execute('query-kvm'),
        qmp.execute('device_del', { id: 'x' }),
      ]);
      assert.deepEqual(a, { echo: 'query-status', args: null });
      assert.deepEqual(b, { echo: 'query-kvm', args: null });
      assert.deepEqual(c, { echo: 'device_del', args: { id: 'x' } });
      assert.deepEqual(seen, ['RESUME', 'RTC_CHANGE', 'RTC_CHANGE', 'RTC_CHANGE']);
      const ids = peer.received.map((m) => m.id);
      assert.equal(new Set(ids).size, 4, `ids must be unique: ${JSON.stringify(ids)}`);
    },
  );
});

test('an error reply rejects with QmpCommandError carrying class and desc', { timeout: TIMEOUT_MS }, () =>
  withQmp(
    {
      onCommand: (peer, command) =>
        peer.send({
          error: {
            class: 'CommandNotFound',
            desc: `The command ${String(command.execute)} has not been found`,
          },
          id: command.id,
        }),
    },
    async ({ qmp }) => {
      await assert.rejects(qmp.execute('no-such-command'), (err: Error) => {
        assert.ok(err instanceof QmpCommandError);
        assert.equal(err.class, 'CommandNotFound');
        assert.equal(err.desc, 'The command no-such-command has not been found');
        assert.equal(err.command, 'no-such-command');
        assert.equal(
          err.message,
          'no-such-command: The command no-such-command has not been found (CommandNotFound)',
        );
        return true;
      });
      // The connection is still fine after an error reply.
      assert.equal(qmp.runstate, 'running');
    },
  ),
);

test(
  'events reach onEvent listeners and events() iterators, in order; unsubscribing stops them',
  { timeout: TIMEOUT_MS },
  () =>
    withQmp({}, async ({ qmp, peer }) => {
      const fromListener: string[] = [];
      const unsubscribe = qmp.onEvent((e) => fromListener.push(e.event));
      const iterator = qmp.events();
      peer.send(event('STOP'));
      peer.send(event('GUEST_PANICKED', { action: 'pause', info: { type: 'hyper-v' } }));
      const first = await iterator.next();
      const second = await iterator.next();
      assert.equal(first.done, false);
      assert.equal((first.value as QmpEvent).event, 'STOP');
      assert.deepEqual(second.value, event('GUEST_PANICKED', { action: 'pause', info: { type: 'hyper-v' } }));
      assert.deepEqual(fromListener, ['STOP', 'GUEST_PANICKED']);
      unsubscribe();
      peer.send(event('RESET', { guest: true, reason: 'guest-reset' }));
      const third = await iterator.next();
      assert.equal((third.value as QmpEvent).event, 'RESET');
      assert.deepEqual(
        fromListener,
        ['STOP', 'GUEST_PANICKED'],
        'the unsubscribed listener got nothing more',
      );
    }),
);
