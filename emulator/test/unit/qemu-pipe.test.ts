// The pipe transport's host end (qemu-pipe.ts) against a stand-in for QEMU that opens the FIFOs
// exactly as QEMU's char-pipe.c does outside Windows (P.in and P.out, both O_RDWR), and the
// transport's choice and naming (qemu-transport.ts). The real QEMU: integration/pipe-transport.
import assert from 'node:assert/strict';
import { closeSync, constants, openSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fifoPaths, makeFifos, openQemuPipe, windowsPipePath } from '../../src/qemu-pipe.ts';
import { channelEndpoints, chooseTransport } from '../../src/qemu-transport.ts';

const posix = process.platform !== 'win32';
let dir: string;

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'qemu-pipe-test-'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** What QEMU does: open P.in and P.out read-write (never blocks, never sees an end of file). */
function fakeQemu(base: string): { fromHost: net.Socket; toHost: net.Socket; exit(): void } {
  const { toQemu, fromQemu } = fifoPaths(base);
  const inFd = openSync(toQemu, constants.O_RDWR);
  const outFd = openSync(fromQemu, constants.O_RDWR);
  const fromHost = new net.Socket({ fd: inFd, readable: true, writable: false });
  const toHost = new net.Socket({ fd: outFd, readable: false, writable: true });
  return {
    fromHost,
    toHost,
    exit() {
      fromHost.destroy();
      toHost.destroy();
    },
  };
}

test('makeFifos: two FIFOs, owner-only', { skip: !posix && 'FIFOs' }, async () => {
  const base = path.join(dir, 'modes');
  await makeFifos(base);
  for (const file of [`${base}.in`, `${base}.out`]) {
    const info = await stat(file);
    assert.equal(info.isFIFO(), true);
    assert.equal(info.mode & 0o777, 0o600);
  }
});

test(
  'openQemuPipe waits for QEMU to open its FIFOs, then carries bytes both ways until QEMU exits',
  { skip: !posix && 'FIFOs' },
  async () => {
    const base = path.join(dir, 'qmp');
    await makeFifos(base);
    const opening = openQemuPipe(base, { platform: process.platform, deadline: Date.now() + 10_000 });
    // QEMU starts a little later.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const qemu = fakeQemu(base);
    const host = await opening;
    const heardByQemu = new Promise<string>((resolve) =>
      qemu.fromHost.once('data', (d: Buffer) => resolve(d.toString())),
    );
    host.write('{"execute":"qmp_capabilities"}\n');
    assert.equal(await heardByQemu, '{"execute":"qmp_capabilities"}\n');

    let heard = '';
    host.on('data', (d: Buffer) => (heard += d.toString()));
    const ended = new Promise<void>((resolve) => host.once('end', resolve));
    qemu.toHost.write('{"return": {}}\n', () => qemu.exit());
    // The end of file comes after the last bytes QEMU wrote, as a socket's close does.
    await ended;
    assert.equal(heard, '{"return": {}}\n');
    host.destroy();
  },
);

test(
  'openQemuPipe gives up at the deadline, or at once when aborted',
  { skip: !posix && 'FIFOs' },
  async () => {
    const base = path.join(dir, 'nobody');
    await makeFifos(base);
    await assert.rejects(openQemuPipe(base, { platform: process.platform, deadline: Date.now() + 50 }), {
      message: `QEMU did not open ${base}.in`,
    });
    const stop = new AbortController();
    const opening = openQemuPipe(base, {
      platform: process.platform,
      deadline: Date.now() + 60_000,
      signal: stop.signal,
    });
    stop.abort();
    await assert.rejects(opening, { message: `gave up waiting for QEMU to open ${base}.in` });
    // No FIFOs at all (the run folder was removed): the open error as it is.
    await assert.rejects(
      openQemuPipe(path.join(dir, 'missing'), { platform: process.platform, deadline: Date.now() + 1000 }),
      {
        code: 'ENOENT',
      },
    );
  },
);

