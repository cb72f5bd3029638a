// Reset in place (session-reset.ts) over fake QEMU processes: when it is tried, what it does to
// the same process (loadvm, the agent's pending requests abandoned, clock, share, console, the
// states it goes through), and every fallback to stop + a new boot.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { inPlaceBlocker } from '../../src/session-reset.ts';
import { Deferred, makeSession, settle, untilState, type FakeBehaviour } from './fake-process.ts';

const PANIC = '[    5.000000] Kernel panic - not syncing: sysrq triggered crash\n';

async function withCache(body: (cache: string, env: NodeJS.ProcessEnv) => Promise<void>): Promise<void> {
  const cache = await mkdtemp(path.join(os.tmpdir(), 'lab-unit-reset-'));
  try {
    await body(cache, { ...process.env, FARFETCHD_LAB_CACHE: cache, FARFETCHD_LAB_DEBUG: '' });
  } finally {
    await rm(cache, { recursive: true, force: true });
  }
}

/** A warm-booted session (process 0 makes the snapshot, process 1 runs from it), panicked. */
async function panickedWarmSession(
  cache: string,
  env: NodeJS.ProcessEnv,
  machine: FakeBehaviour = {},
  workspace: string | null = '/home/s/ws',
) {
  const made = makeSession([{ overlayDir: cache }, { overlayDir: cache, ...machine }], {
    warmBoot: true,
    env,
    ...(workspace ? { workspace } : {}),
  });
  await made.session.start();
  const crashed = untilState(made.session, 'crashed');
  made.made[1]!.kernel(PANIC);
  await crashed;
  made.states.length = 0;
  made.made[1]!.commands.length = 0;
  made.made[1]!.written.length = 0;
  made.made[1]!.events.length = 0;
  return made;
}

const ready = { state: 'ready', running: true, fromWarmSnapshot: true, qemuEnded: false } as const;

test('inPlaceBlocker: only a ready or crashed machine from the snapshot whose QEMU runs', () => {
  assert.equal(inPlaceBlocker(ready), null);
  assert.equal(inPlaceBlocker({ ...ready, state: 'crashed' }), null);
  assert.equal(inPlaceBlocker({ ...ready, state: 'booting' }), 'the machine is booting');
  assert.equal(inPlaceBlocker({ ...ready, state: 'stopped' }), 'the machine is stopped');
  assert.equal(inPlaceBlocker({ ...ready, state: 'stopping' }), 'the machine is stopping');
  assert.equal(inPlaceBlocker({ ...ready, running: false }), 'no QEMU runs');
  assert.equal(
    inPlaceBlocker({ ...ready, fromWarmSnapshot: false }),
    'the machine was not started from the warm snapshot',
  );
  assert.equal(inPlaceBlocker({ ...ready, qemuEnded: true }), 'its QEMU has ended');
});

test('reset after a panic loads lab-ready into the same QEMU and settles the guest again', () =>
  withCache(async (cache, env) => {
    const { session, made, states } = await panickedWarmSession(cache, env);
    await session.reset();
    assert.equal(made.length, 2);
    assert.equal(made[1]!.disposed, false);
    assert.deepEqual(made[1]!.loadedSnapshots, ['lab-ready']);
    assert.equal(made[1]!.abandoned, 1);
    assert.deepEqual(states, ['booting', 'ready']);
    const status = session.status();
    assert.equal(status.crash, undefined);
    assert.equal(status.loadedModule, 'none');
    assert.deepEqual(
      status.bootSteps.map((s) => s.step),
      ['qemu-started', 'kernel-up', 'init', 'agent-ready'],
    );
    // The clock, the share mounted anew and the console size in one program, and the prompt's
    // newline.
    assert.equal(made[1]!.commands.length, 1);
    assert.match(
      made[1]!.commands[0]!,
      /^lab-settle --clock \d+\.\d{3} --mount workspace \/root\/work 9p trans=virtio,version=9p2000\.L,msize=262144,cache=none --winsize 40 120$/,
    );
    assert.deepEqual(made[1]!.written, ['\n']);
    // The restored guest is a guest like any other: a command runs, a second reset is in place too.
    assert.equal(await session.sh('true'), '');
    await session.reset();
    assert.deepEqual(made[1]!.loadedSnapshots, ['lab-ready', 'lab-ready']);
    assert.equal(made.length, 2);
    await session.stop();
  }));

