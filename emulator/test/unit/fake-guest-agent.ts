// A fake qemu-ga on a unix socket for the GuestAgent tests. It behaves as qemu-ga 7.2 does
// (checked against the real binary): a 0xFF byte makes it drop any partial input and answer
// with a JSON parse error; guest-sync-delimited is answered with 0xFF + {"return": id}. Like
// QEMU's virtio-serial chardev, it can hold everything we write until the agent "starts".
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import { GuestAgent } from '../../src/guest-agent.ts';
/** A protocol bug tends to leave a call waiting forever: fail instead of hanging the run. */
export const TIMEOUT_MS = 5000;

export type Json = Record<string, unknown>;
export type Handler = (agent: FakeAgent, command: string, args: Json) => void;

export const PARSE_ERROR = { error: { class: 'GenericError', desc: "JSON parse error, stray '\uFFFD'" } };

/**
 * Like qemu-ga, the fake handles one request at a time, in the order received: the next one
 * (a sync included) is looked at only after the current one has been answered.
 */
export class FakeAgent {
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

  /**
   * The guest was restored from a snapshot taken while its agent was idle: the request being
   * handled, and whatever was read but not yet handled, are forgotten unanswered.
   */
  restore(): void {
    this.busy = false;
    this.inbox.length = 0;
    this.partial = Buffer.alloc(0);
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

/** A fresh socket path in this file's temporary folder. */
export function nextSocketPath(): string {
  return path.join(dir, `ga-${counter++}.sock`);
}

export const okHandler: Handler = (agent) => agent.reply({ return: {} });

export async function setup(
  handler: Handler = okHandler,
  opts: { up?: boolean; syncDelayMs?: number; requestTimeoutMs?: number } = {},
): Promise<{ agent: FakeAgent; client: GuestAgent; done: () => Promise<void> }> {
  const file = nextSocketPath();
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
