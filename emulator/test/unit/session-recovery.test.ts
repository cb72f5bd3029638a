// LabSession when something goes wrong at an awkward moment, over fake QEMU processes: what a
// failed snapshot boot keeps, a kernel crash while a guest command or the warm-up is in flight,
// a guest reboot that stays silent or fails, and a stop pressed while a reset is stopping.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { Deferred, makeSession, settle, silentKvmPolicy, winsize, untilState } from './fake-process.ts';

const PANIC = '[    5.000000] Kernel panic - not syncing: Fatal exception\n';

async function withCache(body: (cache: string, env: NodeJS.ProcessEnv) => Promise<void>): Promise<void> {
  const cache = await mkdtemp(path.join(os.tmpdir(), 'lab-unit-cache-'));
  try {
    await body(cache, { ...process.env, FARFETCHD_LAB_CACHE: cache });
  } finally {
    await rm(cache, { recursive: true, force: true });
  }
}

const warmFiles = async (cache: string) => (await readdir(cache)).filter((f) => f.startsWith('warm-'));

test('a snapshot boot that fails after its agent answered (the mount) fails the boot and keeps the snapshot', () =>
  withCache(async (cache, env) => {
    const mountFails = (script: string) => {
      if (script.includes('--mount workspace')) throw new Error('mount: /root/work: permission denied');
    };
    const { session, made, states } = makeSession(
      [{ overlayDir: cache }, { overlayDir: cache, onCommand: mountFails }],
      { warmBoot: true, env, workspace: '/home/s/ws' },
    );
    await assert.rejects(
      session.start(),
      /^LabBootError: the guest did not boot: mount: \/root\/work: permission denied$/,
    );
    assert.deepEqual(
      made.map((p) => [p.spec.disk.kind, p.disposed]),
      [
        ['fresh', true],
        ['snapshot', true],
      ],
    );
    assert.deepEqual(states, ['booting', 'stopped']);
    assert.equal(session.status().error, 'mount: /root/work: permission denied');
    assert.equal((await warmFiles(cache)).length, 1);
  }));

test('a snapshot whose QEMU exits before its agent answers is deleted, and the machine boots cold', () =>
  withCache(async (cache, env) => {
    const { session, made } = makeSession(
      [{ overlayDir: cache }, { overlayDir: cache, agentAnswers: false }, { overlayDir: cache }],
      { warmBoot: true, env },
    );
    const starting = session.start();
    while (made.length < 2 || !made[1]!.launched) await settle();
    made[1]!.exit({ code: 1, signal: null });
    await starting;
    assert.deepEqual(
      made.map((p) => [p.spec.disk.kind, p.disposed]),
      [
        ['fresh', true],
        ['snapshot', true],
        ['fresh', false],
      ],
    );
    assert.deepEqual(await warmFiles(cache), []);
  }));

test('a crash during the first-boot warm-up ends the boot at once: crashed, with the panic', () =>
  withCache(async (cache, env) => {
    const { session, made, states } = makeSession([{ overlayDir: cache, agentAnswers: false }], {
      warmBoot: true,
      env,
    });
    const starting = session.start();
    while (!made[0]?.launched) await settle();
    made[0]!.kernel(PANIC);
    await assert.rejects(
      starting,
      /^LabBootError: the guest did not boot: the guest kernel crashed while booting$/,
    );
    assert.deepEqual(states, ['booting', 'crashed']);
    assert.equal(session.status().crash?.kind, 'panic');
    assert.equal(made.length, 1);
    assert.equal(made[0]!.disposed, true);
    assert.deepEqual(await warmFiles(cache), []);
  }));

test('a kernel crash while a module loads ends the load, and Reset is not held behind it', async () => {
  // The modprobe never returns: the guest froze under it.
  const frozen = new Deferred();
  const { session, made, states } = makeSession([
    { onCommand: (script) => (script.includes('modprobe') ? frozen.promise : undefined) },
  ]);
  await session.start();
  const loading = session.loadModule('p1');
  while (!made[0]!.commands.some((c) => c.includes('modprobe'))) await settle();
  made[0]!.kernel(PANIC);
  await assert.rejects(loading, /^Error: the guest kernel crashed while loading p1$/);
  await session.reset();
  assert.deepEqual(states, ['booting', 'ready', 'crashed', 'stopping', 'stopped', 'booting', 'ready']);
  assert.deepEqual(
    made.map((p) => p.disposed),
    [true, false],
  );
});

test('Stop pressed while a module load hangs interrupts it', async () => {
  const { session, made, states } = makeSession([
    { onCommand: (s) => (s.includes('modprobe') ? new Deferred().promise : undefined) },
  ]);
  await session.start();
  const loading = session.loadModule('p2');
  while (!made[0]!.commands.some((c) => c.includes('modprobe'))) await settle();
  await session.stop();
  await assert.rejects(loading, /^Error: the machine was stopped while loading p2$/);
  assert.deepEqual(states, ['booting', 'ready', 'stopping', 'stopped']);
  assert.equal(session.status().loadedModule, 'none');
});

