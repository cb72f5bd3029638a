// What the guest's answers to a suspend mean: the report of the programs that hold the share, the
// student's message about them, and savevm's HMP text (QMP says "success"; the error is text).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  parseHolders,
  refusalMessage,
  RELEASE_SHARE,
  RESTORE_SHARE,
  SHELLS_BACK,
  FORGET_AWAY,
  snapshotFailure,
} from '../../src/suspend-guest.ts';

/** What the release script prints when a `tail -f` and a busy shell hold the share. */
const report = [
  '/proc/412/cwd\t/root/work/farfetch_p3',
  '/proc/97/cwd\t/root/work/farfetch_p3',
  '/proc/412/fd/3\t/root/work/farfetch_p3/log.txt',
  '/proc/415/fd/4\t/root/work/old.txt (deleted)',
  '/proc/420/maps:7f5a1c000000-7f5a1c021000 r-xp 00000000 00:1f 1234                       /root/work/bin/prog',
  '/proc/420/exe\t/root/work/bin/prog',
  '/proc/1/comm:lab-init',
  '/proc/97/comm:bash',
  '/proc/412/comm:tail',
  '/proc/415/comm:less',
  '/proc/420/comm:prog',
  '',
].join('\n');

test('the holders report: one entry per program, in pid order, each thing it holds once', () => {
  assert.deepEqual(parseHolders(report), [
    { pid: 97, command: 'bash', holds: ['works in /root/work/farfetch_p3'] },
    {
      pid: 412,
      command: 'tail',
      holds: ['works in /root/work/farfetch_p3', 'has /root/work/farfetch_p3/log.txt open'],
    },
    { pid: 415, command: 'less', holds: ['has /root/work/old.txt (deleted) open'] },
    { pid: 420, command: 'prog', holds: ['has /root/work/bin/prog mapped', 'runs /root/work/bin/prog'] },
  ]);
});

test('a report without holders, or with lines of no holder, lists nobody', () => {
  assert.deepEqual(parseHolders(''), []);
  assert.deepEqual(parseHolders('/proc/1/comm:lab-init\nfind: something\n'), []);
});

test('the refusal names each program, what it holds and what to do', () => {
  assert.equal(
    refusalMessage(parseHolders(report).slice(1, 2), 'umount: /root/work: target is busy.'),
    'Suspend refused: the machine cannot be saved while /root/work (your workspace) is in use, and ' +
      'these programs use it. Nothing was changed.\n' +
      '- tail (pid 412) works in /root/work/farfetch_p3, has /root/work/farfetch_p3/log.txt open: ' +
      'end it (Ctrl-C, or kill 412) or leave /root/work\n' +
      'Then press Suspend again.',
  );
});

test('a refusal with nobody to name says what umount said', () => {
  assert.equal(
    refusalMessage([], 'umount: /root/work: target is busy.\n'),
    'Suspend refused: the machine cannot be saved while /root/work (your workspace) is in use. ' +
      'Nothing was changed. (umount: /root/work: target is busy.)',
  );
});

test("savevm's text: nothing is success, the 9p blocker and any other error in one line", () => {
  assert.equal(snapshotFailure(''), null);
  assert.equal(snapshotFailure('\r\n'), null);
  assert.equal(
    snapshotFailure(
      "savevm: Error: Migration is disabled when VirtFS export path '/home/s/ws' is mounted in the guest " +
        "using mount_tag 'workspace'\r\n",
    ),
    'QEMU cannot save the machine while the guest has the share "workspace" mounted',
  );
  assert.equal(
    snapshotFailure("Error: Device 'drive0' is writable but does not support snapshots\r\n"),
    "QEMU could not save the machine: Device 'drive0' is writable but does not support snapshots",
  );
});

test('the guest scripts: the release exits 3 with a report, the restore mounts before the shells go back', () => {
  assert.match(RELEASE_SHARE, /^mountpoint -q \/root\/work \|\| exit 0$/m);
  assert.match(RELEASE_SHARE, /^exit 3$/m);
  const lines = RESTORE_SHARE.split('\n');
  assert.match(
    lines[0]!,
    /^mountpoint -q \/root\/work \|\| \{ mount -t 9p .*X-mount\.mkdir workspace \/root\/work; \} \|\| \{ rm -f \/run\/farfetchd-lab\/away; exit 1; \}$/,
  );
  assert.equal(lines[1], 'rm -f /run/farfetchd-lab/away');
  assert.match(lines[2]!, /kill -WINCH/);
});

test('the shells go back by the same script after a resume and after a refused suspend', () => {
  assert.deepEqual(SHELLS_BACK.split('\n'), RESTORE_SHARE.split('\n').slice(1));
  assert.equal(FORGET_AWAY, 'rm -f /run/farfetchd-lab/away');
});
