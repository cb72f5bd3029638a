// The Windows transport on this machine: the same LabSession code path that Windows runs
// (QMP, the guest agent, the kernel log and the console on QEMU pipe chardevs, QEMU without a
// pty), chosen here with the `transport: 'pipe'` option; on Linux QEMU's pipe chardev is a pair
// of FIFOs that the lab makes with mode 0600 in the private run folder (qemu-pipe.ts).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import type { CrashInfo } from '../../src/api.ts';
import { createQemuProcess, type LabProcess } from '../../src/qemu-process.ts';
import { LabSession } from '../../src/session.ts';
import { consoleUntil } from './helpers.ts';

/** The command line of the QEMU child whose run folder is `runFolder` (Linux /proc). */
function qemuArgsOf(runFolder: string): string[] {
  for (const pid of readdirSync('/proc')) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (argv.some((a) => a.endsWith('qemu-system-x86_64')) && argv.some((a) => a.includes(runFolder))) {
        return argv;
      }
    } catch {
      // gone, or not ours
    }
  }
  return [];
}

test(
  'the pipe transport: boot, agent exec, console both ways, QMP, and a crash read from the kernel log',
  { skip: process.platform !== 'linux' && 'reads QEMU command lines from /proc' },
  async () => {
    const processes: LabProcess[] = [];
    const session = new LabSession({
      transport: 'pipe',
      createProcess: (spec) => {
        assert.equal(spec.transport, 'pipe');
        const proc = createQemuProcess(spec);
        processes.push(proc);
        return proc;
      },
    });
    try {
      await session.start();
      assert.equal(session.status().state, 'ready');
      const proc = processes.at(-1)!;
      const runFolder = proc.runFolder!;

      // QEMU was given pipes, not sockets, and no stdio console (no pty).
      const argv = qemuArgsOf(runFolder);
      const chardevs = argv.filter((_, i) => argv[i - 1] === '-chardev');
      assert.deepEqual(
        chardevs.map((c) => c.replace(runFolder, 'RUN')),
        [
          'pipe,id=console,path=RUN/console',
          'pipe,id=qmp,path=RUN/qmp',
          'pipe,id=kernellog,path=RUN/kernel-log',
          'pipe,id=ga,path=RUN/agent',
        ],
      );
      // The run folder holds the FIFOs (owner-only) and no socket.
      const fifos: string[] = [];
      for (const name of (await readdir(runFolder)).sort()) {
        const info = await stat(path.join(runFolder, name));
        assert.equal(info.isSocket(), false, `${name} is a socket`);
        if (info.isFIFO()) {
          assert.equal(info.mode & 0o777, 0o600, `${name} has mode ${(info.mode & 0o777).toString(8)}`);
          fifos.push(name);
        }
      }
      assert.deepEqual(fifos, [
        'agent.in',
        'agent.out',
        'console.in',
        'console.out',
        'kernel-log.in',
        'kernel-log.out',
        'qmp.in',
        'qmp.out',
      ]);

      // The guest agent over its pipe.
      const uname = await session.run('uname', ['-r']);
      assert.equal(uname.stdout.toString(), '6.12.117-farfetch\n');
      assert.equal(uname.exitCode, 0);

      // The console both ways: typed in, the shell's answer out (not the echo of what was typed).
      const answered = consoleUntil(session, /pipe-console-42/);
      session.writeConsole('echo pipe-console-$((40+2))\n');
      await answered;

      // QMP over its pipe: an HMP command through human-monitor-command.
      assert.equal((await proc.monitor('info status')).trim(), 'VM status: running');

      // A crash, with the kernel's own text, which only the kernel-log pipe carries.
      const crashed = new Promise<CrashInfo>((resolve) => session.once('crash', resolve));
      session.writeConsole('echo c > /proc/sysrq-trigger\n');
      const crash = await crashed;
      assert.equal(session.status().state, 'crashed');
      assert.equal(crash.headline, 'Kernel panic - not syncing: sysrq triggered crash');
      assert.match(crash.log, /sysrq: Trigger a crash/);
    } finally {
      await session.stop();
    }
    assert.equal(session.status().state, 'stopped');
  },
);
