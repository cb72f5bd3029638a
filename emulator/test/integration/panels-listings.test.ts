// The panels' process list and driver report, read from lab_introspect's debugfs listings with
// no guest process, against what the guest's own tools say in the same guest: ps, stat and
// ls -l over /dev, cat /proc/devices.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DeviceNode, ProcessInfo } from '../../src/api.ts';
import { parseDevices } from '../../src/drivers.ts';
import { createIntrospect } from '../../src/introspect.ts';
import { LabSession } from '../../src/session.ts';

/** `echo $$; exec ps …`: processes with an address space (vsz > 0), not ps itself. */
function psList(text: string): Omit<ProcessInfo, 'target'>[] {
  const [self, ...lines] = text.trim().split('\n');
  return lines
    .map((line) => /^\s*(\d+)\s+(\S+)\s+(\d+)\s+(.+?)\s*$/.exec(line)!)
    .filter((m) => m[3] !== '0' && m[1] !== self)
    .map((m) => ({ pid: Number(m[1]), user: m[2]!, command: m[4]! }))
    .sort((a, b) => a.pid - b.pid);
}

const STAT_TYPES: Record<string, string> = {
  'character special file': 'char',
  'block special file': 'block',
};

/** `stat -c '%F|%t|%T|%a|%n' /dev/*`, character and block nodes only. */
function statNodes(text: string): DeviceNode[] {
  return text
    .trim()
    .split('\n')
    .map((line) => line.split('|'))
    .filter(([kind]) => kind! in STAT_TYPES)
    .map(([kind, major, minor, mode, name]) => ({
      path: name!,
      type: STAT_TYPES[kind!]!,
      major: parseInt(major!, 16),
      minor: parseInt(minor!, 16),
      mode: `0${mode!.padStart(3, '0')}`,
    }));
}

/** `ls -l /dev`'s device lines as "c 1:3 null". */
function lsDevices(text: string): string[] {
  return text
    .split('\n')
    .map((line) => /^([cb])\S+\s+\d+\s+\S+\s+\S+\s+(\d+),\s+(\d+)\s+\S+\s+\S+\s+\S+\s+(.+)$/.exec(line))
    .filter((m) => m !== null)
    .map((m) => `${m[1]} ${m[2]}:${m[3]} ${m[4]}`)
    .sort();
}

test('processes() and drivers() from debugfs equal ps, stat, ls -l /dev and /proc/devices', async () => {
  const session = new LabSession();
  try {
    await session.start();
    await session.loadModule('p3');
    const introspect = createIntrospect(session);
    // A target of the user's (not root's), so the uid's name is looked up; setpriv execs it (no
    // parent left waiting), and the wait for its "pid:" line leaves no process starting.
    await session.sh(
      'setpriv --reuid=nobody --regid=nogroup --clear-groups mmap </dev/null >/tmp/mmap.out 2>&1 & ' +
        'until grep -q "^pid:" /tmp/mmap.out; do sleep 0.1; done',
    );

    const before = await introspect.processes();
    const ps = psList(
      (await session.run('/bin/sh', ['-c', 'echo $$; exec ps -eo pid=,user=,vsz=,comm='])).stdout.toString(),
    );
    const after = await introspect.processes();
    assert.deepEqual(after, before);
    assert.deepEqual(
      before.map(({ pid, user, command }) => ({ pid, user, command })).sort((a, b) => a.pid - b.pid),
      ps,
    );
    assert.deepEqual(
      before.filter((p) => p.target).map((p) => [p.user, p.command]),
      [['nobody', 'mmap']],
    );
    assert.equal(before[0]!.command, 'mmap');

    const report = await introspect.drivers();
    const devices = parseDevices(await session.sh('cat /proc/devices'));
    assert.deepEqual(report.majors, devices);
    assert.deepEqual(report.nodes, statNodes(await session.sh("stat -c '%F|%t|%T|%a|%n' /dev/*")));
    assert.deepEqual(
      report.nodes.map((n) => `${n.type[0]} ${n.major}:${n.minor} ${n.path.slice(5)}`).sort(),
      lsDevices(await session.sh('ls -l /dev')),
    );
    const major = devices.find((d) => d.kind === 'char' && d.name === 'farfetch')!.major;
    assert.equal(report.farfetchMajor, major);
    assert.deepEqual(
      report.nodes.find((n) => n.path === '/dev/farfetch'),
      { path: '/dev/farfetch', type: 'char', major, minor: 0, mode: '0666' },
    );
    assert.deepEqual(
      report.chain.map((step) => step.ok),
      [true, true, true, true, true],
    );
    assert.equal(report.fix, null);
    await session.sh('pkill -x mmap; true');
  } finally {
    await session.stop();
  }
});
