// LabSession as a state machine, over fake QEMU processes: every transition it makes, the races
// between stop and reset, how QEMU's exits are followed, stale callbacks, the hardware
// watchdog's fallback, and the console size.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { AcceleratorPolicy } from '../../src/boot-watchdog.ts';
import { Deferred, kvm, makeSession, settle, silentKvmPolicy, winsize, untilState } from './fake-process.ts';

test('start: booting → ready, the boot steps, and the size known at boot applied to the guest tty', async () => {
  const { session, made, states } = makeSession([{ printsAtLaunch: 'farfetchd-lab: init started\r\n' }]);
  await session.resizeConsole(132, 43); // before the boot: remembered
  await session.start();
  assert.deepEqual(states, ['booting', 'ready']);
  const status = session.status();
  assert.deepEqual(
    status.bootSteps.map((s) => s.step),
    ['qemu-started', 'kernel-up', 'init', 'agent-ready'],
  );
  assert.equal(status.stopReason, undefined);
  assert.equal(status.kernelRelease, '6.12.117-farfetch');
  assert.equal(made.length, 1);
  assert.deepEqual(made[0]!.spec.disk, { kind: 'fresh' });
  assert.deepEqual([made[0]!.spec.cols, made[0]!.spec.rows], [132, 43]);
  assert.deepEqual(made[0]!.commands, [winsize(43, 132)]);
  await assert.rejects(session.start(), /^Error: cannot start: the machine is ready$/);
});

test('noTerminal (exec): the console is never sized, at the boot or later', async () => {
  const { session, made } = makeSession([], { noTerminal: true });
  await session.start();
  await session.resizeConsole(80, 24);
  assert.deepEqual(made[0]!.commands, []);
  await session.stop();
});

test('stop: ready → stopping → stopped, the process disposed, no stop reason', async () => {
  const { session, made, states } = makeSession();
  await session.start();
  await session.stop();
  assert.deepEqual(states, ['booting', 'ready', 'stopping', 'stopped']);
  assert.equal(made[0]!.disposed, true);
  assert.equal(session.status().stopReason, undefined);
  await session.stop(); // stopping a stopped machine does nothing
  assert.deepEqual(states, ['booting', 'ready', 'stopping', 'stopped']);
  await assert.rejects(session.run('true', []), /^Error: the guest is not ready \(it is stopped\)$/);
});

test('the workspace is mounted at every boot', async () => {
  const { session, made } = makeSession([], { workspace: '/home/s/ws' });
  await session.start();
  assert.equal(made[0]!.spec.workspace, '/home/s/ws');
  // lab-settle run directly, making /root/work itself and sizing the console: one program (no
  // clock: a booted guest's is right). The size it set is not set again.
  assert.deepEqual(made[0]!.commands, [
    'lab-settle --mount workspace /root/work 9p trans=virtio,version=9p2000.L,msize=262144,cache=none --winsize 40 120',
  ]);
});

test('guest poweroff: ready → stopped, saying why, and the process is gone', async () => {
  const { session, made, states } = makeSession();
  await session.start();
  const stopped = untilState(session, 'stopped');
  made[0]!.exit({ code: 0, signal: null, shutdownReason: 'guest-shutdown' });
  const status = await stopped;
  assert.equal(status.stopReason, 'the guest powered off');
  assert.equal(status.crash, undefined);
  assert.deepEqual(states, ['booting', 'ready', 'stopped']);
  assert.equal(made[0]!.disposed, true);
  // Starting again clears the reason.
  await session.start();
  assert.equal(session.status().stopReason, undefined);
});

