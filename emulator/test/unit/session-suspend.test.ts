// Suspend and resume through LabSession over fake processes: the states each goes through, the
// guest commands in their order, the saved session written, refused, consumed; what a refusal,
// a failing savevm and a saved session of another image or machine shape do.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { SavedSessionSlot, SUSPEND_SNAPSHOT } from '../../src/saved-sessions.ts';
import { sessionShape, SuspendError } from '../../src/session-suspend.ts';
import { HELD, RELEASE_SHARE, RESTORE_SHARE } from '../../src/suspend-guest.ts';
import { makeSession, type FakeBehaviour } from './fake-process.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'session-suspend-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const workspace = '/home/student/ws';
let n = 0;

/** A store of its own, and the options of a session on it. */
function setup() {
  const savedSessions = path.join(tmp, `store-${++n}`);
  const overlayDir = mkdtempSync(path.join(tmp, 'overlays-'));
  return { savedSessions, overlayDir, slot: new SavedSessionSlot(savedSessions, workspace) };
}

test('suspend: ready → suspending → stopped, share let go, savevm, QEMU quit, disk kept', async () => {
  const { savedSessions, overlayDir, slot } = setup();
  const { session, made, states } = makeSession([{ overlayDir }], { workspace, savedSessions });
  await session.start();
  await session.loadModule('p2');
  const before = made[0]!.commands.length;
  await session.suspend();
  assert.deepEqual(states, ['booting', 'ready', 'suspending', 'stopped']);
  const proc = made[0]!;
  assert.deepEqual(proc.commands.slice(before), [RELEASE_SHARE]);
  assert.equal(proc.savedSnapshot, SUSPEND_SNAPSHOT);
  assert.equal(proc.quitAsked, true);
  assert.equal(proc.disposed, true);
  const saved = slot.read()!;
  assert.deepEqual(
    { imageKey: saved.imageKey, shape: saved.shape, module: saved.module, workspace: saved.workspace },
    { imageKey: 'feedface', shape: sessionShape({ workspace }, 'tcg'), module: 'p2', workspace },
  );
  const status = session.status();
  assert.deepEqual(status.savedSession, { savedAt: saved.savedAt, module: 'p2' });
  assert.equal(status.loadedModule, 'none');
  assert.equal(status.uptimeMs, null);
});

