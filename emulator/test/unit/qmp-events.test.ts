// QmpClient against a fake QEMU (fake-qmp.ts): events, close and disconnects, bad input.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import {
  QmpClient,
  QmpDisconnectedError,
  QmpProtocolError,
  QmpTimeoutError,
  type QmpEvent,
} from '../../src/qmp.ts';
import { GREETING, TIMEOUT_MS, event, socketPath, withQmp, type Json } from './fake-qmp.ts';

test('a for-await loop over events() ends when the connection closes', { timeout: TIMEOUT_MS }, () =>
  withQmp({}, async ({ qmp, peer }) => {
    const collected = (async () => {
      const names: string[] = [];
      for await (const e of qmp.events()) names.push(e.event);
      return names;
    })();
    peer.send(event('SHUTDOWN', { guest: true, reason: 'guest-shutdown' }));
    // Both in one write, then the hang-up: the event must still be delivered before the end.
    peer.socket.end(JSON.stringify(event('STOP')) + '\r\n');
    assert.deepEqual(await collected, ['SHUTDOWN', 'STOP']);
    await qmp.closed;
    assert.equal(qmp.runstate, 'disconnected');
    const late = await qmp.events().next();
    assert.equal(late.done, true);
  }),
);

test('breaking out of a for-await loop unsubscribes the iterator', { timeout: TIMEOUT_MS }, () =>
  withQmp({}, async ({ qmp, peer }) => {
    const iterator = qmp.events();
    peer.send(event('STOP'));
    for await (const e of { [Symbol.asyncIterator]: () => iterator }) {
      assert.equal(e.event, 'STOP');
      break;
    }
    assert.deepEqual(await iterator.next(), { value: undefined, done: true });
  }),
);

