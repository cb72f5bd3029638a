import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CrashInfo } from '../../src/api.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { CrashDetector, classifyKernelLine } from '../../src/crash.ts';
import { KernelLogListener } from '../../src/kernel-log.ts';

test('a kernel panic line is classified with its headline', () => {
  assert.deepEqual(classifyKernelLine('[   12.345678] Kernel panic - not syncing: sysrq triggered crash\r'), {
    kind: 'panic',
    headline: 'Kernel panic - not syncing: sysrq triggered crash',
  });
});

test("the serial console's \\r\\n and a tty's \\r\\r\\n line ends are not part of the headline", () => {
  for (const end of ['\r', '\r\r', '']) {
    assert.equal(
      classifyKernelLine(`[    2.339437] Kernel panic - not syncing: sysrq triggered crash${end}`)?.headline,
      'Kernel panic - not syncing: sysrq triggered crash',
    );
  }
});

test('oops, general protection fault and BUG lines are classified', () => {
  assert.equal(classifyKernelLine('[    3.100000] Oops: 0002 [#1] PREEMPT SMP NOPTI')?.kind, 'oops');
  assert.equal(
    classifyKernelLine('[    3.100000] Oops: general protection fault, probably for ...')?.kind,
    'oops',
  );
  assert.equal(
    classifyKernelLine('[    3.100000] BUG: kernel NULL pointer dereference, address: 0000000000000000')
      ?.kind,
    'bug',
  );
});

test("a kernel general protection fault is an oops; a user program's #GP (traps:) is not a crash", () => {
  assert.deepEqual(
    classifyKernelLine(
      '[    5.200000] general protection fault, probably for non-canonical address 0xdead000000000100: 0000 [#1] PREEMPT SMP NOPTI',
    ),
    {
      kind: 'oops',
      headline:
        'general protection fault, probably for non-canonical address 0xdead000000000100: 0000 [#1] PREEMPT SMP NOPTI',
    },
  );
  assert.equal(
    classifyKernelLine(
      '[   61.734210] traps: prog[123] general protection fault ip:401136 sp:7ffd3c1e9a40 error:0 in prog[401000+1000]\r',
    ),
    null,
  );
});

