// KernelLogListener against a plain socket client standing in for QEMU's chardev (which connects
// as a client and writes raw bytes); the real QEMU is in test/integration/crash-spoof.test.ts.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { KernelLogListener } from '../../src/kernel-log.ts';
import type { SocketEndpoint } from '../../src/qemu-args.ts';

async function tempSocket(): Promise<{ dir: string; sock: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kernel-log-test-'));
  return { dir, sock: path.join(dir, 'kernel-log.sock') };
}

function connect(endpoint: SocketEndpoint): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(endpoint.path, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Resolves at the next text the listener hears. */
function nextData(listener: KernelLogListener): Promise<string> {
  return new Promise((resolve) => listener.once('data', resolve));
}

function collect(listener: KernelLogListener): string[] {
  const chunks: string[] = [];
  listener.on('data', (text) => chunks.push(text));
  return chunks;
}

test('everything the peer writes arrives as UTF-8 text, a character split across writes kept whole', async () => {
  const { dir, sock } = await tempSocket();
  const listener = await KernelLogListener.listen({ kind: 'unix', path: sock });
  try {
    assert.deepEqual(listener.endpoint, { kind: 'unix', path: sock });
    const chunks = collect(listener);
    const ended = new Promise<void>((resolve) => listener.once('end', resolve));
    const qemu = await connect(listener.endpoint);
    const euro = Buffer.from('€'); // three bytes
    const heard = nextData(listener);
    qemu.write(Buffer.concat([Buffer.from('[    0.000000] Linux version 6.12 '), euro.subarray(0, 1)]));
    await heard;
    qemu.end(Buffer.concat([euro.subarray(1), Buffer.from('\r\n')]));
    await ended;
    assert.equal(chunks.join(''), '[    0.000000] Linux version 6.12 €\r\n');
    assert.ok(
      chunks.every((c) => !c.includes('\ufffd')),
      JSON.stringify(chunks),
    );
  } finally {
    await listener.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('only the first connection is served: the listener stops listening once QEMU is connected', async () => {
  const { dir, sock } = await tempSocket();
  const listener = await KernelLogListener.listen({ kind: 'unix', path: sock });
  try {
    const chunks = collect(listener);
    const qemu = await connect(listener.endpoint);
    const heard = nextData(listener);
    qemu.write('from qemu\n');
    await heard;
    // Node removes a unix socket's file when it stops listening.
    assert.equal(existsSync(sock), false);
    await assert.rejects(connect(listener.endpoint), { code: 'ENOENT' });
    assert.equal(chunks.join(''), 'from qemu\n');
    qemu.destroy();
  } finally {
    await listener.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('close() removes the socket file and is idempotent', async () => {
  const { dir, sock } = await tempSocket();
  const unused = await KernelLogListener.listen({ kind: 'unix', path: sock });
  assert.equal(existsSync(sock), true);
  await unused.close();
  assert.equal(existsSync(sock), false);
  const listener = await KernelLogListener.listen({ kind: 'unix', path: sock });
  let ended = false;
  listener.on('end', () => (ended = true));
  const qemu = await connect(listener.endpoint);
  const peerClosed = new Promise<void>((resolve) => qemu.once('close', () => resolve()));
  const first = listener.close();
  assert.equal(listener.close(), first);
  await first;
  await peerClosed;
  assert.equal(existsSync(sock), false);
  assert.equal(ended, false, "close() is the owner's doing, not QEMU's: no 'end'");
  await rm(dir, { recursive: true, force: true });
});

test('attach(): the kernel log over a pipe the host opened, ended when QEMU closes it', async () => {
  const stream = new PassThrough();
  const listener = KernelLogListener.attach(stream, { kind: 'pipe', path: 'farfetchd-lab-x-kernel-log' });
  assert.deepEqual(listener.endpoint, { kind: 'pipe', path: 'farfetchd-lab-x-kernel-log' });
  const chunks = collect(listener);
  const ended = new Promise<void>((resolve) => listener.once('end', resolve));
  // A character split across two reads is kept whole.
  const euro = Buffer.from('€\n');
  stream.write(Buffer.concat([Buffer.from('over a pipe '), euro.subarray(0, 1)]));
  stream.end(euro.subarray(1));
  await ended;
  assert.equal(chunks.join(''), 'over a pipe €\n');
  await listener.close();
});

test('a path that is already taken is refused with a one-line reason', async () => {
  const { dir, sock } = await tempSocket();
  const first = await KernelLogListener.listen({ kind: 'unix', path: sock });
  try {
    await assert.rejects(KernelLogListener.listen({ kind: 'unix', path: sock }), {
      message: `cannot listen for the kernel log on ${sock}: listen EADDRINUSE: address already in use ${sock}`,
    });
  } finally {
    await first.close();
    await rm(dir, { recursive: true, force: true });
  }
});
