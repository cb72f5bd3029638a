// Reset after a crash, against the real guest: the warm "ready" snapshot loaded into the same
// QEMU (loadvm), with the workspace intact both ways and the guest's own disk and /tmp back to
// the snapshot's; and the fallback to a new QEMU when loadvm cannot work (its snapshot deleted
// from the overlay with `delvm`).
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { CrashInfo, VmStatus } from '../../src/api.ts';
import { LabSession } from '../../src/session.ts';
import { consoleUntil } from './helpers.ts';

async function withWorkspace(body: (ws: string, session: LabSession, states: string[]) => Promise<void>) {
  const ws = await mkdtemp(path.join(os.tmpdir(), 'reset-ws-'));
  const session = new LabSession({ workspace: ws });
  const states: string[] = [];
  session.on('status', (s: VmStatus) => {
    if (states.at(-1) !== s.state) states.push(s.state);
  });
  try {
    await session.start();
    await body(ws, session, states);
  } finally {
    await session.stop();
    await rm(ws, { recursive: true, force: true });
  }
}

/** Writes into the workspace, the guest's /tmp and /root from the guest, then panics it (sysrq). */
async function dirtyThenPanic(session: LabSession, states: string[]): Promise<void> {
  await session.sh('echo from-guest > /root/work/guest.txt; echo junk > /tmp/junk; echo mark > /root/marker');
  const crashed = new Promise<CrashInfo>((resolve) => session.once('crash', resolve));
  session.writeConsole('echo c > /proc/sysrq-trigger\n');
  assert.equal((await crashed).headline, 'Kernel panic - not syncing: sysrq triggered crash');
  states.length = 0;
}

/** What a clean guest with the workspace intact shows, after a reset. */
async function assertCleanWithWorkspace(session: LabSession, ws: string): Promise<void> {
  assert.equal(await readFile(path.join(ws, 'guest.txt'), 'utf8'), 'from-guest\n');
  await writeFile(path.join(ws, 'host.txt'), 'from-host\n');
  const seen = await session.sh(
    [
      'cat /root/work/guest.txt /root/work/host.txt',
      'ls -A /tmp | wc -l',
      'test -e /root/marker && echo marker || echo no-marker',
      "dmesg | grep -c 'sysrq triggered crash' || true",
      'awk \'$2 == "/root/work" {print $3}\' /proc/mounts',
      'echo after-reset > /root/work/after.txt',
    ].join('; '),
  );
  assert.equal(seen, 'from-guest\nfrom-host\n0\nno-marker\n0\n9p\n');
  assert.equal(await readFile(path.join(ws, 'after.txt'), 'utf8'), 'after-reset\n');
  // The clock was set again (make compares the workspace's mtimes with it): within a minute.
  const guestSeconds = Number(await session.sh('date +%s'));
  assert.ok(Math.abs(guestSeconds - Date.now() / 1000) < 60, `guest clock ${guestSeconds}`);
}

test('reset after a panic loads the warm snapshot into the same QEMU; the workspace is intact', () =>
  withWorkspace(async (ws, session, states) => {
    const runFolder = session.runFolder;
    assert.ok(runFolder);
    await dirtyThenPanic(session, states);
    const prompt = consoleUntil(session, /\[farfetchd-lab guest\]/);
    await session.reset();
    await prompt;
    assert.deepEqual(states, ['booting', 'ready']);
    assert.equal(session.runFolder, runFolder, 'the reset started another QEMU');
    assert.equal(session.status().crash, undefined);
    await assertCleanWithWorkspace(session, ws);
    // The console is the restored shell's, and it takes commands.
    const echoed = consoleUntil(session, /console-ok-2/);
    session.writeConsole('echo console-ok-$((1+1))\n');
    await echoed;
    // From ready (a running guest, not a frozen one) it is in place too.
    await session.reset();
    assert.equal(session.runFolder, runFolder);
    assert.equal(await session.sh('ls /root/work'), 'after.txt\nguest.txt\nhost.txt\n');
  }));

test('reset when loadvm fails (the snapshot deleted from the overlay) boots a new QEMU instead', () =>
  withWorkspace(async (ws, session, states) => {
    const runFolder = session.runFolder;
    assert.equal((await session.monitor('delvm lab-ready')).trim(), '');
    await dirtyThenPanic(session, states);
    await session.reset();
    assert.deepEqual(states, ['booting', 'stopped', 'booting', 'ready']);
    assert.notEqual(session.runFolder, runFolder);
    assert.equal(session.status().error, undefined);
    await assertCleanWithWorkspace(session, ws);
  }));