test('on the kernel log, only lines with the kernel timestamp count, and only crash headlines', () => {
  assert.equal(classifyKernelLine('root:~# echo "Kernel panic - not syncing: fake"'), null);
  assert.equal(classifyKernelLine('Kernel panic - not syncing: fake'), null);
  assert.equal(classifyKernelLine('[    1.000000] WARNING: CPU: 0 PID: 1 at foo'), null);
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

test("a line the shell prints looks exactly like the kernel's: why the detector reads only the kernel's port", () => {
  // `printf '[    1.000000] Kernel panic - not syncing: x\n'` at the shell, as the console shows it.
  assert.deepEqual(classifyKernelLine('[    1.000000] Kernel panic - not syncing: x\r\r'), {
    kind: 'panic',
    headline: 'Kernel panic - not syncing: x',
  });
});

/** A real KernelLogListener with a socket client standing in for QEMU's chardev. */
async function kernelChannel(): Promise<{
  detector: CrashDetector;
  crashes: CrashInfo[];
  qemu: net.Socket;
  done: () => Promise<void>;
}> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'crash-test-'));
  const listener = await KernelLogListener.listen({ kind: 'unix', path: path.join(dir, 'k.sock') });
  const detector = new CrashDetector();
  const crashes: CrashInfo[] = [];
  detector.on('crash', (c) => crashes.push(c));
  listener.on('data', (text) => detector.feed(text));
  const endpoint = listener.endpoint;
  assert.equal(endpoint.kind, 'unix');
  const qemu = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect(endpoint.kind === 'unix' ? endpoint.path : '', () => resolve(s));
    s.once('error', reject);
  });
  return {
    detector,
    crashes,
    qemu,
    done: async () => {
      qemu.destroy();
      await listener.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Writes each chunk as its own socket write, waiting until the detector has it. */
async function send(qemu: net.Socket, detector: CrashDetector, chunks: string[]): Promise<void> {
  for (const chunk of chunks) {
    const before = detector.tail().length;
    qemu.write(chunk);
    while (detector.tail().length < before + Buffer.from(chunk).toString().length) {
      await new Promise((r) => setImmediate(r));
    }
  }
}

// An oops as this guest's kernel prints it on a serial console (NULL write in a module).
const OOPS = [
  '[   41.873921] BUG: kernel NULL pointer dereference, address: 0000000000000000\r\n',
  '[   41.874511] #PF: supervisor write access in kernel mode\r\n',
  '[   41.874902] #PF: error_code(0x0002) - not-present page\r\n',
  '[   41.875630] Oops: Oops: 0002 [#1] PREEMPT SMP NOPTI\r\n',
  '[   41.876001] CPU: 1 UID: 0 PID: 93 Comm: sh Tainted: G           O       6.12.57-farfetch #1\r\n',
  '[   41.876512] RIP: 0010:crash_write+0x5/0x10 [lab_crash]\r\n',
  '[   41.877203] Call Trace:\r\n',
].join('');

test('a real oops on the kernel channel is caught, its lines split across reads anywhere', async () => {
  const { detector, crashes, qemu, done } = await kernelChannel();
  try {
    // Split inside the timestamp, inside the headline and between \r and \n.
    const cuts = [5, 60, 95, 96, 170, 171, OOPS.length - 1];
    const chunks = cuts.map((end, i) => OOPS.slice(i === 0 ? 0 : cuts[i - 1], end));
    chunks.push(OOPS.slice(cuts.at(-1)));
    assert.equal(chunks.join(''), OOPS);
    await send(qemu, detector, [
      '[   40.000000] lab_crash: loading out-of-tree module taints kernel.\r\n',
      ...chunks,
    ]);
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(crashes.length, 1);
    // The report starts with its BUG: line and is an oops: the Oops: line follows.
    assert.equal(crashes[0]!.kind, 'oops');
    assert.equal(crashes[0]!.headline, 'BUG: kernel NULL pointer dereference, address: 0000000000000000');
    assert.equal(
      crashes[0]!.log,
      '[   40.000000] lab_crash: loading out-of-tree module taints kernel.\n' + OOPS.replace(/\r/g, ''),
    );
  } finally {
    await done();
  }
});

test('a real panic on the kernel channel with \\r\\r\\n line ends is caught with its headline', async () => {
  const { detector, crashes, qemu, done } = await kernelChannel();
  try {
    await send(qemu, detector, [
      '[   12.100000] sysrq: Trigger a crash\r\r\n[   12.100100] Kernel panic - not syncing: sysrq trig',
      'gered crash\r',
      '\r\n[   12.100200] CPU: 0 UID: 0 PID: 80 Comm: bash\r\r\n',
    ]);
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(crashes.length, 1);
    assert.equal(crashes[0]!.kind, 'panic');
    assert.equal(crashes[0]!.headline, 'Kernel panic - not syncing: sysrq triggered crash');
    assert.equal(
      crashes[0]!.log,
      '[   12.100000] sysrq: Trigger a crash\n[   12.100100] Kernel panic - not syncing: sysrq triggered crash\n' +
        '[   12.100200] CPU: 0 UID: 0 PID: 80 Comm: bash\n',
    );
  } finally {
    await done();
  }
});

test('a lone BUG: report stays a bug; a panic after an oops makes it a panic headed by the panic line', async () => {
  const detector = new CrashDetector();
  const crashes: CrashInfo[] = [];
  detector.on('crash', (c) => crashes.push(c));
  detector.feed('[    3.0] BUG: sleeping function called from invalid context at mm/slab.h:1\r\n');
  detector.feed('[    3.1] in_atomic(): 1, irqs_disabled(): 0, pid: 90, name: sh\r\n');
  await new Promise((r) => setTimeout(r, 600));
  detector.reset();
  detector.feed(
    '[    4.0] Oops: general protection fault, probably for non-canonical address 0xdead: 0000 [#1]\r\n',
  );
  detector.feed('[    4.1] BUG: this line does not lower the kind\r\n');
  detector.feed('[    4.2] Kernel panic - not syncing: Fatal exception in interrupt\r\n');
  await new Promise((r) => setTimeout(r, 600));
  assert.deepEqual(
    crashes.map((c) => [c.kind, c.headline]),
    [
      ['bug', 'BUG: sleeping function called from invalid context at mm/slab.h:1'],
      ['panic', 'Kernel panic - not syncing: Fatal exception in interrupt'],
    ],
  );
  assert.match(crashes[1]!.log, /^\[ {4}4\.0\] Oops: general protection fault/);
});
