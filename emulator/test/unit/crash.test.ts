import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CrashInfo } from '../../src/api.ts';
import { CrashDetector, classifyConsoleLine } from '../../src/crash.ts';

test('a kernel panic line is classified with its headline', () => {
  assert.deepEqual(
    classifyConsoleLine('[   12.345678] Kernel panic - not syncing: sysrq triggered crash\r'),
    {
      kind: 'panic',
      headline: 'Kernel panic - not syncing: sysrq triggered crash',
    },
  );
});

test("the serial console's \\r\\r line ends and a shell's escape sequences before the text are ignored", () => {
  assert.equal(
    classifyConsoleLine('\x1b[?2004l\r[    2.339437] Kernel panic - not syncing: sysrq triggered crash\r\r')
      ?.headline,
    'Kernel panic - not syncing: sysrq triggered crash',
  );
});

test('oops, general protection fault and BUG lines are classified', () => {
  assert.equal(classifyConsoleLine('[    3.100000] Oops: 0002 [#1] PREEMPT SMP NOPTI')?.kind, 'oops');
  assert.equal(
    classifyConsoleLine('[    3.100000] Oops: general protection fault, probably for ...')?.kind,
    'oops',
  );
  assert.equal(
    classifyConsoleLine('[    3.100000] BUG: kernel NULL pointer dereference, address: 0000000000000000')
      ?.kind,
    'bug',
  );
});

test('text a user typed is not a crash: only kernel lines with a timestamp count', () => {
  assert.equal(classifyConsoleLine('root:~# echo "Kernel panic - not syncing: fake"'), null);
  assert.equal(classifyConsoleLine('Kernel panic - not syncing: fake'), null);
  assert.equal(classifyConsoleLine('[    1.000000] WARNING: CPU: 0 PID: 1 at foo'), null);
});

test('the detector reports once, with the lines before the crash and the backtrace after it', async () => {
  const detector = new CrashDetector();
  const crashes: CrashInfo[] = [];
  detector.on('crash', (c) => crashes.push(c));
  detector.feed('[    1.0] line one\r\n[    1.1] line two\r\n[    2.0] sysrq: Trigger a cr');
  detector.feed('ash\r\n[    2.1] Kernel panic - not syncing: sysrq triggered crash\r\n');
  detector.feed('[    2.2] CPU: 1 PID: 80 Comm: sh\r\n[    2.3] Call Trace:\r\n');
  detector.feed('[    2.4] Kernel panic - not syncing: again\r\n');
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(crashes.length, 1);
  const crash = crashes[0]!;
  assert.equal(crash.kind, 'panic');
  assert.equal(crash.headline, 'Kernel panic - not syncing: sysrq triggered crash');
  assert.ok(crash.log.includes('[    2.0] sysrq: Trigger a crash\n'), crash.log);
  assert.ok(crash.log.includes('[    2.3] Call Trace:\n'), crash.log);
  assert.ok(!crash.log.includes('\r'));
});

test('pvpanic without console text still reports a crash; reset() forgets it', async () => {
  const detector = new CrashDetector();
  const crashes: CrashInfo[] = [];
  detector.on('crash', (c) => crashes.push(c));
  detector.feed('some output\n');
  detector.pvpanic();
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(crashes.length, 1);
  assert.equal(crashes[0]!.kind, 'pvpanic');
  detector.reset();
  assert.equal(detector.tail(), '');
  detector.feed('[    9.9] BUG: unable to handle page fault for address: 0\n');
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(crashes.length, 2);
  assert.equal(crashes[1]!.kind, 'bug');
});

test('a pvpanic event that overtakes the console text is reported with the console headline', async () => {
  const detector = new CrashDetector();
  const crashes: CrashInfo[] = [];
  detector.on('crash', (c) => crashes.push(c));
  detector.feed('[    5.0] sysrq: Trigger a crash\r\n');
  detector.pvpanic();
  detector.feed('[    5.1] Kernel panic - not syncing: sysrq triggered crash\r\n');
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(crashes.length, 1);
  assert.equal(crashes[0]!.kind, 'panic');
  assert.equal(crashes[0]!.headline, 'Kernel panic - not syncing: sysrq triggered crash');
  assert.match(crashes[0]!.log, /sysrq: Trigger a crash/);
});