test(
  'input that arrives one byte at a time, events and multi-byte characters included, is parsed',
  { timeout: TIMEOUT_MS },
  async () => {
    const file = socketPath();
    // Writes each byte on its own, so every line (and the 2- and 3-byte UTF-8 sequences in
    // it) is cut at every possible place.
    const trickle = (socket: net.Socket, text: string): Promise<void> =>
      (async () => {
        for (const byte of Buffer.from(text)) {
          socket.write(Buffer.from([byte]));
          await new Promise((resolve) => setImmediate(resolve));
        }
      })();
    const server = net.createServer((socket) => {
      let queue = trickle(socket, JSON.stringify(GREETING) + '\r\n');
      let buffer = '';
      socket.on('data', (chunk) => {
        buffer += chunk.toString();
        let newline: number;
        while ((newline = buffer.indexOf('\n')) >= 0) {
          const command = JSON.parse(buffer.slice(0, newline)) as Json;
          buffer = buffer.slice(newline + 1);
          const reply =
            command.execute === 'qmp_capabilities'
              ? JSON.stringify({ return: {}, id: command.id }) + '\r\n'
              : JSON.stringify(event('BLOCK_IO_ERROR', { device: 'é—ü' })) +
                '\r\n' +
                JSON.stringify({ return: 'Ünïcødé — €', id: command.id }) +
                '\r\n';
          queue = queue.then(() => trickle(socket, reply));
        }
      });
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(file, resolve));
    const qmp = await QmpClient.connect(file, { timeoutMs: 5000 });
    assert.deepEqual(qmp.greeting, GREETING);
    const events: QmpEvent[] = [];
    qmp.onEvent((e) => events.push(e));
    assert.equal(await qmp.execute('query-name'), 'Ünïcødé — €');
    assert.deepEqual(events, [event('BLOCK_IO_ERROR', { device: 'é—ü' })]);
    await qmp.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  },
);

test(
  'chunked replies: every byte boundary of a reply line yields the same message',
  { timeout: TIMEOUT_MS },
  () =>
    withQmp(
      {
        onCommand: (peer, command) => {
          const line = Buffer.from(JSON.stringify({ return: { text: 'ü—€ ok' }, id: command.id }) + '\r\n');
          const cut = Number((command.arguments as Json).cut);
          peer.raw(line.subarray(0, cut));
          setTimeout(() => peer.raw(line.subarray(cut)), 2);
        },
      },
      async ({ qmp }) => {
        const length = Buffer.byteLength(
          JSON.stringify({ return: { text: 'ü—€ ok' }, id: '__qmp#00001' }) + '\r\n',
        );
        for (let cut = 1; cut < length; cut++) {
          assert.deepEqual(await qmp.execute('echo', { cut }), { text: 'ü—€ ok' }, `cut at byte ${cut}`);
        }
      },
    ),
);

test(
  'when QEMU closes the socket mid-call, every pending call is rejected with QmpDisconnectedError',
  { timeout: TIMEOUT_MS },
  () =>
    withQmp({ onCommand: () => undefined }, async ({ qmp, peer }) => {
      const calls = [
        qmp.execute('query-status'),
        qmp.execute('query-kvm'),
        qmp.humanMonitorCommand('info status'),
      ];
      await peer.waitForCommands(4);
      peer.socket.destroy();
      const results = await Promise.allSettled(calls);
      for (const result of results) {
        assert.equal(result.status, 'rejected');
        assert.ok(result.reason instanceof QmpDisconnectedError, String(result.reason));
        assert.equal((result.reason as Error).message, 'QMP connection closed by QEMU');
      }
      await qmp.closed;
      assert.equal(qmp.runstate, 'disconnected');
      // A call after the end fails at once, the same way.
      await assert.rejects(qmp.execute('query-status'), QmpDisconnectedError);
    }),
);

test('close() rejects pending calls and ends the connection', { timeout: TIMEOUT_MS }, () =>
  withQmp({ onCommand: () => undefined }, async ({ qmp, peer }) => {
    const pending = qmp.execute('query-status');
    await peer.waitForCommands(2);
    await qmp.close();
    await assert.rejects(pending, (err: Error) => {
      assert.ok(err instanceof QmpDisconnectedError);
      assert.equal(err.message, 'QMP connection closed by the client');
      return true;
    });
    assert.equal(qmp.runstate, 'disconnected');
    await qmp.close(); // twice is fine
  }),
);

test('humanMonitorCommand sends human-monitor-command and returns the text', { timeout: TIMEOUT_MS }, () =>
  withQmp(
    {
      onCommand: (peer, command) => peer.send({ return: 'VM status: running\r\n', id: command.id }),
    },
    async ({ qmp, peer }) => {
      assert.equal(await qmp.humanMonitorCommand('info status'), 'VM status: running\r\n');
      const sent = peer.received[1];
      assert.equal(sent?.execute, 'human-monitor-command');
      assert.deepEqual(sent?.arguments, { 'command-line': 'info status' });
    },
  ),
);

test(
  'a reply with an unknown id is dropped; the right one still resolves the call',
  { timeout: TIMEOUT_MS },
  () =>
    withQmp(
      {
        onCommand: (peer, command) => {
          peer.send({ return: 'stale', id: 'not-ours' });
          peer.send({ return: 'fresh', id: command.id });
        },
      },
      async ({ qmp }) => {
        assert.equal(await qmp.execute('query-name'), 'fresh');
        assert.equal(qmp.runstate, 'running');
      },
    ),
);

test(
  'an error without an id (QEMU could not parse a command) drops the connection',
  { timeout: TIMEOUT_MS },
  () =>
    withQmp(
      {
        onCommand: (peer) =>
          peer.send({ error: { class: 'GenericError', desc: 'JSON parse error, invalid keyword' } }),
      },
      async ({ qmp }) => {
        await assert.rejects(qmp.execute('query-status'), (err: Error) => {
          assert.ok(err instanceof QmpDisconnectedError);
          assert.ok(err.cause instanceof QmpProtocolError);
          assert.match(err.message, /QEMU could not parse a command: JSON parse error, invalid keyword/);
          return true;
        });
        assert.equal(qmp.runstate, 'disconnected');
      },
    ),
);

test('a line that is not JSON drops the connection with a protocol error', { timeout: TIMEOUT_MS }, () =>
  withQmp({ onCommand: (peer) => peer.raw('garbage}\r\n') }, async ({ qmp }) => {
    await assert.rejects(qmp.execute('query-status'), (err: Error) => {
      assert.ok(err instanceof QmpDisconnectedError);
      assert.ok(err.cause instanceof QmpProtocolError);
      assert.match(err.message, /not JSON: garbage\}/);
      return true;
    });
  }),
);

test(
  'waitForEvent resolves on the named event, times out, and fails on disconnect',
  { timeout: TIMEOUT_MS },
  () =>
    withQmp({}, async ({ qmp, peer }) => {
      const shutdown = qmp.waitForEvent('SHUTDOWN', { timeoutMs: 2000 });
      peer.send(event('STOP'));
      peer.send(event('SHUTDOWN', { guest: false, reason: 'host-qmp-quit' }));
      assert.deepEqual((await shutdown).data, { guest: false, reason: 'host-qmp-quit' });
      await assert.rejects(qmp.waitForEvent('RESET', { timeoutMs: 50 }), (err: Error) => {
        assert.ok(err instanceof QmpTimeoutError);
        assert.equal(err.message, 'no RESET event within 50 ms');
        return true;
      });
      const never = qmp.waitForEvent((e) => e.event === 'GUEST_PANICKED');
      peer.socket.destroy();
      await assert.rejects(never, QmpDisconnectedError);
    }),
);
