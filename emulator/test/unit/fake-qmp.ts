// A fake QEMU for the QmpClient tests: a unix socket server in a temp dir that speaks QMP the way
// QEMU 7.2 does (greeting, ids echoed, "\r\n" line ends, events between replies), and withQmp,
// which runs a test body against one with a connected QmpClient.
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import { QmpClient } from '../../src/qmp.ts';
/** A protocol bug tends to leave a call waiting forever: fail instead of hanging the run. */
export const TIMEOUT_MS = 5000;

export type Json = Record<string, unknown>;

export const GREETING = {
  QMP: {
    version: { qemu: { micro: 22, minor: 2, major: 7 }, package: 'Debian 1:7.2+dfsg-7' },
    capabilities: ['oob'],
  },
};

export function event(name: string, data?: Json): Json {
  return { timestamp: { seconds: 1700000000, microseconds: 5 }, event: name, ...(data ? { data } : {}) };
}

/** One client connection to the fake QEMU: every command it received, and a way to answer. */
export class Peer {
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

export interface FakeQemuOptions {
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
export function socketPath(): string {
  return path.join(dir, `qmp-${counter++}.sock`);
}

export async function fakeQemu(
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

export interface QmpSession {
  file: string;
  qemu: Awaited<ReturnType<typeof fakeQemu>>;
  qmp: QmpClient;
  /** The fake QEMU's side of the connection qmp made. */
  peer: Peer;
}

/**
 * Starts a fake QEMU on a fresh socket, connects a QmpClient to it and runs body; afterwards,
 * even when body throws, closes the client (a no-op if it is already disconnected) and QEMU.
 */
export async function withQmp<T>(
  opts: FakeQemuOptions,
  body: (session: QmpSession) => Promise<T>,
): Promise<T> {
  const file = socketPath();
  const qemu = await fakeQemu(file, opts);
  try {
    const qmp = await QmpClient.connect(file, { timeoutMs: 2000 });
    try {
      return await body({ file, qemu, qmp, peer: await qemu.peer });
    } finally {
      await qmp.close();
    }
  } finally {
    await qemu.close();
  }
}