test('guest reboot: ready → booting → ready on a new process that adopts the old disk, workspace remounted', async () => {
  const { session, made, states } = makeSession([], { workspace: '/home/s/ws' });
  await session.start();
  const old = made[0]!;
  const rebooting = untilState(session, 'booting');
  old.exit({ code: 0, signal: null, shutdownReason: 'guest-reset' });
  await rebooting;
  await untilState(session, 'ready');
  assert.deepEqual(states, ['booting', 'ready', 'booting', 'ready']);
  assert.equal(made.length, 2);
  assert.deepEqual(made[1]!.spec.disk, { kind: 'adopt', file: '/fake/run-0-overlay.qcow2' });
  assert.equal(old.disposed, true);
  assert.equal(made[1]!.disposed, false);
  assert.deepEqual(made[1]!.commands, [
    'lab-settle --mount workspace /root/work 9p trans=virtio,version=9p2000.L,msize=262144,cache=none --winsize 40 120',
  ]);
  assert.equal(session.status().stopReason, undefined);
});

test('QEMU killed: ready → crashed with the reason; reset → ready on a fresh disk', async () => {
  const { session, made, states } = makeSession();
  const crashes: string[] = [];
  session.on('crash', (c) => crashes.push(`${c.kind}: ${c.headline}`));
  await session.start();
  const crashed = untilState(session, 'crashed');
  made[0]!.exit({ code: null, signal: 'SIGKILL' });
  const status = await crashed;
  assert.equal(status.stopReason, 'QEMU was killed (SIGKILL)');
  assert.equal(status.crash?.kind, 'qemu-exit');
  assert.deepEqual(crashes, ['qemu-exit: QEMU was killed (SIGKILL)']);
  assert.equal(made[0]!.disposed, true);
  await session.reset();
  assert.deepEqual(states, ['booting', 'ready', 'crashed', 'stopping', 'stopped', 'booting', 'ready']);
  assert.equal(session.status().crash, undefined);
  assert.equal(session.status().stopReason, undefined);
  assert.deepEqual(made[1]!.spec.disk, { kind: 'fresh' });
});

test('QEMU exiting with an error: ready → crashed, "QEMU exited (code 1)"', async () => {
  const { session, made } = makeSession();
  await session.start();
  const crashed = untilState(session, 'crashed');
  made[0]!.exit({ code: 1, signal: null });
  assert.equal((await crashed).stopReason, 'QEMU exited (code 1)');
});

test('a kernel crash on the kernel log: ready → crashed; then a QEMU kill keeps the kernel crash', async () => {
  const { session, made, states } = makeSession();
  await session.start();
  const crash = new Promise((resolve) => session.once('crash', resolve));
  made[0]!.kernel('[    5.000000] Kernel panic - not syncing: sysrq triggered crash\n');
  await crash;
  assert.equal(session.status().crash?.kind, 'panic');
  made[0]!.exit({ code: null, signal: 'SIGKILL' });
  await settle();
  await settle();
  assert.equal(session.status().crash?.kind, 'panic');
  assert.equal(session.status().stopReason, 'QEMU was killed (SIGKILL)');
  assert.deepEqual(states, ['booting', 'ready', 'crashed']);
});

test('QEMU exiting while booting: the boot fails, stopped with the error', async () => {
  const { session, made, states } = makeSession([{ agentAnswers: false }]);
  const starting = session.start();
  await settle();
  made[0]!.exit({ code: 1, signal: null });
  await assert.rejects(starting, /^LabBootError: the guest did not boot: QEMU exited \(code 1\)$/);
  assert.deepEqual(states, ['booting', 'stopped']);
  assert.equal(session.status().error, 'QEMU exited (code 1)');
  assert.equal(made[0]!.disposed, true);
});

test('stop during boot interrupts it: stopped at once, nothing left, no error', async () => {
  const { session, made, states } = makeSession([{ agentAnswers: false }]);
  const starting = session.start();
  await settle();
  assert.equal(made[0]!.launched, true);
  await session.stop();
  await assert.rejects(starting, /^LabBootError: the boot was cancelled: the machine was stopped$/);
  assert.deepEqual(states, ['booting', 'stopping', 'stopped']);
  assert.equal(made[0]!.disposed, true);
  assert.equal(session.status().error, undefined);
  assert.equal(session.status().stopReason, undefined);
});