test(
  'a host write after QEMU exited fails (EPIPE) and ends the stream',
  { skip: !posix && 'FIFOs' },
  async () => {
    const base = path.join(dir, 'agent');
    await makeFifos(base);
    const qemu = fakeQemu(base);
    const host = await openQemuPipe(base, { platform: process.platform, deadline: Date.now() + 10_000 });
    host.on('data', () => undefined);
    qemu.exit();
    const failed = new Promise<NodeJS.ErrnoException>((resolve) => host.once('error', resolve));
    host.write('guest-sync\n');
    assert.equal((await failed).code, 'EPIPE');
    assert.equal(host.destroyed, true);
    // The stand-in's fds are closed: a write-only open now finds no reader.
    assert.throws(() => closeSync(openSync(`${base}.in`, constants.O_WRONLY | constants.O_NONBLOCK)), {
      code: 'ENXIO',
    });
  },
);

test('windowsPipePath: QEMU prefixes \\\\.\\pipe\\ to the name it is given', () => {
  assert.equal(windowsPipePath('farfetchd-lab-ab-qmp'), '\\\\.\\pipe\\farfetchd-lab-ab-qmp');
});

test('chooseTransport: pipes on Windows always; elsewhere sockets unless asked', () => {
  assert.equal(chooseTransport('win32', {}), 'pipe');
  assert.equal(chooseTransport('linux', {}), 'socket');
  assert.equal(chooseTransport('darwin', { FARFETCHD_LAB_TRANSPORT: '' }), 'socket');
  assert.equal(chooseTransport('linux', { FARFETCHD_LAB_TRANSPORT: 'pipe' }), 'pipe');
  assert.equal(chooseTransport('linux', { FARFETCHD_LAB_TRANSPORT: 'socket' }, 'pipe'), 'pipe');
  assert.throws(() => chooseTransport('linux', { FARFETCHD_LAB_TRANSPORT: 'tcp' }), {
    message: 'FARFETCHD_LAB_TRANSPORT must be socket or pipe (got tcp); unset it for the default',
  });
  assert.throws(() => chooseTransport('win32', { FARFETCHD_LAB_TRANSPORT: 'socket' }), {
    message: 'the socket transport does not exist on Windows: use pipe',
  });
});

test('channelEndpoints: files in the run folder; on Windows unguessable pipe names', () => {
  assert.deepEqual(channelEndpoints('socket', '/run/lab', 'linux'), {
    qmp: { kind: 'unix', path: '/run/lab/qmp.sock' },
    agent: { kind: 'unix', path: '/run/lab/agent.sock' },
    kernelLog: { kind: 'unix', path: '/run/lab/kernel-log.sock' },
  });
  assert.deepEqual(channelEndpoints('pipe', '/run/lab', 'linux'), {
    qmp: { kind: 'pipe', path: '/run/lab/qmp' },
    agent: { kind: 'pipe', path: '/run/lab/agent' },
    kernelLog: { kind: 'pipe', path: '/run/lab/kernel-log' },
    console: { kind: 'pipe', path: '/run/lab/console' },
  });
  let n = 0;
  const win = channelEndpoints('pipe', 'C:\\Temp\\farfetchd-lab-x', 'win32', () => `r${n++}`);
  assert.deepEqual(win, {
    qmp: { kind: 'pipe', path: 'farfetchd-lab-r0-qmp' },
    agent: { kind: 'pipe', path: 'farfetchd-lab-r1-agent' },
    kernelLog: { kind: 'pipe', path: 'farfetchd-lab-r2-kernel-log' },
    console: { kind: 'pipe', path: 'farfetchd-lab-r3-console' },
  });
  // The default names carry 128 random bits each, all different.
  const names = Object.values(channelEndpoints('pipe', 'C:\\Temp', 'win32')).map((e) => e.path);
  assert.equal(new Set(names).size, 4);
  for (const name of names) assert.match(name, /^farfetchd-lab-[0-9a-f]{32}-[a-z-]+$/);
});