test('the prompt is asked for before the agent answers, unless it must wait for the workspace mount', () =>
  withCache(async (cache, env) => {
    const settleRun = (mount: boolean) =>
      `run lab-settle --clock ${'X'}${mount ? ' --mount workspace /root/work 9p trans=virtio,version=9p2000.L,msize=262144,cache=none' : ''} --winsize 40 120`;
    const events = (proc: { events: string[] }) =>
      proc.events.map((e) => e.replace(/--clock \d+\.\d{3}/, '--clock X'));
    // No workspace: the newline as soon as the restored guest runs, at a warm start and a reset.
    const bare = await panickedWarmSession(cache, env, {}, null);
    await bare.session.reset();
    assert.deepEqual(events(bare.made[1]!), [
      'loadvm lab-ready',
      'write "\\n"',
      'agent answered',
      settleRun(false),
    ]);
    await bare.session.stop();
    const warmStart = makeSession([{ overlayDir: cache }], { warmBoot: true, env });
    await warmStart.session.start();
    assert.deepEqual(events(warmStart.made[0]!), ['write "\\n"', 'agent answered', settleRun(false)]);
    await warmStart.session.stop();
    // A workspace: a shell in /root/work must find it, so the newline comes after the mount.
    const shared = await panickedWarmSession(cache, env);
    await shared.session.reset();
    assert.deepEqual(events(shared.made[1]!), [
      'loadvm lab-ready',
      'agent answered',
      settleRun(true),
      'write "\\n"',
    ]);
    await shared.session.stop();
  }));

test("the old kernel's last panic line, read while loadvm runs, is not taken for a new crash", () =>
  withCache(async (cache, env) => {
    const { session, made } = await panickedWarmSession(cache, env, {
      onLoadSnapshot: (_tag, proc) =>
        proc.kernel('[    5.100000] ---[ end Kernel panic - not syncing: sysrq triggered crash ]---\n'),
    });
    await session.reset();
    await new Promise((resolve) => setTimeout(resolve, 500)); // longer than the detector's settle time
    assert.equal(session.status().state, 'ready');
    assert.equal(session.status().crash, undefined);
    assert.equal(made.length, 2);
    await session.stop();
  }));

test('loadvm fails: the reset falls back to a new QEMU from the snapshot', () =>
  withCache(async (cache, env) => {
    const { session, made, states } = await panickedWarmSession(cache, env, {
      onLoadSnapshot: () => {
        throw new Error("loadvm: Snapshot 'lab-ready' does not exist in one or more devices");
      },
    });
    await session.reset();
    assert.deepEqual(
      made.map((p) => [p.spec.disk.kind, p.disposed]),
      [
        ['fresh', true],
        ['snapshot', true],
        ['snapshot', false],
      ],
    );
    assert.deepEqual(states, ['booting', 'stopped', 'booting', 'ready']);
    assert.equal(session.status().error, undefined);
    assert.equal(session.status().crash, undefined);
    await session.stop();
  }));

test('QEMU died: the reset boots a new QEMU, without trying loadvm', () =>
  withCache(async (cache, env) => {
    const { session, made } = makeSession([{ overlayDir: cache }, { overlayDir: cache }], {
      warmBoot: true,
      env,
    });
    await session.start();
    const crashed = untilState(session, 'crashed');
    made[1]!.exit({ code: null, signal: 'SIGKILL' });
    await crashed;
    await session.reset();
    assert.deepEqual(made[1]!.loadedSnapshots, []);
    assert.deepEqual(
      made.map((p) => p.spec.disk.kind),
      ['fresh', 'snapshot', 'snapshot'],
    );
    assert.equal(session.status().state, 'ready');
    await session.stop();
  }));

