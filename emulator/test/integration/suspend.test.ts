// Suspend and Resume against the real guest: a machine with a workspace, its console shell inside
// /root/work/x with a variable, a history line and a background job, a reference module loaded,
// is suspended, the session object dropped (the app closed), and a new session resumes it: every
// one of those is back, exactly. Then a suspend that a program holding the share makes impossible
// is refused, naming that program, and leaves the machine as it was.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { SuspendError } from '../../src/session-suspend.ts';
import { snapshotFailure } from '../../src/suspend-guest.ts';
import { LabSession } from '../../src/session.ts';
import { consoleUntil } from './helpers.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'suspend-guest-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const ws = path.join(tmp, 'ws');
/** The tests' own store of saved sessions (the lab's default is <cache>/sessions). */
const savedSessions = path.join(tmp, 'sessions');
mkdirSync(path.join(ws, 'x'), { recursive: true });
writeFileSync(path.join(ws, 'x', 'notes.txt'), 'written on the host\n');
writeFileSync(path.join(ws, 'f'), 'followed\n');

const open = () => new LabSession({ workspace: ws, savedSessions });

/** Types `line` into the console shell and resolves with the console text up to `pattern`. */
async function type(session: LabSession, line: string, pattern: RegExp): Promise<string> {
  const seen = consoleUntil(session, pattern, 120_000);
  session.writeConsole(`${line}\n`);
  return seen;
}

/** The pid of the console's login shell (the one bash the profile registered). */
async function consoleShell(session: LabSession): Promise<number> {
  const pids = (await session.sh('ls /run/farfetchd-lab/shells')).trim().split('\n');
  assert.equal(pids.length, 1, `registered shells: ${pids.join(' ')}`);
  return Number(pids[0]);
}

test('suspend, close, resume: processes, module, shell variable, history and cwd are back', async () => {
  let session = open();
  let sleepPid: number;
  let shellPid: number;
  try {
    await session.start();
    await session.loadModule('p1');
    // Started in /root: a job started inside /root/work would hold the share (see the refusal).
    // The pid is whole only once the word after it has come (a console write can split it).
    const bg = await type(session, 'sleep 1000 & echo "bg=$! ."', /bg=(\d+) \./);
    sleepPid = Number(/bg=(\d+) \./.exec(bg)![1]);
    await type(session, 'cd /root/work/x && LAB_MARK=kept-$((6 * 7)) && echo cd-$((1 + 1))', /cd-2/);
    await type(session, 'echo history-line-$((40 + 2))', /history-line-42[\s\S]*root:~\/work\/x# /);
    shellPid = await consoleShell(session);
    assert.equal((await session.sh(`readlink /proc/${shellPid}/cwd`)).trim(), '/root/work/x');

    await session.suspend();
    const suspended = session.status();
    assert.equal(suspended.state, 'stopped');
    assert.equal(suspended.savedSession?.module, 'p1');
    assert.deepEqual(
      readdirSync(savedSessions)
        .filter((name) => !name.startsWith('farfetchd-lab-'))
        .map((name) => path.extname(name))
        .sort(),
      ['.json', '.qcow2'],
    );
  } finally {
    await session.stop();
  }

  // The app was closed: a new session object, nothing shared with the first but the files.
  session = open();
  try {
    assert.equal(session.status().savedSession?.module, 'p1');
    await session.resume();
    const resumed = session.status();
    assert.equal(resumed.state, 'ready');
    assert.equal(resumed.loadedModule, 'p1');
    assert.equal(resumed.savedSession, undefined, 'a resume consumes the saved session');
    assert.deepEqual(
      readdirSync(savedSessions).filter((name) => !name.startsWith('farfetchd-lab-')),
      [],
    );

    assert.equal(
      await session.sh(
        `tr '\\0' ' ' </proc/${sleepPid}/cmdline; echo; grep -c '^farfetch_p1 ' /proc/modules`,
      ),
      'sleep 1000 \n1\n',
    );
    assert.equal(await consoleShell(session), shellPid);
    assert.equal((await session.sh(`readlink /proc/${shellPid}/cwd`)).trim(), '/root/work/x');
    const shell = await type(
      session,
      'echo "var=$LAB_MARK" "cwd=$(pwd)" "hist=$(history | grep -c "^ *[0-9]* *echo history-line-")"',
      /var=kept-42 cwd=\/root\/work\/x hist=1/,
    );
    assert.match(shell, /var=kept-42 cwd=\/root\/work\/x hist=1/);
    // The share is mounted again, both ways.
    assert.equal(await session.sh('cat /root/work/x/notes.txt'), 'written on the host\n');
    await session.sh('echo from-the-resumed-guest > /root/work/x/after.txt');
    assert.equal(readFileSync(path.join(ws, 'x', 'after.txt'), 'utf8'), 'from-the-resumed-guest\n');
  } finally {
    await session.stop();
  }
});

test('a suspend refused by a program holding the share names it and leaves the machine as it was', async () => {
  const session = open();
  try {
    await session.start();
    await type(session, 'cd /root/work/x && echo in-$((2 + 2))', /in-4/);
    const bg = await type(session, 'tail -f /root/work/f & echo "tail=$! ."', /tail=(\d+) \./);
    const tailPid = Number(/tail=(\d+) \./.exec(bg)![1]);
    await consoleUntil(session, /followed/, 120_000);
    const shellPid = await consoleShell(session);
    // QEMU's own answer while the share is mounted: "success" over QMP, the error in the text.
    assert.equal(
      snapshotFailure(await session.monitor('savevm lab-probe')),
      'QEMU cannot save the machine while the guest has the share "workspace" mounted',
    );

    const refused = await session.suspend().then(
      () => assert.fail('the suspend went through'),
      (err: unknown) => err,
    );
    assert.ok(refused instanceof SuspendError, String(refused));
    assert.equal(refused.code, 'ESUSPEND');
    assert.deepEqual(refused.holders, [
      { pid: tailPid, command: 'tail', holds: ['works in /root/work/x', 'has /root/work/f open'] },
    ]);
    assert.match(
      refused.message,
      new RegExp(`^- tail \\(pid ${tailPid}\\) works in /root/work/x, has /root/work/f open`, 'm'),
    );

    // As it was: running, the share mounted, the shell back in /root/work/x, nothing saved.
    const status = session.status();
    assert.equal(status.state, 'ready');
    assert.equal(status.savedSession, undefined);
    assert.match(await session.sh('grep " /root/work " /proc/mounts'), /^workspace \/root\/work 9p /m);
    assert.equal((await session.sh(`readlink /proc/${shellPid}/cwd`)).trim(), '/root/work/x');
    assert.equal(
      await session.sh(`test -e /run/farfetchd-lab/away; echo $?; kill -0 ${tailPid}; echo $?`),
      '1\n0\n',
    );
  } finally {
    await session.stop();
  }
});
