// LabSession against the real guest: boot steps, the console as a real terminal, a crash that is
// detected with its log, a one-step reset; the guest's own poweroff, halt and reboot; QEMU
// killed from outside; and nothing left behind by a stop during the boot.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { CrashInfo, VmStatus } from '../../src/api.ts';
import { loadImage } from '../../src/image.ts';
import { LabSession } from '../../src/session.ts';
import {
  acceleratorChoice,
  cliPath,
  consoleUntil,
  labAcceleratorDecision,
  runFoldersOf,
  runFoldersOfThisProcess,
  untilState,
} from './helpers.ts';

/**
 * This process's session QEMUs (node-pty spawns QEMU as a child of the session's process; the
 * accelerator probe's QEMUs have no run folder).
 */
function qemuChildren(): number[] {
  let pids: number[];
  try {
    pids = execFileSync('pgrep', ['-P', String(process.pid)])
      .toString()
      .trim()
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
  return pids.filter((pid) => {
    try {
      const argv = execFileSync('cat', [`/proc/${pid}/cmdline`])
        .toString()
        .split('\0');
      return argv[0]!.endsWith('qemu-system-x86_64') && argv.some((a) => a.includes('/farfetchd-lab-'));
    } catch {
      return false;
    }
  });
}

test('boot, a real terminal on the console, an injected panic, then reset()', async () => {
  const session = new LabSession({ cols: 120, rows: 40 });
  const states: string[] = [];
  session.on('status', (s: VmStatus) => {
    if (states.at(-1) !== s.state) states.push(s.state);
  });
  try {
    await session.start();
    const status = session.status();
    assert.equal(status.state, 'ready');
    assert.deepEqual(
      status.bootSteps.map((s) => s.step),
      ['qemu-started', 'kernel-up', 'init', 'agent-ready'],
    );
    // The accelerator the lab decides on this machine (asked after the boot: a boot that fell back
    // to TCG has revised the verdict by then), with its label and the reason for a fallback.
    const decided = (await labAcceleratorDecision()).info;
    assert.deepEqual(acceleratorChoice(status.accelerator), acceleratorChoice(decided));
    assert.equal(status.kernelRelease, loadImage().manifest.kernelRelease);

    // The console is a terminal: stty sees the size we set, and Ctrl-C interrupts a command
    // instead of killing QEMU.
    await session.resizeConsole(132, 43);
    const sized = consoleUntil(session, /size=43 132/);
    session.writeConsole('echo size=$(stty size)\n');
    await sized;
    const interrupted = consoleUntil(session, /after-interrupt/);
    session.writeConsole('sleep 100\n');
    await new Promise((r) => setTimeout(r, 500));
    session.writeConsole('\x03');
    session.writeConsole('echo after-interrupt\n');
    await interrupted;
    assert.equal(session.status().state, 'ready');

    const crashed = new Promise<CrashInfo>((resolve) => session.once('crash', resolve));
    session.writeConsole('echo c > /proc/sysrq-trigger\n');
    const crash = await crashed;
    assert.equal(session.status().state, 'crashed');
    assert.equal(crash.kind, 'panic');
    assert.equal(crash.headline, 'Kernel panic - not syncing: sysrq triggered crash');
    assert.match(crash.log, /sysrq: Trigger a crash/);
    await assert.rejects(session.run('true', []), /the guest is not ready \(it is crashed\)/);

    await session.reset();
    assert.equal(session.status().state, 'ready');
    assert.equal(session.status().crash, undefined);
    const r = await session.run('sh', ['-c', "echo back; dmesg | grep -c 'sysrq triggered crash' || true"]);
    assert.equal(r.stdout.toString(), 'back\n0\n');
    // In place: the warm snapshot loaded into the same QEMU (session-reset.test.ts).
    assert.deepEqual(states, ['booting', 'ready', 'crashed', 'booting', 'ready']);
  } finally {
    await session.stop();
  }
  assert.equal(session.status().state, 'stopped');
});

test('loadModule swaps reference modules and reports the loaded one', async () => {
  const session = new LabSession();
  try {
    await session.start();
    await session.loadModule('p1');
    assert.equal(session.status().loadedModule, 'p1');
    await session.loadModule('p3');
    assert.equal(session.status().loadedModule, 'p3');
    const mods = await session.sh(
      "lsmod | awk '$1 ~ /^farfetch/ {print $1}'; test -c /dev/farfetch && echo dev",
    );
    assert.equal(mods, 'farfetch_p3\ndev\n');
    await session.loadModule('none');
    assert.equal(
      await session.sh("lsmod | grep -c '^farfetch' || true; test -e /dev/farfetch || echo nodev"),
      '0\nnodev\n',
    );
  } finally {
    await session.stop();
  }
});

test('QEMU does not outlive a killed farfetchd-lab process, and its run folder goes at the next start', async () => {
  const child = spawn(process.execPath, [cliPath, 'exec', '--', 'sleep', '100'], { stdio: 'ignore' });
  const qemuPids = async (): Promise<string[]> => {
    try {
      return execFileSync('pgrep', ['-P', String(child.pid)])
        .toString()
        .trim()
        .split('\n')
        .filter(Boolean);
    } catch {
      return [];
    }
  };
  // Wait until farfetchd-lab has QEMU running (its child), then kill farfetchd-lab hard.
  let children: string[] = [];
  for (let i = 0; i < 100 && children.length === 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
    children = await qemuPids();
  }
  assert.ok(children.length > 0, 'farfetchd-lab never started QEMU');
  await new Promise((r) => setTimeout(r, 3000));
  child.kill('SIGKILL');
  let alive = children;
  for (let i = 0; i < 50 && alive.length > 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
    alive = alive.filter((pid) => {
      try {
        process.kill(Number(pid), 0);
        return true;
      } catch {
        return false;
      }
    });
  }
  assert.deepEqual(alive, [], 'QEMU survived its parent');

  // Its run folder (overlay, sockets) is left behind, naming a dead process: the next session
  // removes it when it starts.
  const left = await runFoldersOf(child.pid!);
  assert.equal(left.length, 1, 'the killed lab left no run folder to clean up');
  const session = new LabSession();
  try {
    await session.start();
    assert.equal(existsSync(path.join(os.tmpdir(), left[0]!)), false);
  } finally {
    await session.stop();
  }
});

test('poweroff and halt typed at the guest shell: stopped, saying so, nothing left behind', async () => {
  const session = new LabSession();
  try {
    await session.start();
    const stopped = untilState(session, 'stopped');
    session.writeConsole('poweroff\n');
    const status = await stopped;
    assert.equal(status.stopReason, 'the guest powered off');
    assert.equal(status.crash, undefined);
    assert.deepEqual(qemuChildren(), []);
    assert.deepEqual(await runFoldersOfThisProcess(), []);

    await session.start();
    assert.equal(session.status().stopReason, undefined);
    const said = consoleUntil(session, /halt: on a virtual machine halting is powering off: powering off/);
    const halted = untilState(session, 'stopped');
    session.writeConsole('halt\n');
    await said;
    assert.equal((await halted).stopReason, 'the guest powered off');
    assert.deepEqual(qemuChildren(), []);
    assert.deepEqual(await runFoldersOfThisProcess(), []);
  } finally {
    await session.stop();
  }
});

test('reboot typed at the guest shell: the same machine boots again, its disk and the workspace intact', async () => {
  const workspace = await mkdtemp(path.join(os.tmpdir(), 'lab-ws-'));
  const session = new LabSession({ workspace });
  const states: string[] = [];
  session.on('status', (s) => {
    if (states.at(-1) !== s.state) states.push(s.state);
  });
  try {
    await writeFile(path.join(workspace, 'notes.txt'), 'from the host\n');
    await session.start();
    await session.sh(
      'echo written-before-reboot > /root/kept.txt && echo from-the-guest > /root/work/guest.txt',
    );
    const [firstQemu] = qemuChildren();
    const rebooting = untilState(session, 'booting');
    session.writeConsole('reboot\n');
    await rebooting;
    await untilState(session, 'ready');
    assert.deepEqual(states, ['booting', 'ready', 'booting', 'ready']);
    assert.equal(session.status().stopReason, undefined);
    assert.equal(
      await session.sh('cat /root/kept.txt /root/work/notes.txt /root/work/guest.txt'),
      'written-before-reboot\nfrom the host\nfrom-the-guest\n',
    );
    // A new QEMU, and the old one gone.
    assert.equal(qemuChildren().length, 1);
    assert.notEqual(qemuChildren()[0], firstQemu);
    assert.equal((await runFoldersOfThisProcess()).length, 1);
  } finally {
    await session.stop();
    await rm(workspace, { recursive: true, force: true });
  }
  assert.deepEqual(await runFoldersOfThisProcess(), []);
});

test('QEMU killed from outside: crashed with the reason; reset brings a clean guest', async () => {
  const session = new LabSession();
  try {
    await session.start();
    const [qemu] = qemuChildren();
    assert.ok(qemu, 'no QEMU child found');
    const crashed = untilState(session, 'crashed');
    process.kill(qemu, 'SIGKILL');
    const status = await crashed;
    assert.equal(status.stopReason, 'QEMU was killed (SIGKILL)');
    assert.equal(status.crash?.kind, 'qemu-exit');
    assert.equal(status.crash?.headline, 'QEMU was killed (SIGKILL)');
    assert.deepEqual(await runFoldersOfThisProcess(), []);
    await session.reset();
    assert.equal(session.status().state, 'ready');
    assert.equal(session.status().stopReason, undefined);
    assert.equal(await session.sh('echo alive'), 'alive\n');
  } finally {
    await session.stop();
  }
});

test('stop during the boot: the boot is cancelled, no QEMU and no run folder left', async () => {
  const session = new LabSession({ warmBoot: false });
  const qemuStarted = new Promise<void>((resolve) =>
    session.on('status', (s) => s.bootSteps.some((b) => b.step === 'qemu-started') && resolve()),
  );
  const starting = session.start();
  await qemuStarted;
  assert.equal(session.status().state, 'booting');
  assert.equal(qemuChildren().length, 1);
  await session.stop();
  await assert.rejects(starting, /^LabBootError: the boot was cancelled: the machine was stopped$/);
  assert.equal(session.status().state, 'stopped');
  assert.deepEqual(qemuChildren(), []);
  assert.deepEqual(await runFoldersOfThisProcess(), []);
});

test('reset during the first boot warm-up: one machine in the end, no QEMU, folder or half-made snapshot left over', async () => {
  const cache = await mkdtemp(path.join(os.tmpdir(), 'lab-cache-'));
  const env = { ...process.env, FARFETCHD_LAB_CACHE: cache };
  const session = new LabSession({ env });
  try {
    const starting = session.start();
    // The warm-up shows no boot steps: wait for its QEMU.
    for (let i = 0; i < 600 && qemuChildren().length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(qemuChildren().length, 1, 'the warm-up QEMU never started');
    await session.reset();
    await assert.rejects(starting, /^LabBootError: the boot was cancelled: the machine was stopped$/);
    assert.equal(session.status().state, 'ready');
    assert.equal(qemuChildren().length, 1);
    assert.equal((await runFoldersOfThisProcess()).length, 1);
    const files = await readdir(cache);
    // One whole snapshot (no .tmp copy left by the interrupted warm-up), and the sidecar that
    // registers this image folder for the snapshot cleanup.
    const warm = files.filter((f) => f.startsWith('warm-') && !f.endsWith('.image'));
    assert.equal(warm.length, 1, `warm files: ${warm.join(' ')}`);
    const { key } = loadImage().manifest;
    assert.deepEqual(
      files.filter((f) => f.endsWith('.image')).map((f) => f.replace(/\.[0-9a-f]+\.image$/, '')),
      [`warm-${key}`],
    );
    const { accel } = session.status().accelerator!;
    assert.equal(accel, (await labAcceleratorDecision(env)).info.accel);
    assert.match(warm[0]!, new RegExp(`^warm-[0-9a-f]{16}-[0-9a-f]{8}-${accel}-512-2-nows\\.qcow2$`));
  } finally {
    await session.stop();
    await rm(cache, { recursive: true, force: true });
  }
  assert.deepEqual(qemuChildren(), []);
  assert.deepEqual(await runFoldersOfThisProcess(), []);
});
