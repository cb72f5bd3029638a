// Loopback wire helpers for the serve tests: raw TCP exchanges, HTTP and WebSocket handshakes
// written by hand (so that they can be wrong in every way), client frames, and the server's frames.
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import WebSocket from 'ws';

/** mulberry32: small, seedable, good enough to pick inputs. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Writes `data` on a fresh connection and returns all the server sent back until it closed.
 * `hangUp` half-closes our side after writing, for inputs the server would otherwise wait on
 * (an HTTP request is sent with `Connection: close` instead: a half-close could cut a response
 * still being streamed).
 */
export function exchange(port: number, data: Buffer | string, hangUp: boolean): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', (err) =>
      (err as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(err),
    );
    socket.on('close', () => resolve(Buffer.concat(chunks)));
    if (hangUp) socket.end(data);
    else socket.write(data);
  });
}

/** The status code of the first response in `reply`, or 0 when there is none. */
export function statusOf(reply: Buffer): number {
  return Number(/^HTTP\/1\.[01] (\d{3}) /.exec(reply.toString('latin1'))?.[1] ?? 0);
}

export function httpRequest(
  port: number,
  method: string,
  target: string,
  headers: Record<string, string | undefined>,
) {
  const lines = [`${method} ${target} HTTP/1.1`];
  const all: Record<string, string | undefined> = {
    Host: `127.0.0.1:${port}`,
    Connection: 'close',
    ...headers,
  };
  for (const [name, value] of Object.entries(all)) if (value !== undefined) lines.push(`${name}: ${value}`);
  return exchange(port, lines.join('\r\n') + '\r\n\r\n', false);
}

const wsKey = () => randomBytes(16).toString('base64');

export function upgradeRequest(
  port: number,
  target: string,
  headers: Record<string, string | undefined> = {},
) {
  return [
    `GET ${target} HTTP/1.1`,
    ...Object.entries({
      Host: `127.0.0.1:${port}`,
      Upgrade: 'websocket',
      Connection: 'Upgrade',
      'Sec-WebSocket-Key': wsKey(),
      'Sec-WebSocket-Version': '13',
      ...headers,
    })
      .filter(([, value]) => value !== undefined)
      .map(([name, value]) => `${name}: ${value}`),
    '',
    '',
  ].join('\r\n');
}

export interface FrameSpec {
  fin?: boolean;
  rsv?: number;
  opcode: number;
  payload?: Buffer;
  masked?: boolean;
  /** A length field that lies about the payload. */
  length?: number | bigint;
}

/** One WebSocket frame as a client sends it (masked unless told otherwise). */
export function frame({
  fin = true,
  rsv = 0,
  opcode,
  payload = Buffer.alloc(0),
  masked = true,
  length,
}: FrameSpec) {
  const declared = length ?? payload.length;
  const head = [(fin ? 0x80 : 0) | (rsv << 4) | opcode];
  const maskBit = masked ? 0x80 : 0;
  let extended = Buffer.alloc(0);
  if (typeof declared === 'bigint' || declared > 0xffff) {
    head.push(maskBit | 127);
    extended = Buffer.alloc(8);
    extended.writeBigUInt64BE(BigInt(declared));
  } else if (declared > 125) {
    head.push(maskBit | 126);
    extended = Buffer.alloc(2);
    extended.writeUInt16BE(declared);
  } else {
    head.push(maskBit | declared);
  }
  const mask = masked ? randomBytes(4) : Buffer.alloc(0);
  const body = Buffer.from(payload);
  if (masked) for (let i = 0; i < body.length; i++) body[i] ^= mask[i % 4];
  return Buffer.concat([Buffer.from(head), extended, mask, body]);
}

/** The frames a server sent (unmasked), after its handshake response. */
export function serverFrames(data: Buffer): { opcode: number; payload: Buffer }[] {
  const frames: { opcode: number; payload: Buffer }[] = [];
  let at = data.indexOf('\r\n\r\n') + 4;
  while (at + 2 <= data.length) {
    const opcode = data[at] & 0x0f;
    let length = data[at + 1] & 0x7f;
    let start = at + 2;
    if (length === 126) {
      length = data.readUInt16BE(start);
      start += 2;
    } else if (length === 127) {
      length = Number(data.readBigUInt64BE(start));
      start += 8;
    }
    frames.push({ opcode, payload: data.subarray(start, start + length) });
    at = start + length;
  }
  return frames;
}

/** The close code of the server's close frame, or null when it sent none. */
export function closeCode(data: Buffer): number | null {
  const close = serverFrames(data).find((f) => f.opcode === 0x8);
  return close && close.payload.length >= 2 ? close.payload.readUInt16BE(0) : null;
}

/** A client that sends one message at a time and returns the next reply (events skipped). */
export async function apiClient(url: string) {
  const ws = new WebSocket(url);
  const replies: unknown[] = [];
  let wake: (() => void) | undefined;
  ws.on('message', (data) => {
    const message = JSON.parse(data.toString()) as Record<string, unknown>;
    if ('event' in message) return;
    replies.push(message);
    wake?.();
  });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  return {
    async call(message: string | Buffer, binary = false): Promise<unknown> {
      ws.send(message, { binary });
      while (replies.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      return replies.shift();
    },
    close: () => ws.close(),
  };
}
