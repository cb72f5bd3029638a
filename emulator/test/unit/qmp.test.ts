// QmpClient against a fake QEMU: a unix socket server in a temp dir that speaks QMP the way
// QEMU 7.2 does (greeting, ids echoed, "\r\n" line ends, events between replies).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  QmpClient,
  QmpCommandError,
  QmpConnectError,
  QmpDisconnectedError,
  QmpProtocolError,
  QmpTimeoutError,
  type QmpEvent,
} from '../../src/qmp.ts';

/** A protocol bug tends to leave a call waiting forever: fail instead of hanging the run. */
const TIMEOUT_MS = 5000;

type Json = Record<string, unknown>;

const GREETING = {
  QMP: {
    version: { qemu: { micro: 22, minor: 2, major: 7 }, package: 'Debian 1:7.2+dfsg-7' },
    capabilities: ['oob'],
  },
};

function event(name: string, data?: Json): Json {
  return { timestamp: { seconds: 1700000000, microseconds: 5 }, event: name, ...(data ? { data } : {}) };
}

/** One client connection to the fake QEMU: every command it received, and a way to answer. */
class Peer {
  readonly received: Json[] = [];
  private buffer = '';
  private waiters: (() => void)[] = [];

  constructor(
    readonly socket: net.Socket,
    private readonly onCommand: (peer: Peer, command: Json) => void,
  ) {
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => {
      this.buffer += text;
      let newline: number;
      while ((newline = this.buffer.indexOf('\n')) >= 0) {
        const command = JSON.parse(this.buffer.slice(0, newline)) as Json;
        this.buffer = this.buffer.slice(newline + 1);
        this.received.push(command);
        for (const waiter of this.waiters.splice(0)) waiter();
        this.onCommand(this, command);
      }
    });
    socket.on('error', () => undefined);
  }

  send(message: Json): void {
    this.socket.write(JSON.stringify(message) + '\r\n');
  }

  raw(bytes: string | Buffer): void {
    this.socket.write(bytes);
  }

  /** Resolves once `count` commands (the capabilities negotiation included) have arrived. */
  async waitForCommands(count: number): Promise<void> {
    while (this.received.length < count) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }
}

interface FakeQemuOptions {
  /** Called for each command after qmp_capabilities; the default answers {"return": {}}. */
  onCommand?: (peer: Peer, command: Json) => void;
  greeting?: boolean;
}

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'qmp-test-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

let counter = 0;
function socketPath(): string {
  return path.join(dir, `qmp-${counter++}.sock`);
}