test('after a kernel crash no console size is sent to the frozen guest', async () => {
  const { session, made } = makeSession();
  await session.start();
  made[0]!.kernel(PANIC);
  await untilState(session, 'crashed');
  await session.resizeConsole(90, 30);
  assert.deepEqual(made[0]!.commands, [winsize(40, 120)]);
});

test('a guest reboot whose hardware boot stays silent falls back to TCG, on the same disk', async () => {
  const { accelerators, fallback, failures } = silentKvmPolicy('KVM did not boot');
  // The first KVM boot works; after the reboot KVM stays silent; TCG then boots.
  const { session, made } = makeSession([{}, { agentAnswers: false }, {}], {
    accelerator: undefined,
    accelerators,
  });
  await session.start();
  made[0]!.exit({ code: 0, signal: null, shutdownReason: 'guest-reset' });
  await untilState(session, 'booting');
  await untilState(session, 'ready');
  assert.deepEqual(failures, ['kvm: no console output in 0.05 s']);
  assert.deepEqual(
    made.map((p) => [p.spec.accel, p.spec.disk, p.disposed]),
    [
      ['kvm', { kind: 'fresh' }, true],
      ['kvm', { kind: 'adopt', file: '/fake/run-0-overlay.qcow2' }, true],
      ['tcg', { kind: 'adopt', file: '/fake/run-1-overlay.qcow2' }, false],
    ],
  );
  assert.equal(made[1]!.quitAsked, true); // quit, not disposed first: its disk went on to the TCG try
  assert.deepEqual(session.status().accelerator, fallback);
});

test('a guest reboot that fails to boot: stopped, and the stop reason says why', async () => {
  const { session, made, states } = makeSession([{}, { agentAnswers: false }]);
  await session.start();
  made[0]!.exit({ code: 0, signal: null, shutdownReason: 'guest-reset' });
  await untilState(session, 'booting');
  while (!made[1]?.launched) await settle();
  const stopped = untilState(session, 'stopped');
  made[1]!.exit({ code: 1, signal: null });
  const status = await stopped;
  assert.equal(status.stopReason, 'the guest rebooted but did not boot again: QEMU exited (code 1)');
  assert.equal(status.error, 'QEMU exited (code 1)');
  assert.deepEqual(states, ['booting', 'ready', 'booting', 'stopped']);
  assert.deepEqual(
    made.map((p) => p.disposed),
    [true, true],
  );
});

test("Stop pressed while a Reset is stopping the machine voids the Reset's boot", async () => {
  const held = new Deferred();
  const { session, made, states } = makeSession([{ onDispose: () => held.promise }]);
  await session.start();
  const reset = session.reset();
  await untilState(session, 'stopping');
  const stop = session.stop();
  held.resolve();
  await assert.rejects(reset, /^LabBootError: the boot was cancelled: the machine was stopped$/);
  await stop;
  assert.deepEqual(states, ['booting', 'ready', 'stopping', 'stopped']);
  assert.equal(made.length, 1);
});

test('two Resets pressed at once both succeed: a reset does not void the other', async () => {
  const { session, made } = makeSession();
  await session.start();
  await Promise.all([session.reset(), session.reset()]);
  assert.equal(session.status().state, 'ready');
  assert.deepEqual(
    made.map((p) => p.disposed),
    [true, true, false],
  );
});

test('a console size the guest refuses fails no boot: the rest is settled and the sizer tries it again', async () => {
  let settles = 0;
  const { session, made, states } = makeSession([
    {
      answer: (script) => {
        if (!script.startsWith('lab-settle')) return undefined;
        settles++;
        // lab-settle's exit status: 4 = only the size failed.
        return { exitCode: 4, stderr: 'lab-settle: sizing /dev/ttyS0: Input/output error\n' };
      },
    },
  ]);
  await session.start();
  assert.deepEqual(states, ['booting', 'ready']);
  // The settle run, then the sizer's own try of the same size (which fails too, and is not retried).
  assert.deepEqual(made[0]!.commands, [winsize(40, 120), winsize(40, 120)]);
  assert.equal(settles, 2);
});

test('a mount that fails fails the boot, and no size is sent after it', async () => {
  const { session, made } = makeSession(
    [
      {
        answer: (script) =>
          script.includes('--mount')
            ? { exitCode: 2, stderr: 'lab-settle: mounting workspace on /root/work: No such device\n' }
            : undefined,
      },
    ],
    { workspace: '/home/s/ws' },
  );
  await assert.rejects(session.start(), /mounting workspace on \/root\/work: No such device/);
  assert.equal(made[0]!.commands.length, 1);
});

test('a kernel crash while the guest settles: no console size is sent to it afterwards', async () => {
  const held = new Deferred();
  const { session, made } = makeSession([
    {
      onCommand: async (script) => {
        if (script.startsWith('lab-settle')) await held.promise;
      },
    },
  ]);
  const starting = session.start();
  while (made[0]?.commands.length !== 1) await settle();
  made[0]!.kernel(PANIC);
  await untilState(session, 'crashed');
  held.resolve();
  await starting.catch(() => undefined);
  await settle();
  await session.resizeConsole(90, 30);
  assert.deepEqual(made[0]!.commands, [winsize(40, 120)]);
});