test('stop and reset pressed at once during a boot run one after the other: ready on one process', async () => {
  const { session, made, states } = makeSession([{ agentAnswers: false }]);
  const starting = session.start();
  await settle();
  const [stop, reset] = [session.stop(), session.reset()];
  await Promise.all([stop, reset, starting.catch(() => undefined)]);
  assert.deepEqual(states, ['booting', 'stopping', 'stopped', 'booting', 'ready']);
  assert.equal(made.length, 2);
  assert.deepEqual(
    made.map((p) => p.disposed),
    [true, false],
  );
});

test("reset and stop pressed at once when ready: the stop voids the reset's boot, everything disposed", async () => {
  const { session, made, states } = makeSession();
  await session.start();
  const [reset, stop] = [session.reset(), session.stop()];
  await assert.rejects(reset, /^LabBootError: the boot was cancelled: the machine was stopped$/);
  await stop;
  assert.deepEqual(states, ['booting', 'ready', 'stopping', 'stopped']);
  assert.deepEqual(
    made.map((p) => p.disposed),
    [true],
  );
});

test('loadModule and stop never interleave: the module loads, then the machine stops', async () => {
  const { session, made } = makeSession();
  await session.start();
  const order: string[] = [];
  const loading = session.loadModule('p1').then(() => order.push(`loaded ${session.status().loadedModule}`));
  const stopping = session.stop().then(() => order.push(`stopped ${session.status().state}`));
  await Promise.all([loading, stopping]);
  assert.deepEqual(order, ['loaded p1', 'stopped stopped']);
  assert.match(made[0]!.commands.at(-1)!, /farfetch_p1/);
});

test('a retired process is not heard from again: no console, no exit, no crash', async () => {
  const { session, made, states } = makeSession();
  const seen: string[] = [];
  session.on('console', (d) => seen.push(d));
  await session.start();
  made[0]!.print('live\n');
  await session.stop();
  made[0]!.print('stale\n');
  made[0]!.kernel('[    9.000000] Kernel panic - not syncing: stale\n');
  made[0]!.exit({ code: null, signal: 'SIGKILL' });
  await settle();
  assert.deepEqual(seen, ['live\n']);
  assert.deepEqual(states, ['booting', 'ready', 'stopping', 'stopped']);
  assert.equal(session.status().crash, undefined);
});

test('reset during the first boot warm-up: the warm-up process goes, no snapshot is half-made', async () => {
  const cache = await mkdtemp(path.join(os.tmpdir(), 'lab-unit-cache-'));
  try {
    const { session, made, states } = makeSession(
      [{ agentAnswers: false, overlayDir: cache }],
      { warmBoot: true, env: { ...process.env, FARFETCHD_LAB_CACHE: cache } },
      { overlayDir: cache },
    );
    const starting = session.start();
    await settle();
    assert.equal(made.length, 1); // the warm-up
    // Typed while the warm-up runs: never into it (its snapshot would replay it at every start).
    session.writeConsole('typed too early\n');
    assert.deepEqual(made[0]!.written, []);
    await session.reset();
    await starting.catch(() => undefined);
    assert.equal(made[0]!.disposed, true);
    assert.equal(made[0]!.savedSnapshot, undefined);
    // The reset made the warm state (process 1), then booted from it (process 2).
    assert.equal(made[1]!.savedSnapshot, 'lab-ready');
    assert.equal(made[1]!.disposed, true);
    assert.equal(made[2]!.spec.disk.kind, 'snapshot');
    assert.deepEqual(states, ['booting', 'stopping', 'stopped', 'booting', 'ready']);
    await session.stop();
    // Only the warm state itself is left in the cache (no half-written copy), and the overlays.
    const left = (await readdir(cache)).sort();
    assert.equal(left.filter((f) => f.startsWith('warm-')).length, 1);
    assert.match(
      left.find((f) => f.startsWith('warm-'))!,
      /^warm-feedface-[0-9a-f]{8}-tcg-512-2-nows\.qcow2$/,
    );
  } finally {
    await rm(cache, { recursive: true, force: true });
  }
});