async function fakeQemu(
  file: string,
  opts: FakeQemuOptions = {},
): Promise<{ server: net.Server; peer: Promise<Peer>; close: () => Promise<void> }> {
  const server = net.createServer();
  const peer = new Promise<Peer>((resolve) => {
    server.on('connection', (socket) => {
      const p = new Peer(socket, (self, command) => {
        if (command.execute === 'qmp_capabilities') {
          self.send({ return: {}, id: command.id });
        } else if (opts.onCommand) {
          opts.onCommand(self, command);
        } else {
          self.send({ return: {}, id: command.id });
        }
      });
      if (opts.greeting !== false) p.send(GREETING);
      resolve(p);
    });
  });
  await new Promise<void>((resolve) => server.listen(file, resolve));
  return {
    server,
    peer,
    close: async () => {
      (await Promise.race([peer, Promise.resolve(undefined)]))?.socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

test(
  'connect reads the greeting, then negotiates capabilities before anything else',
  { timeout: TIMEOUT_MS },
  async () => {
    const file = socketPath();
    const qemu = await fakeQemu(file);
    const qmp = await QmpClient.connect(file, { timeoutMs: 2000 });
    const peer = await qemu.peer;
    assert.deepEqual(qmp.greeting, GREETING);
    assert.equal(qmp.runstate, 'running');
    assert.equal(peer.received.length, 1);
    assert.equal(peer.received[0]?.execute, 'qmp_capabilities');
    // No 'oob' is enabled: the client never sends out-of-band commands.
    assert.equal(peer.received[0]?.arguments, undefined);
    assert.equal(typeof peer.received[0]?.id, 'string');
    await qmp.close();
    await qemu.close();
  },
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
  const file = socketPath();
  const held: Json[] = [];
  const qemu = await fakeQemu(file, {
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
  });
  const qmp = await QmpClient.connect(file, { timeoutMs: 2000 });
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
  const ids = (await qemu.peer).received.map((m) => m.id);
  assert.equal(new Set(ids).size, 4, `ids must be unique: ${JSON.stringify(ids)}`);
  await qmp.close();
  await qemu.close();
});

test(
  'an error reply rejects with QmpCommandError carrying class and desc',
  { timeout: TIMEOUT_MS },
  async () => {
    const file = socketPath();
    const qemu = await fakeQemu(file, {
      onCommand: (peer, command) =>
        peer.send({
          error: {
            class: 'CommandNotFound',
            desc: `The command ${String(command.execute)} has not been found`,
          },
          id: command.id,
        }),
    });
    const qmp = await QmpClient.connect(file, { timeoutMs: 2000 });
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
    await qmp.close();
    await qemu.close();
  },
);

test(
  'events reach onEvent listeners and events() iterators, in order; unsubscribing stops them',
  { timeout: TIMEOUT_MS },
  async () => {
    const file = socketPath();
    const qemu = await fakeQemu(file);
    const qmp = await QmpClient.connect(file, { timeoutMs: 2000 });
    const peer = await qemu.peer;
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
    assert.deepEqual(fromListener, ['STOP', 'GUEST_PANICKED'], 'the unsubscribed listener got nothing more');
    await qmp.close();
    await qemu.close();
  },
);

test('a for-await loop over events() ends when the connection closes', { timeout: TIMEOUT_MS }, async () => {
  const file = socketPath();
  const qemu = await fakeQemu(file);
  const qmp = await QmpClient.connect(file, { timeoutMs: 2000 });
  const peer = await qemu.peer;
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
  await qemu.close();
});

test('breaking out of a for-await loop unsubscribes the iterator', { timeout: TIMEOUT_MS }, async () => {
  const file = socketPath();
  const qemu = await fakeQemu(file);
  const qmp = await QmpClient.connect(file, { timeoutMs: 2000 });
  const peer = await qemu.peer;
  const iterator = qmp.events();
  peer.send(event('STOP'));
  for await (const e of { [Symbol.asyncIterator]: () => iterator }) {
    assert.equal(e.event, 'STOP');
    break;
  }
  assert.deepEqual(await iterator.next(), { value: undefined, done: true });
  await qmp.close();
  await qemu.close();
});

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
  async () => {
    const file = socketPath();
    const qemu = await fakeQemu(file, {
      onCommand: (peer, command) => {
        const line = Buffer.from(JSON.stringify({ return: { text: 'ü—€ ok' }, id: command.id }) + '\r\n');
        const cut = Number((command.arguments as Json).cut);
        peer.raw(line.subarray(0, cut));
        setTimeout(() => peer.raw(line.subarray(cut)), 2);
      },
    });
    const qmp = await QmpClient.connect(file, { timeoutMs: 2000 });
    const length = Buffer.byteLength(
      JSON.stringify({ return: { text: 'ü—€ ok' }, id: '__qmp#00001' }) + '\r\n',
    );
    for (let cut = 1; cut < length; cut++) {
      assert.deepEqual(await qmp.execute('echo', { cut }), { text: 'ü—€ ok' }, `cut at byte ${cut}`);
    }
    await qmp.close();
    await qemu.close();
  },
);

test(
  'when QEMU closes the socket mid-call, every pending call is rejected with QmpDisconnectedError',
  { timeout: TIMEOUT_MS },
  async () => {
    const file = socketPath();
    const qemu = await fakeQemu(file, { onCommand: () => undefined });
    const qmp = await QmpClient.connect(file, { timeoutMs: 2000 });
    const peer = await qemu.peer;
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
    await qemu.close();
  },
);

test('close() rejects pending calls and ends the connection', { timeout: TIMEOUT_MS }, async () => {
  const file = socketPath();
  const qemu = await fakeQemu(file, { onCommand: () => undefined });
  const qmp = await QmpClient.connect(file, { timeoutMs: 2000 });
  const pending = qmp.execute('query-status');
  await (await qemu.peer).waitForCommands(2);
  await qmp.close();
  await assert.rejects(pending, (err: Error) => {
    assert.ok(err instanceof QmpDisconnectedError);
    assert.equal(err.message, 'QMP connection closed by the client');
    return true;
  });
  assert.equal(qmp.runstate, 'disconnected');
  await qmp.close(); // twice is fine
  await qemu.close();
});

test(
  'humanMonitorCommand sends human-monitor-command and returns the text',
  { timeout: TIMEOUT_MS },
  async () => {
    const file = socketPath();
    const qemu = await fakeQemu(file, {
      onCommand: (peer, command) => peer.send({ return: 'VM status: running\r\n', id: command.id }),
    });
    const qmp = await QmpClient.connect(file, { timeoutMs: 2000 });
    assert.equal(await qmp.humanMonitorCommand('info status'), 'VM status: running\r\n');
    const sent = (await qemu.peer).received[1];
    assert.equal(sent?.execute, 'human-monitor-command');
    assert.deepEqual(sent?.arguments, { 'command-line': 'info status' });
    await qmp.close();
    await qemu.close();
  },
);

test(
  'a reply with an unknown id is dropped; the right one still resolves the call',
  { timeout: TIMEOUT_MS },
  async () => {
    const file = socketPath();
    const qemu = await fakeQemu(file, {
      onCommand: (peer, command) => {
        peer.send({ return: 'stale', id: 'not-ours' });
        peer.send({ return: 'fresh', id: command.id });
      },
    });
    const qmp = await QmpClient.connect(file, { timeoutMs: 2000 });
    assert.equal(await qmp.execute('query-name'), 'fresh');
    assert.equal(qmp.runstate, 'running');
    await qmp.close();
    await qemu.close();
  },
);

test(
  'an error without an id (QEMU could not parse a command) drops the connection',
  { timeout: TIMEOUT_MS },
  async () => {
    const file = socketPath();
    const qemu = await fakeQemu(file, {
      onCommand: (peer) =>
        peer.send({ error: { class: 'GenericError', desc: 'JSON parse error, invalid keyword' } }),
    });
    const qmp = await QmpClient.connect(file, { timeoutMs: 2000 });
    await assert.rejects(qmp.execute('query-status'), (err: Error) => {
      assert.ok(err instanceof QmpDisconnectedError);
      assert.ok(err.cause instanceof QmpProtocolError);
      assert.match(err.message, /QEMU could not parse a command: JSON parse error, invalid keyword/);
      return true;
    });
    assert.equal(qmp.runstate, 'disconnected');
    await qemu.close();
  },
);

test(
  'a line that is not JSON drops the connection with a protocol error',
  { timeout: TIMEOUT_MS },
  async () => {
    const file = socketPath();
    const qemu = await fakeQemu(file, { onCommand: (peer) => peer.raw('garbage}\r\n') });
    const qmp = await QmpClient.connect(file, { timeoutMs: 2000 });
    await assert.rejects(qmp.execute('query-status'), (err: Error) => {
      assert.ok(err instanceof QmpDisconnectedError);
      assert.ok(err.cause instanceof QmpProtocolError);
      assert.match(err.message, /not JSON: garbage\}/);
      return true;
    });
    await qemu.close();
  },
);

test(
  'waitForEvent resolves on the named event, times out, and fails on disconnect',
  { timeout: TIMEOUT_MS },
  async () => {
    const file = socketPath();
    const qemu = await fakeQemu(file);
    const qmp = await QmpClient.connect(file, { timeoutMs: 2000 });
    const peer = await qemu.peer;
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
    await qemu.close();
  },
);
