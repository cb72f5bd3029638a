// Whose farfetch module the guest runs, in the real guest through the backend the UIs use: a
// module the student built in the workspace and insmods from the terminal shows in the status
// as theirs (with its .ko) once the command is done, though it is the solution, the same build as
// the reference's; the lab's p2 button replaces it with the reference; a reference loaded with
// modprobe in the terminal is the reference too; Unload leaves none. The driver panel says the same.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import type { LabEvent, VmStatus } from '../../src/api.ts';
import { createBackend } from '../../src/backend.ts';
import { LabSession } from '../../src/session.ts';
import { initWorkspace } from '../../src/workspace.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'module-view-guest-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** The statuses pushed to the client, in order. */
const statuses = (events: LabEvent[]) => events.flatMap((e) => (e.type === 'status' ? [e.status] : []));

/** The first status pushed from now on (or the last one already pushed) that `ok` accepts. */
function statusUntil(
  events: LabEvent[],
  ok: (s: VmStatus) => boolean,
  what: string,
  timeoutMs = 180_000,
): Promise<VmStatus> {
  const from = Math.max(0, statuses(events).length - 1);
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + timeoutMs;
    const look = () => {
      const seen = statuses(events);
      const found = seen.slice(from).find(ok);
      if (found) return resolve(found);
      if (Date.now() > deadline) {
        const console = events.map((e) => (e.type === 'console' ? e.data : '')).join('');
        const last = JSON.stringify(seen.at(-1)?.farfetchModules);
        return reject(new Error(`never: ${what}; last modules: ${last}; console: ${console.slice(-600)}`));
      }
      setTimeout(look, 50);
    };
    look();
  });
}

test("a module the student builds and insmods in the terminal is theirs in the status; the lab's are the reference", async () => {
  const workspace = path.join(tmp, 'ws');
  await initWorkspace(workspace, { mode: 'solution' });
  const session = new LabSession({ workspace });
  const backend = createBackend({ session, workspace });
  const events: LabEvent[] = [];
  const { api } = backend.connect((e) => events.push(e));
  try {
    const ready = await api.start();
    assert.equal(ready.state, 'ready');
    await statusUntil(events, (s) => s.farfetchModules !== undefined, 'the first read of a ready guest');
    assert.deepEqual(session.status().farfetchModules, []);
    const release = session.status().kernelRelease!;

    const make = await session.run('make', ['-C', '/root/work/farfetch_p1'], { timeoutMs: 600_000 });
    assert.equal(make.exitCode, 0, make.stdout.toString() + make.stderr.toString());
    await api.consoleInput('insmod /root/work/farfetch_p1/farfetch_p1.ko\r');
    const theirs = await statusUntil(
      events,
      (s) => (s.farfetchModules?.length ?? 0) > 0,
      'the insmod typed in the terminal shows',
    );
    assert.equal(theirs.loadedModule, 'none', 'no reference module is loaded');
    assert.deepEqual(theirs.farfetchModules, [
      { name: 'farfetch_p1', state: 'Live', origin: 'student', ko: '/root/work/farfetch_p1/farfetch_p1.ko' },
    ]);

    // The p2 button: every farfetch module goes (the student's too), the reference comes.
    const p2 = await api.loadModule('p2');
    assert.equal(p2.loadedModule, 'p2');
    assert.deepEqual(p2.farfetchModules, [
      {
        name: 'farfetch_p2',
        state: 'Live',
        origin: 'reference',
        ko: `/lib/modules/${release}/extra/farfetch_p2.ko`,
      },
    ]);
    const drivers = await api.drivers();
    assert.deepEqual(
      drivers.modules.filter((m) => m.name.includes('farfetch')).map((m) => [m.name, m.origin]),
      [['farfetch_p2', 'reference']],
    );
    assert.equal(drivers.chain[0]!.detail, 'farfetch_p2 (the reference build, Live) in /proc/modules');

    // A reference module loaded with modprobe in the terminal is the reference. (Not p1: the
    // workspace's farfetch_p1.ko, the solution built by the same compiler, is the same build.)
    await api.consoleInput('rmmod farfetch_p2 && modprobe farfetch_p3\r');
    const modprobed = await statusUntil(events, (s) => s.loadedModule === 'p3', 'modprobe in the terminal');
    assert.deepEqual(
      modprobed.farfetchModules?.map((m) => [m.name, m.origin]),
      [['farfetch_p3', 'reference']],
    );

    const none = await api.loadModule('none');
    assert.equal(none.loadedModule, 'none');
    assert.deepEqual(none.farfetchModules, []);
  } finally {
    await backend.dispose();
  }
});
