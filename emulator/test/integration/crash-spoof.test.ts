// Crash detection against the real guest: what a program prints on the student's console — a
// fake panic line, a saved oops, dmesg after a real oops — never counts as a crash, and a real
// oops and a real panic, which the kernel prints on its own console (hvc0), still do. One session,
// in order: (a), (b) and (c) share a boot; (d) runs after a reset.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { CrashInfo } from '../../src/api.ts';
import { loadImage } from '../../src/image.ts';
import { LabSession } from '../../src/session.ts';
import { consoleUntil } from './helpers.ts';

const moduleDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'crash-module');
const session = new LabSession({ cols: 160, rows: 40 });
const crashes: CrashInfo[] = [];
session.on('crash', (crash) => crashes.push(crash));
let release = '';

/** How often `text` occurs in `haystack`. */
function count(haystack: string, text: string): number {
  return haystack.split(text).length - 1;
}

/** A crash log holds the kernel's lines only: each has its timestamp (init's start line aside). */
function assertKernelLines(log: string): void {
  for (const line of log.split('\n').filter(Boolean)) {
    assert.match(line, /^(\[\s*\d+\.\d+\] |farfetchd-lab: init started$)/, `not a kernel line: ${line}`);
  }
}

before(async () => {
  await session.start();
  release = (await session.sh('uname -r')).trim();
  assert.equal(release, loadImage().manifest.kernelRelease);
});

after(async () => {
  await session.stop();
});

test('no program can write to the kernel log: /dev/hvc0 is gone and its port refuses to open', async () => {
  const r = await session.run('sh', [
    '-c',
    `ls /dev/hvc0; for p in /sys/class/virtio-ports/*; do
       [ "$(cat $p/name)" = org.farfetchd_lab.kernel_log ] && echo x > /dev/\${p##*/}; done; true`,
  ]);
  assert.match(r.stderr.toString(), /^ls: cannot access '\/dev\/hvc0': No such file or directory\n/);
  assert.match(r.stderr.toString(), /\/dev\/vport\dp0: No such device or address\n$/);
});

test('(a) a panic line printed at the shell leaves the machine ready', async () => {
  const seen = consoleUntil(session, /spoof-a-2/);
  session.writeConsole("printf '[    1.000000] Kernel panic - not syncing: x\\n'; echo spoof-a-$((1+1))\n");
  // printf's output, at the start of a line (the echo of the command has "printf '" before it;
  // bash's bracketed-paste switch ends with a \r before the output).
  assert.match(await seen, /[\r\n]\[ {4}1\.000000\] Kernel panic - not syncing: x\r\r?\n/);
  assert.equal((await session.sh('uname -r')).trim(), release);
  assert.equal(session.status().state, 'ready');
  assert.deepEqual(crashes, []);
  assert.equal(count(session.kernelLogTail, 'not syncing'), 0, 'the shell text reached the kernel log');
});

// A saved report (the shape of the oops (c) causes), as a student might keep one to read later.
const SAVED_OOPS = [
  '[   41.873921] BUG: kernel NULL pointer dereference, address: 0000000000000000',
  '[   41.874511] #PF: supervisor write access in kernel mode',
  '[   41.874902] #PF: error_code(0x0002) - not-present page',
  '[   41.875630] Oops: Oops: 0002 [#1] PREEMPT SMP NOPTI',
  '[   41.876512] RIP: 0010:null_write+0x8/0x10 [lab_crash]',
  '[   41.877203] Call Trace:',
  '[   41.879001] Kernel panic - not syncing: Fatal exception',
  '',
].join('\n');

test('(b) cat of a saved oops log leaves the machine ready', async () => {
  await session.putFile('/root/saved-oops.log', Buffer.from(SAVED_OOPS), 0o644);
  const seen = consoleUntil(session, /spoof-b-4/);
  session.writeConsole('cat /root/saved-oops.log; echo spoof-b-$((2+2))\n');
  const out = await seen;
  assert.match(out, /[\r\n]\[ {3}41\.873921\] BUG: kernel NULL pointer dereference, address: 0{16}\r\r?\n/);
  assert.match(out, /[\r\n]\[ {3}41\.879001\] Kernel panic - not syncing: Fatal exception\r\r?\n/);
  assert.equal((await session.sh('uname -r')).trim(), release);
  assert.equal(session.status().state, 'ready');
  assert.deepEqual(crashes, []);
  assert.equal(count(session.kernelLogTail, 'NULL pointer'), 0, 'the shell text reached the kernel log');
});

test('(c) a real oops is caught from the kernel log; dmesg after it, which reprints it, is not a second crash', async () => {
  await session.sh('mkdir -p /root/lab_crash');
  for (const file of ['lab_crash.c', 'Makefile']) {
    await session.putFile(`/root/lab_crash/${file}`, readFileSync(path.join(moduleDir, file)), 0o644);
  }
  await session.sh('make -s -C /root/lab_crash && insmod /root/lab_crash/lab_crash.ko', 600_000);
  // Seconds have passed since (a) and (b): a crash that their text had caused would be here.
  assert.deepEqual(crashes, []);
  assert.equal(session.status().state, 'ready');

  const crashed = new Promise<CrashInfo>((resolve) => session.once('crash', resolve));
  const shellBack = consoleUntil(session, /oops-c-3/);
  session.writeConsole("sh -c 'echo 1 > /sys/kernel/debug/lab_crash/null_write'; echo oops-c-$((1+2))\n");
  const crash = await crashed;
  assert.equal(crash.kind, 'oops');
  assert.equal(crash.headline, 'BUG: kernel NULL pointer dereference, address: 0000000000000000');
  assert.match(crash.log, /\] Oops: Oops: 0002 \[#1\]/);
  assert.match(crash.log, /\] RIP: 0010:null_write\+0x[0-9a-f]+\/0x[0-9a-f]+ \[lab_crash\]/);
  assertKernelLines(crash.log);
  assert.equal(session.status().state, 'crashed');
  // The oops killed only the writer: the student's shell runs on (and showed the oops too).
  assert.match(await shellBack, /BUG: kernel NULL pointer dereference/);

  const reprinted = consoleUntil(session, /dmesg-c-6/);
  session.writeConsole('dmesg | grep -A3 "NULL pointer" | cat; echo dmesg-c-$((3+3))\n');
  assert.match(
    await reprinted,
    /[\r\n]\[ *\d+\.\d+\] BUG: kernel NULL pointer dereference, address: 0{16}\r\r?\n/,
  );
  assert.equal(crashes.length, 1);
  assert.equal(session.status().state, 'crashed');
  assert.deepEqual(session.status().crash, crash);
  assert.equal(count(session.kernelLogTail, 'BUG: kernel NULL pointer dereference'), 1);
});

test('(d) a real panic (sysrq) is caught, with its headline, after a reset', async () => {
  await session.reset();
  const crashesBefore = crashes.length;
  assert.equal(session.status().state, 'ready');
  assert.equal(session.status().crash, undefined);
  const crashed = new Promise<CrashInfo>((resolve) => session.once('crash', resolve));
  session.writeConsole('echo c > /proc/sysrq-trigger\n');
  const crash = await crashed;
  assert.equal(crash.kind, 'panic');
  assert.equal(crash.headline, 'Kernel panic - not syncing: sysrq triggered crash');
  assert.match(crash.log, /\] sysrq: Trigger a crash\n/);
  assertKernelLines(crash.log); // no shell prompt, no echo of the command
  assert.equal(session.status().state, 'crashed');
  assert.equal(crashes.length, crashesBefore + 1);
});
