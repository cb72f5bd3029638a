// LabSession against the real guest: boot steps, the console as a real terminal, a crash that is
// detected with its log, and a one-step reset.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { test } from 'node:test';
import type { CrashInfo, VmStatus } from '../../src/api.ts';
import { LabSession } from '../../src/session.ts';
import { cliPath } from './helpers.ts';

function consoleUntil(session: LabSession, pattern: RegExp, timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => {
      session.off('console', onData);
      reject(new Error(`console never matched ${pattern}; saw: ${JSON.stringify(seen.slice(-500))}`));
    }, timeoutMs);
    const onData = (data: string) => {
      seen += data;
      if (pattern.test(seen)) {
        clearTimeout(timer);
        session.off('console', onData);
        resolve(seen);
      }
    };
    session.on('console', onData);
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
    assert.equal(status.accelerator?.accel, process.env.FARFETCHD_LAB_ACCEL ?? 'tcg');
    assert.match(status.kernelRelease ?? '', /-farfetch$/);

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
    assert.deepEqual(states, ['booting', 'ready', 'crashed', 'stopping', 'stopped', 'booting', 'ready']);
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

test('QEMU does not outlive a killed farfetchd-lab process', async () => {
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
});