test('a cold-booted machine is reset with a new QEMU', async () => {
  const { session, made, states } = makeSession();
  await session.start();
  const crashed = untilState(session, 'crashed');
  made[0]!.kernel(PANIC);
  await crashed;
  await session.reset();
  assert.deepEqual(made[0]!.loadedSnapshots, []);
  assert.deepEqual(
    made.map((p) => p.disposed),
    [true, false],
  );
  assert.deepEqual(states, ['booting', 'ready', 'crashed', 'stopping', 'stopped', 'booting', 'ready']);
  await session.stop();
});

test('a machine that rebooted (its disk adopted, booted cold) is reset with a new QEMU', () =>
  withCache(async (cache, env) => {
    const { session, made } = makeSession([{ overlayDir: cache }, { overlayDir: cache }, {}, {}], {
      warmBoot: true,
      env,
    });
    await session.start();
    const rebooted = untilState(session, 'booting');
    made[1]!.exit({ code: 0, signal: null, shutdownReason: 'guest-reset' });
    await rebooted;
    await untilState(session, 'ready');
    assert.equal(made[2]!.spec.disk.kind, 'adopt');
    await session.reset();
    assert.deepEqual(
      made.map((p) => [p.spec.disk.kind, p.loadedSnapshots.length]),
      [
        ['fresh', 0],
        ['snapshot', 0],
        ['adopt', 0],
        ['snapshot', 0],
      ],
    );
    await session.stop();
  }));

test('Stop pressed while loadvm hangs: the reset is cancelled, nothing left running', () =>
  withCache(async (cache, env) => {
    const hang = new Deferred();
    const { session, made, states } = await panickedWarmSession(cache, env, {
      onLoadSnapshot: () => hang.promise,
    });
    const resetting = session.reset();
    while (made[1]!.loadedSnapshots.length === 0) await settle();
    await session.stop();
    await assert.rejects(resetting, /^LabBootError: the boot was cancelled: the machine was stopped$/);
    assert.equal(session.status().state, 'stopped');
    assert.deepEqual(states, ['booting', 'stopping', 'stopped']);
    assert.equal(made.length, 2);
    assert.equal(made[1]!.disposed, true);
  }));

test("exec's clockWithFirstCommand: no settle program; the first command sets the clock in its own start", () =>
  withCache(async (cache, env) => {
    const exec = { warmBoot: true, env, noTerminal: true, clockWithFirstCommand: true };
    const bare = makeSession([{ overlayDir: cache }, { overlayDir: cache }], exec);
    await bare.session.start();
    const proc = bare.made[1]!;
    assert.deepEqual(proc.commands, []);
    // Nobody reads the console: the restored shell is not asked for its prompt.
    assert.deepEqual(proc.written, []);
    await bare.session.run('/bin/true', []);
    await bare.session.sh('echo second');
    assert.deepEqual(proc.commands, ['true', 'echo second']);
    assert.deepEqual(proc.clockWithCommand, ['true']);
    // A reset leaves the clock behind again: the next command sets it.
    await bare.session.reset();
    await bare.session.sh('echo after-reset');
    assert.deepEqual(proc.clockWithCommand, ['true', 'echo after-reset']);
    assert.deepEqual(proc.written, []);
    await bare.session.stop();
    // A workspace to mount: the settle runs anyway, and sets the clock with the mount.
    const shared = makeSession([{ overlayDir: cache }, { overlayDir: cache }], { ...exec, workspace: '/w' });
    await shared.session.start();
    assert.match(shared.made[1]!.commands[0]!, /^lab-settle --clock \d+\.\d{3} --mount /);
    assert.deepEqual(shared.made[1]!.written, []);
    await shared.session.run('/bin/true', []);
    assert.deepEqual(shared.made[1]!.clockWithCommand, []);
    await shared.session.stop();
  }));
