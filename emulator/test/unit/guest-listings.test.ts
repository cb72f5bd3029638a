// lab_introspect's listings (the tasks and devnodes files) and /etc/passwd, parsed into the
// panels' process list and /dev nodes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDevnodes, parsePasswd, parseTasks, processList } from '../../src/guest-listings.ts';

// What the tasks file prints: a kernel thread, a zombie, a comm with a space and one with an
// escaped newline.
const TASKS =
  '1 0 0 1 lab-init\n2 0 0 0 kthreadd\n120 1 0 1 bash\n212 120 1000 1 mmap\n' +
  '213 120 1000 0 fork\n214 120 4242 1 my prog\n215 1 0 1 a\\012b\\134\n';
const PASSWD =
  'root:x:0:0:root:/root:/bin/bash\n# a comment\nstudent:x:1000:1000::/home/student:/bin/bash\n' +
  'alias:x:1000:1000::/:/bin/sh\n';

test('the tasks file: every field, comm unescaped, spaces kept', () => {
  const tasks = parseTasks(TASKS);
  assert.equal(tasks.length, 7);
  assert.deepEqual(tasks[1], { pid: 2, ppid: 0, euid: 0, hasMm: false, comm: 'kthreadd' });
  assert.deepEqual(tasks[5], { pid: 214, ppid: 120, euid: 4242, hasMm: true, comm: 'my prog' });
  assert.equal(tasks[6]!.comm, 'a\nb\\');
  assert.throws(
    () => parseTasks('1 0 0 2 init\n'),
    /^GuestOutputError: not a lab_introspect tasks line: 1 0 0 2 init$/,
  );
  assert.throws(() => parseTasks('1 0 root 1 init\n'), /not a lab_introspect tasks line: 1 0 root 1 init/);
});

test("/etc/passwd: a uid's first name; a malformed line is an error", () => {
  assert.deepEqual(
    [...parsePasswd(PASSWD)],
    [
      [0, 'root'],
      [1000, 'student'],
    ],
  );
  assert.throws(() => parsePasswd('root:x:zero:0::/:/bin/sh\n'), /not an \/etc\/passwd line: root:x:zero/);
});

test('the process list: address spaces only, users named (or their uid), targets first', () => {
  assert.deepEqual(processList(parseTasks(TASKS), parsePasswd(PASSWD)), [
    { pid: 212, user: 'student', command: 'mmap', target: true },
    { pid: 1, user: 'root', command: 'lab-init', target: false },
    { pid: 120, user: 'root', command: 'bash', target: false },
    { pid: 214, user: '4242', command: 'my prog', target: false },
    { pid: 215, user: 'root', command: 'a\nb\\', target: false },
  ]);
});

test('the devnodes file: type, major:minor of devices only, mode, sorted, no dot entries', () => {
  const text =
    'c 1 3 666 null\nb 254 0 660 vda\nd 0 0 755 pts\nl 0 0 777 fd\nc 246 0 666 farfetch\n' +
    '- 0 0 644 notes\np 0 0 600 pipe\ns 0 0 755 log\nc 5 1 4620 console\nd 0 0 1777 .hidden\n';
  assert.deepEqual(parseDevnodes(text), [
    { path: '/dev/console', type: 'char', major: 5, minor: 1, mode: '04620' },
    { path: '/dev/farfetch', type: 'char', major: 246, minor: 0, mode: '0666' },
    { path: '/dev/fd', type: 'symlink', major: null, minor: null, mode: '0777' },
    { path: '/dev/log', type: 'other', major: null, minor: null, mode: '0755' },
    { path: '/dev/notes', type: 'file', major: null, minor: null, mode: '0644' },
    { path: '/dev/null', type: 'char', major: 1, minor: 3, mode: '0666' },
    { path: '/dev/pipe', type: 'other', major: null, minor: null, mode: '0600' },
    { path: '/dev/pts', type: 'directory', major: null, minor: null, mode: '0755' },
    { path: '/dev/vda', type: 'block', major: 254, minor: 0, mode: '0660' },
  ]);
  assert.deepEqual(parseDevnodes('c 1 3 0 a\\040b\n'), [
    { path: '/dev/a b', type: 'char', major: 1, minor: 3, mode: '0000' },
  ]);
  assert.throws(
    () => parseDevnodes('x 1 3 666 null\n'),
    /not a lab_introspect devnodes line: x 1 3 666 null/,
  );
  assert.throws(() => parseDevnodes('c 1 3 668 null\n'), /not a lab_introspect devnodes line/);
});