test('a refused suspend puts the share back and leaves the machine ready, with the holders named', async () => {
  const { savedSessions, overlayDir, slot } = setup();
  const report = '/proc/412/fd/3\t/root/work/f\n/proc/412/comm:tail\n';
  const behaviour: FakeBehaviour = {
    overlayDir,
    answer: (script) =>
      script === RELEASE_SHARE
        ? { exitCode: HELD, stdout: report, stderr: 'umount: target is busy' }
        : undefined,
  };
  const { session, made, states } = makeSession([behaviour], { workspace, savedSessions });
  await session.start();
  const before = made[0]!.commands.length;
  const err = await session.suspend().then(
    () => assert.fail('suspended'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof SuspendError);
  assert.deepEqual(err.holders, [{ pid: 412, command: 'tail', holds: ['has /root/work/f open'] }]);
  assert.match(err.message, /^- tail \(pid 412\) has \/root\/work\/f open: end it \(Ctrl-C, or kill 412\)/m);
  assert.deepEqual(states, ['booting', 'ready', 'suspending', 'ready']);
  assert.deepEqual(made[0]!.commands.slice(before), [RELEASE_SHARE, RESTORE_SHARE]);
  assert.equal(made[0]!.savedSnapshot, undefined);
  assert.equal(made[0]!.quitAsked, false);
  assert.equal(slot.read(), null);
  assert.equal(session.status().savedSession, undefined);
  assert.equal((await session.sh('true')).length, 0, 'the machine takes commands again');
  await session.stop();
});

test("savevm's error text fails the suspend in plain words; the share goes back", async () => {
  const { savedSessions, overlayDir, slot } = setup();
  const savevmText =
    "Error: Migration is disabled when VirtFS export path '/home/student/ws' is mounted in the guest " +
    "using mount_tag 'workspace'\r\n";
  const { session, made, states } = makeSession([{ overlayDir, savevmText }], { workspace, savedSessions });
  await session.start();
  await assert.rejects(session.suspend(), {
    name: 'SuspendError',
    message:
      'Suspend failed: QEMU cannot save the machine while the guest has the share "workspace" mounted. ' +
      'The machine runs on as it was.',
  });
  assert.deepEqual(states, ['booting', 'ready', 'suspending', 'ready']);
  assert.deepEqual(made[0]!.commands.slice(-2), [RELEASE_SHARE, RESTORE_SHARE]);
  assert.equal(slot.read(), null);
  await session.stop();
});

test('a release the agent never finishes, then a share that will not mount: said, machine ready', async () => {
  const { savedSessions, overlayDir, slot } = setup();
  const behaviour: FakeBehaviour = {
    overlayDir,
    onCommand: (script) => {
      if (script === RELEASE_SHARE) throw new Error('guest agent: timed out');
      if (script === RESTORE_SHARE) throw new Error('mount: /root/work: mount(2) failed');
    },
  };
  const { session, made, states } = makeSession([behaviour], { workspace, savedSessions });
  await session.start();
  await assert.rejects(session.suspend(), {
    name: 'SuspendError',
    message:
      'guest agent: timed out. The workspace could not be mounted again at /root/work: save your work ' +
      'elsewhere, then Reset machine (your files on the host are safe).',
  });
  assert.deepEqual(states, ['booting', 'ready', 'suspending', 'ready']);
  assert.deepEqual(made[0]!.commands.slice(-2), [RELEASE_SHARE, RESTORE_SHARE]);
  assert.equal(made[0]!.savedSnapshot, undefined, 'no savevm after a release that did not finish');
  assert.equal(slot.read(), null);
  await session.stop();
});

test('a machine without a workspace suspends without touching a share', async () => {
  const { savedSessions, overlayDir } = setup();
  const { session, made } = makeSession([{ overlayDir }], { savedSessions });
  await session.start();
  const before = made[0]!.commands.length;
  await session.suspend();
  assert.deepEqual(made[0]!.commands.slice(before), []);
  assert.equal(new SavedSessionSlot(savedSessions, undefined).read()!.workspace, null);
});

test('suspend is refused unless the machine is ready', async () => {
  const { savedSessions } = setup();
  const { session } = makeSession([], { workspace, savedSessions });
  await assert.rejects(session.suspend(), { message: 'the guest is not ready (it is stopped)' });
});

test('resume in a new session: stopped → booting → ready on the saved disk, brought up to date', async () => {
  const { savedSessions, overlayDir, slot } = setup();
  const first = makeSession([{ overlayDir }], { workspace, savedSessions });
  await first.session.start();
  await first.session.loadModule('p3');
  await first.session.suspend();

  const { session, made, states } = makeSession([{ overlayDir }], { workspace, savedSessions });
  assert.equal(session.status().savedSession?.module, 'p3');
  await session.resume();
  assert.deepEqual(states, ['booting', 'ready']);
  const proc = made[0]!;
  assert.deepEqual(proc.spec.disk, { kind: 'resume', file: slot.disk, loadvm: SUSPEND_SNAPSHOT });
  // The clock, the share, the shells back into it and the console size in one program; no
  // newline (it would run a half-typed line): Ctrl-L redraws it.
  assert.equal(proc.commands.length, 1);
  assert.match(
    proc.commands[0]!,
    /^lab-settle --clock \d+\.\d{3} --mount workspace \/root\/work 9p trans=virtio,version=9p2000\.L,msize=262144,cache=none --shells-back \/run\/farfetchd-lab\/away \/run\/farfetchd-lab\/shells --winsize 40 120$/,
  );
  assert.deepEqual(proc.written, ['\x0c']);
  const status = session.status();
  assert.equal(status.loadedModule, 'p3');
  assert.equal(status.savedSession, undefined);
  assert.equal(existsSync(slot.meta), false, 'the saved session is consumed');
  assert.equal(proc.diskConsumed, true, "the disk is the machine's now: disposal removes it");
  assert.deepEqual(
    status.bootSteps.map((s) => s.step),
    ['qemu-started', 'kernel-up', 'init', 'agent-ready'],
  );
  await session.stop();
});

test('a resumed share that will not mount: the resume fails with why, the shells stay out, the disk is kept', async () => {
  const { savedSessions, overlayDir, slot } = setup();
  const first = makeSession([{ overlayDir }], { workspace, savedSessions });
  await first.session.start();
  await first.session.suspend();

  const mountFails: FakeBehaviour = {
    overlayDir,
    answer: (script) =>
      script.includes('--mount')
        ? { exitCode: 2, stderr: 'lab-settle: mounting workspace on /root/work: No such device\n' }
        : undefined,
  };
  const { session, made } = makeSession([mountFails], { workspace, savedSessions });
  await assert.rejects(session.resume(), /mounting workspace on \/root\/work: No such device/);
  // Nothing after the one lab-settle, which (after a failed mount) only removes the away file
  // (else every resize would step the shells out again) and sends no shell back (lab-settle.test.ts).
  assert.match(
    made[0]!.commands[0]!,
    / --shells-back \/run\/farfetchd-lab\/away \/run\/farfetchd-lab\/shells /,
  );
  assert.deepEqual(made[0]!.commands.slice(1), []);
  assert.deepEqual(made[0]!.written, []);
  assert.equal(session.status().savedSession?.module, 'none', 'the saved session can be resumed again');
  assert.equal(existsSync(slot.meta), true);
});

test('resume without a saved session fails in one line and stays stopped', async () => {
  const { savedSessions } = setup();
  const { session, made, states } = makeSession([], { workspace, savedSessions });
  await assert.rejects(session.resume(), {
    message: 'the guest did not boot: there is no saved session to resume: start a fresh machine',
  });
  assert.deepEqual(states, ['booting', 'stopped']);
  assert.equal(made.length, 0);
});

test("a saved session of another image is refused and removed; another shape's is refused and kept", async () => {
  const { savedSessions, slot } = setup();
  const disk = path.join(tmp, `disk-${++n}`);
  writeFileSync(disk, 'm');
  await slot.save(disk, {
    imageKey: 'oldimage0000',
    shape: sessionShape({ workspace }, 'tcg'),
    module: 'none',
  });
  const a = makeSession([], { workspace, savedSessions });
  await assert.rejects(a.session.resume(), {
    message:
      'the guest did not boot: the saved session was made on another guest image (oldimage0000, this lab ' +
      'has feedface): it cannot be resumed here (it was removed); start a fresh machine',
  });
  assert.equal(slot.read(), null);
  assert.equal(existsSync(slot.disk), false);

  writeFileSync(disk, 'm');
  await slot.save(disk, { imageKey: 'feedface', shape: sessionShape({ workspace }, 'kvm'), module: 'none' });
  const b = makeSession([], { workspace, savedSessions });
  await assert.rejects(b.session.resume(), /another machine shape .*start the lab as it was to resume it/);
  assert.notEqual(slot.read(), null);
  assert.equal(b.session.status().savedSession?.module, 'none');
  assert.equal(b.made.length, 0);
});

test('resume is refused unless the machine is stopped', async () => {
  const { savedSessions } = setup();
  const { session } = makeSession([], { workspace, savedSessions });
  await session.start();
  await assert.rejects(session.resume(), { message: 'cannot resume: the machine is ready' });
  await session.stop();
});