test('a hardware boot that stays silent is abandoned for TCG, with the reason shown', async () => {
  const { accelerators, fallback, failures } = silentKvmPolicy(
    'KVM did not boot the guest on this machine: no console output in 0.05 s',
  );
  // The KVM process never prints and its agent never answers; the TCG one boots.
  const { session, made } = makeSession([{ agentAnswers: false }, {}], {
    accelerator: undefined,
    accelerators,
  });
  await session.start();
  assert.deepEqual(failures, ['kvm: no console output in 0.05 s']);
  assert.deepEqual(
    made.map((p) => [p.spec.accel, p.disposed]),
    [
      ['kvm', true],
      ['tcg', false],
    ],
  );
  assert.deepEqual(session.status().accelerator, fallback);
  assert.equal(session.status().state, 'ready');
});

test('a hardware boot that prints is not abandoned, however long its agent takes', async () => {
  const accelerators: AcceleratorPolicy = {
    detect: async () => kvm,
    bootFailed: async () => assert.fail('the watchdog fired'),
    watchdogMs: 1,
  };
  const { session, made } = makeSession(
    [{ agentAnswers: false, printsAtLaunch: 'farfetchd-lab: init started\n' }],
    {
      accelerator: undefined,
      accelerators,
    },
  );
  const starting = session.start();
  await new Promise((resolve) => setTimeout(resolve, 20)); // well past the watchdog
  made[0]!.agentSync.resolve();
  await starting;
  assert.equal(made.length, 1);
  assert.equal(session.status().accelerator, kvm);
});

test('resizes are coalesced: one size command in flight, then only the last size', async () => {
  let hold: Deferred | undefined;
  const { session, made } = makeSession([{ onCommand: () => hold?.promise }]);
  await session.start();
  hold = new Deferred();
  const resizes = [
    session.resizeConsole(80, 24),
    session.resizeConsole(90, 25),
    session.resizeConsole(100, 26),
    session.resizeConsole(110, 27),
  ];
  await settle();
  assert.deepEqual(made[0]!.commands, [winsize(40, 120), winsize(24, 80)]);
  const first = hold;
  hold = undefined;
  first.resolve();
  await Promise.all(resizes);
  assert.deepEqual(made[0]!.commands, [winsize(40, 120), winsize(24, 80), winsize(27, 110)]);
  await session.resizeConsole(110, 27); // already the guest's size: no command
  assert.equal(made[0]!.commands.length, 3);
});

test('after an oops only runAfterOops reaches the guest (it runs on); after a panic nothing does', async () => {
  const { session, made } = makeSession();
  await session.start();
  const crash = new Promise((resolve) => session.once('crash', resolve));
  made[0]!.kernel('[    5.000000] BUG: kernel NULL pointer dereference, address: 0000000000000000\n');
  made[0]!.kernel('[    5.000001] Oops: Oops: 0002 [#1] PREEMPT SMP NOPTI\n');
  await crash;
  assert.equal(session.status().crash?.kind, 'oops');
  await assert.rejects(session.run('true', []), /^Error: the guest is not ready \(it is crashed\)$/);
  const before = made[0]!.commands.length;
  assert.equal((await session.runAfterOops('/bin/sh', ['-c', 'true'])).exitCode, 0);
  assert.equal(made[0]!.commands.length, before + 1);

  const panicked = makeSession();
  await panicked.session.start();
  const panic = new Promise((resolve) => panicked.session.once('crash', resolve));
  panicked.made[0]!.kernel('[    5.000000] Kernel panic - not syncing: sysrq triggered crash\n');
  await panic;
  await assert.rejects(
    panicked.session.runAfterOops('/bin/sh', ['-c', 'true']),
    /^Error: the guest is not ready \(it is crashed\)$/,
  );
});
