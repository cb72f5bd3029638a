// `farfetchd-lab exec` against the real guest: every line of its contract.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { loadImage } from '../../src/image.ts';
import { guestExec, runCli } from './helpers.ts';

const release = loadImage().manifest.kernelRelease;

test('npx farfetchd-lab exec -- uname -r prints the patched kernel release', async () => {
  const r = await runCli(['exec', '--', 'uname', '-r'], { npx: true });
  // npm itself may warn about this machine's npm configuration; that is not ours to judge.
  assert.equal(r.stderr.replace(/^npm warn .*\n/gm, ''), '');
  assert.equal(r.stdout, `${release}\n`);
  assert.equal(r.code, 0);
  assert.match(release, /^6\.12\.\d+-farfetch$/);
});

test('stdout and stderr are kept apart and the exit status passes through', async () => {
  const r = await guestExec('none', ['sh', '-c', 'echo to-out; echo to-err >&2; exit 7']);
  assert.equal(r.stdout, 'to-out\n');
  assert.equal(r.stderr, 'to-err\n');
  assert.equal(r.code, 7);
});

test('a command runs as root in /root with the lab PATH, and la57 is active', async () => {
  const r = await guestExec('none', [
    'sh',
    '-c',
    'id -u; pwd; for c in farfetchd bvi gcc make; do command -v $c; done; grep -c la57 /proc/cpuinfo',
  ]);
  assert.equal(
    r.stdout,
    '0\n/root\n/usr/local/bin/farfetchd\n/usr/bin/bvi\n/usr/bin/gcc\n/usr/bin/make\n2\n',
  );
  assert.equal(r.code, 0);
});

test('--put copies a static binary built on the host, keeps its mode, and runs it', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'farfetchd-put-'));
  writeFileSync(
    path.join(dir, 'hello.c'),
    '#include <stdio.h>\nint main(int c, char **v) { printf("hello %s %d\\n", v[1], c); return 3; }\n',
  );
  execFileSync('gcc', ['-static', '-O2', '-o', path.join(dir, 'hello'), path.join(dir, 'hello.c')]);
  chmodSync(path.join(dir, 'hello'), 0o751);
  writeFileSync(path.join(dir, 'data.txt'), 'some data\n');
  chmodSync(path.join(dir, 'data.txt'), 0o640);
  const r = await guestExec(
    'p1',
    [
      'sh',
      '-c',
      './hello world; echo "status $?"; stat -c "%a %n" hello /tmp/sub/data.txt; cat /tmp/sub/data.txt',
    ],
    ['--put', path.join(dir, 'hello'), '--put', `${path.join(dir, 'data.txt')}:/tmp/sub/`],
  );
  assert.equal(r.stderr, '');
  assert.equal(r.stdout, 'hello world 2\nstatus 3\n751 hello\n640 /tmp/sub/data.txt\nsome data\n');
  assert.equal(r.code, 0);
});

test('--timeout ends a command that runs too long with exit 124', async () => {
  const r = await guestExec('none', ['sleep', '60'], ['--timeout', '2']);
  assert.equal(r.code, 124);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, "farfetchd-lab: 'sleep' did not finish within 2 s\n");
});

test('a missing image is a lab failure: exit 125 and one line saying what to do', async () => {
  const r = await runCli(['exec', '--', 'true'], { env: { FARFETCHD_LAB_IMAGE: '/nonexistent/image' } });
  assert.equal(r.code, 125);
  assert.equal(r.stdout, '');
  assert.match(
    r.stderr,
    /^farfetchd-lab: lab failure: the guest did not boot: no guest image at \/nonexistent\/image: build it with `npx farfetchd-lab image`.*\n$/,
  );
});

test('a missing QEMU is a lab failure that names what to install', async () => {
  const r = await runCli(['exec', '--', 'true'], {
    env: { FARFETCHD_LAB_QEMU: '/nonexistent/qemu-system-x86_64' },
  });
  assert.equal(r.code, 125);
  assert.match(r.stderr, /^farfetchd-lab: lab failure: .*qemu.*\n$/i);
});

test('exec --module p3 creates /dev/farfetch from the dynamic major', async () => {
  const r = await guestExec('p3', [
    'sh',
    '-c',
    "m=$(awk '$2==\"farfetch\"{print $1}' /proc/devices); stat -c '%F %t %T %a' /dev/farfetch; printf '%x\\n' $m; lsmod | awk '$1 ~ /^farfetch/ {print $1}'",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const [kind, majorField, ...rest] = r.stdout.split('\n');
  assert.match(kind!, /^character special file ([0-9a-f]+) 0 666$/);
  assert.equal(kind!.split(' ')[3], majorField);
  assert.deepEqual(rest, ['farfetch_p3', '']);
});
