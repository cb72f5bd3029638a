// `run`'s attachment to the console, against a fake session: Ctrl-] detaches; the machine ending
// by itself (QEMU exited) ends `run` with one line; a crash QEMU survives keeps it attached.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import type { CrashInfo, VmStatus } from '../../src/api.ts';
import { attachConsole, endOfRun } from '../../src/cli-run.ts';

class FakeSession extends EventEmitter<{ console: [string]; status: [VmStatus]; crash: [CrashInfo] }> {
  typed: string[] = [];
  writeConsole(data: string): void {
    this.typed.push(data);
  }
}

function status(state: VmStatus['state'], stopReason?: string, error?: string): VmStatus {
  return {
    state,
    bootSteps: [],
    uptimeMs: null,
    loadedModule: 'none',
    ...(stopReason ? { stopReason } : {}),
    ...(error ? { error } : {}),
  };
}

function setup() {
  const session = new FakeSession();
  const input = new PassThrough();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let shown = '';
  let said = '';
  stdout.on('data', (d) => (shown += d));
  stderr.on('data', (d) => (said += d));
  const attached = attachConsole(session, input, { stdout, stderr });
  const listeners = () =>
    session.listenerCount('console') +
    session.listenerCount('status') +
    session.listenerCount('crash') +
    input.listenerCount('data');
  return { session, input, attached, listeners, text: () => ({ shown, said }) };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

test('keystrokes go to the guest, its console to stdout; Ctrl-] detaches after the bytes before it', async () => {
  const { session, input, attached, listeners, text } = setup();
  session.emit('console', 'login: ');
  input.write('ls\r');
  input.write(Buffer.from('pwd\x1dnot sent'));
  assert.deepEqual(await attached, { kind: 'detached' });
  assert.deepEqual(session.typed, ['ls\r', 'pwd']);
  assert.equal(text().shown, 'login: ');
  assert.equal(listeners(), 0, 'listeners left behind');
  assert.deepEqual(endOfRun({ kind: 'detached' }), { message: 'farfetchd-lab: guest stopped', code: 0 });
});

test('the guest powering off ends run by itself, with the reason, exit 0', async () => {
  const { session, attached, listeners } = setup();
  session.emit('status', status('ready'));
  session.emit('status', status('stopped', 'the guest powered off'));
  const end = await attached;
  assert.deepEqual(end, { kind: 'ended', state: 'stopped', reason: 'the guest powered off' });
  assert.deepEqual(endOfRun(end), {
    message: 'farfetchd-lab: guest stopped: the guest powered off',
    code: 0,
  });
  assert.equal(listeners(), 0);
});

test('a guest reboot that fails to boot ends run as a lab failure with the boot error, exit 125', async () => {
  const { session, attached, listeners } = setup();
  session.emit('status', status('ready'));
  session.emit('status', status('booting'));
  session.emit('status', status('stopped', undefined, 'QEMU exited (code 1)'));
  const end = await attached;
  assert.deepEqual(end, { kind: 'ended', state: 'boot-failed', reason: 'QEMU exited (code 1)' });
  assert.deepEqual(endOfRun(end), {
    message: 'farfetchd-lab: lab failure: the guest did not boot: QEMU exited (code 1)',
    code: 125,
  });
  assert.equal(listeners(), 0);
});

test('a failed boot with a stopReason says the stopReason, once', async () => {
  const { session, attached } = setup();
  session.emit(
    'status',
    status('stopped', 'the guest did not boot: QEMU exited (code 1)', 'QEMU exited (code 1)'),
  );
  assert.deepEqual(endOfRun(await attached), {
    message: 'farfetchd-lab: lab failure: the guest did not boot: QEMU exited (code 1)',
    code: 125,
  });
});

test('QEMU dying ends run with the reason, exit 1', async () => {
  const { session, attached } = setup();
  session.emit('status', status('crashed', 'QEMU was killed (SIGKILL)'));
  const end = await attached;
  assert.deepEqual(end, { kind: 'ended', state: 'crashed', reason: 'QEMU was killed (SIGKILL)' });
  assert.deepEqual(endOfRun(end), {
    message: 'farfetchd-lab: guest crashed: QEMU was killed (SIGKILL)',
    code: 1,
  });
});

test('a kernel crash QEMU survives keeps run attached (the log stays readable) until Ctrl-]', async () => {
  const { session, input, attached, text } = setup();
  let ended = false;
  void attached.then(() => (ended = true));
  session.emit('crash', {
    kind: 'panic',
    headline: 'Kernel panic - not syncing: sysrq triggered crash',
    log: '',
    at: '',
  });
  session.emit('status', status('crashed'));
  await tick();
  assert.equal(ended, false);
  assert.equal(
    text().said,
    '\r\nfarfetchd-lab: the guest kernel crashed: Kernel panic - not syncing: sysrq triggered crash. Ctrl-] quits; run again for a clean guest.\r\n',
  );
  input.write('\x1d');
  assert.deepEqual(await attached, { kind: 'detached' });
});
