// QmpClient against a real QEMU (an empty `-machine none`: no guest, starts in milliseconds).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { findQemu, readQemuVersion } from '../../src/accel.ts';
import { QmpClient, QmpCommandError, QmpDisconnectedError, type QmpEvent } from '../../src/qmp.ts';

function qemuBinary(): string | undefined {
  try {
    return findQemu();
  } catch {
    return undefined;
  }
}

const qemu = qemuBinary();

test(
  'QMP with a real QEMU: greeting, query-version, errors, quit',
  { skip: !qemu && 'QEMU is not installed' },
  async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'qmp-real-'));
    const socket = path.join(dir, 'qmp.sock');
    let child: ChildProcess | undefined;
    try {
      child = spawn(
        qemu as string,
        ['-machine', 'none', '-nodefaults', '-display', 'none', '-qmp', `unix:${socket},server=on,wait=off`],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let stderr = '';
      child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((resolve) => child?.on('exit', (code) => resolve(code)));

      // Connect races QEMU creating the socket: connect() must wait for it.
      const qmp = await QmpClient.connect(socket, { timeoutMs: 10_000 });
      assert.equal(existsSync(socket), true);
      // The version this binary prints itself ("QEMU emulator version 7.2.22 (Debian …)").
      const printed = /^QEMU emulator version (\d+)\.(\d+)\.(\d+)/.exec((await readQemuVersion(qemu!)) ?? '');
      assert.ok(printed, 'qemu --version printed no version');
      const [major, minor, micro] = printed.slice(1).map(Number);
      assert.deepEqual(qmp.greeting.QMP.version.qemu, { major, minor, micro }, JSON.stringify(qmp.greeting));
      assert.ok(Array.isArray(qmp.greeting.QMP.capabilities));

      const version = await qmp.execute<{
        qemu: { major: number; minor: number; micro: number };
        package: string;
      }>('query-version');
      assert.deepEqual(version.qemu, { major, minor, micro });

      await assert.rejects(qmp.execute('no-such-command'), (err: Error) => {
        assert.ok(err instanceof QmpCommandError);
        assert.equal(err.class, 'CommandNotFound');
        assert.equal(err.desc, 'The command no-such-command has not been found');
        return true;
      });
      // A command error leaves the connection usable.
      assert.deepEqual(await qmp.execute('query-status'), {
        status: 'running',
        singlestep: false,
        running: true,
      });
      // HMP's `info version` prints major.minor.micro and the package string, run together.
      assert.equal(
        await qmp.humanMonitorCommand('info version'),
        `${major}.${minor}.${micro}${version.package}\r\n`,
      );

      const events: QmpEvent[] = [];
      qmp.onEvent((e) => events.push(e));
      const shutdown = qmp.waitForEvent('SHUTDOWN', { timeoutMs: 5000 });
      assert.deepEqual(await qmp.execute('quit'), {});
      assert.deepEqual((await shutdown).data, { guest: false, reason: 'host-qmp-quit' });
      // QEMU has left its main loop: what we send now stays pending until the socket closes,
      // and the client must then reject it rather than leave the caller waiting. (Commands
      // sent before `quit` is answered are not used: if QEMU closes while we are still
      // writing, the write fails with EPIPE and the unread reply to `quit` is lost with it.)
      const pending = [qmp.execute('query-status'), qmp.execute('query-version')];
      const settled = await Promise.allSettled(pending);
      await qmp.closed;
      assert.equal(qmp.runstate, 'disconnected');
      for (const r of settled) {
        assert.equal(r.status, 'rejected');
        assert.ok(r.reason instanceof QmpDisconnectedError, String(r.reason));
      }
      assert.deepEqual(
        events.map((e) => e.event),
        ['SHUTDOWN'],
      );
      await assert.rejects(qmp.execute('query-status'), QmpDisconnectedError);
      assert.equal(await exited, 0, stderr);
    } finally {
      if (child && child.exitCode === null) child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  },
);

test(
  'QMP with a real QEMU that dies mid-call: every pending call is rejected',
  { skip: !qemu && 'QEMU is not installed' },
  async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'qmp-real-'));
    const socket = path.join(dir, 'qmp.sock');
    const child = spawn(
      qemu as string,
      ['-machine', 'none', '-nodefaults', '-display', 'none', '-qmp', `unix:${socket},server=on,wait=off`],
      { stdio: 'ignore' },
    );
    try {
      const exited = new Promise((resolve) => child.on('exit', resolve));
      const qmp = await QmpClient.connect(socket, { timeoutMs: 10_000 });
      // Frozen, QEMU cannot answer: these calls are certainly pending when it dies.
      child.kill('SIGSTOP');
      const calls = [
        qmp.execute('query-status'),
        qmp.execute('query-kvm'),
        qmp.humanMonitorCommand('info status'),
      ];
      const early = await Promise.race([
        Promise.allSettled(calls),
        new Promise((resolve) => setTimeout(() => resolve('pending'), 200)),
      ]);
      assert.equal(early, 'pending');
      child.kill('SIGKILL');
      await exited;
      for (const r of await Promise.allSettled(calls)) {
        assert.equal(r.status, 'rejected');
        assert.ok(r.reason instanceof QmpDisconnectedError, String(r.reason));
        // Killed with our unread commands in its socket, QEMU's end resets the connection.
        assert.match(
          (r.reason as Error).message,
          /^QMP connection (closed by QEMU|failed: read ECONNRESET)$/,
        );
      }
      assert.equal(qmp.runstate, 'disconnected');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  },
);
