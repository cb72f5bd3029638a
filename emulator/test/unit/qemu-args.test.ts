import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  accelArgs,
  buildQemuArgs,
  DEFAULT_KERNEL_CMDLINE,
  hostHasVirtfs,
  QemuConfigError,
  type QemuConfig,
} from '../../src/qemu-args.ts';
import { linux } from './qemu-config-fixture.ts';

/** The value that follows `flag` (the first occurrence), or undefined. */
function after(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i < 0 ? undefined : args[i + 1];
}

/** Every value that follows `flag`. */
function allAfter(args: string[], flag: string): string[] {
  return args.flatMap((a, i) => (a === flag ? [args[i + 1] as string] : []));
}

test('linux + TCG: the whole command line', () => {
  assert.deepEqual(buildQemuArgs(linux), [
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    '-machine',
    'q35',
    '-accel',
    'tcg,thread=multi',
    '-cpu',
    'max',
    '-m',
    '512',
    '-smp',
    '2',
    '-kernel',
    '/lab/bzImage',
    '-append',
    'console=hvc0 console=ttyS0 root=/dev/vda rootfstype=ext4 rw init=/sbin/lab-init quiet pty.legacy_count=0',
    '-drive',
    'file=/run/lab/overlay.qcow2,format=qcow2,if=none,id=disk0,cache=unsafe',
    '-device',
    'virtio-blk-pci,drive=disk0',
    '-chardev',
    'stdio,id=console,signal=off',
    '-serial',
    'chardev:console',
    '-chardev',
    'socket,id=qmp,path=/run/lab/qmp.sock,server=on,wait=off',
    '-mon',
    'chardev=qmp,mode=control',
    '-device',
    'virtio-serial-pci,id=vser0',
    '-chardev',
    'socket,id=kernellog,path=/run/lab/kernel-log.sock,server=off',
    '-device',
    'virtconsole,bus=vser0.0,chardev=kernellog,name=org.farfetchd_lab.kernel_log',
    '-chardev',
    'socket,id=ga,path=/run/lab/agent.sock,server=on,wait=off',
    '-device',
    'virtserialport,bus=vser0.0,chardev=ga,name=org.qemu.guest_agent.0',
    '-device',
    'pvpanic-pci',
    '-action',
    'panic=none',
    '-no-reboot',
    '-rtc',
    'base=utc',
  ]);
});

test('linux + KVM: host CPU passthrough, everything else the same', () => {
  const tcgArgs = buildQemuArgs(linux);
  const kvmArgs = buildQemuArgs({ ...linux, accel: 'kvm' });
  assert.deepEqual(kvmArgs.slice(6, 10), ['-accel', 'kvm', '-cpu', 'host']);
  assert.deepEqual(
    [...kvmArgs.slice(0, 6), ...kvmArgs.slice(10)],
    [...tcgArgs.slice(0, 6), ...tcgArgs.slice(10)],
  );
});

test('accelArgs for each accelerator', () => {
  assert.deepEqual(accelArgs('tcg'), ['-accel', 'tcg,thread=multi', '-cpu', 'max']);
  assert.deepEqual(accelArgs('kvm'), ['-accel', 'kvm', '-cpu', 'host']);
  assert.deepEqual(accelArgs('hvf'), ['-accel', 'hvf', '-cpu', 'host']);
  assert.deepEqual(accelArgs('whpx'), ['-accel', 'whpx,kernel-irqchip=off', '-cpu', 'max']);
});

test('fourLevelPaging turns LA57 off in the CPU model (the guest runs 4-level paging)', () => {
  assert.deepEqual(accelArgs('tcg', true), ['-accel', 'tcg,thread=multi', '-cpu', 'max,la57=off']);
  assert.deepEqual(accelArgs('kvm', true), ['-accel', 'kvm', '-cpu', 'host,la57=off']);
  assert.equal(after(buildQemuArgs({ ...linux, fourLevelPaging: true }), '-cpu'), 'max,la57=off');
  assert.equal(after(buildQemuArgs({ ...linux, fourLevelPaging: false }), '-cpu'), 'max');
  assert.equal(after(buildQemuArgs(linux), '-cpu'), 'max');
  assert.throws(
    () => buildQemuArgs({ ...linux, fourLevelPaging: 'yes' as unknown as boolean }),
    (err: unknown) =>
      err instanceof QemuConfigError &&
      err.field === 'fourLevelPaging' &&
      err.message === 'QEMU configuration: fourLevelPaging must be true or false',
  );
});

test('macOS + HVF: unix sockets, HVF with the host CPU, 9p workspace', () => {
  const args = buildQemuArgs({
    ...linux,
    accel: 'hvf',
    hostPlatform: 'darwin',
    workspace: { hostPath: '/Users/ash/farfetchd', tag: 'workspace' },
  });
  assert.equal(after(args, '-accel'), 'hvf');
  assert.equal(after(args, '-cpu'), 'host');
  assert.deepEqual(args.slice(-4), [
    '-fsdev',
    'local,id=workspace,path=/Users/ash/farfetchd,security_model=none',
    '-device',
    'virtio-9p-pci,fsdev=workspace,mount_tag=workspace',
  ]);
});

test('macOS + TCG (Apple Silicon) is allowed', () => {
  const args = buildQemuArgs({ ...linux, hostPlatform: 'darwin' });
  assert.equal(after(args, '-accel'), 'tcg,thread=multi');
});

/** The pipes of a Windows run, as channelEndpoints names them. */
const winPipes = {
  qmp: { kind: 'pipe', path: 'farfetchd-lab-0123abcd-qmp' },
  agent: { kind: 'pipe', path: 'farfetchd-lab-4567abcd-agent' },
  kernelLog: { kind: 'pipe', path: 'farfetchd-lab-89abcdef-kernel-log' },
  console: { kind: 'pipe', path: 'farfetchd-lab-01234567-console' },
} as const;

test('Windows + WHPX: named pipes for every channel and the console, no 9p share', () => {
  const args = buildQemuArgs({
    ...linux,
    accel: 'whpx',
    hostPlatform: 'win32',
    kernelPath: 'C:\\Program Files\\Farfetchd Lab\\bzImage',
    diskPath: 'C:\\Users\\ash\\AppData\\Local\\Temp\\lab\\overlay.qcow2',
    ...winPipes,
    workspace: { hostPath: 'C:\\Users\\ash\\farfetchd', tag: 'workspace' },
  });
  assert.equal(after(args, '-accel'), 'whpx,kernel-irqchip=off');
  assert.equal(after(args, '-cpu'), 'max');
  assert.equal(after(args, '-kernel'), 'C:\\Program Files\\Farfetchd Lab\\bzImage');
  assert.deepEqual(allAfter(args, '-chardev'), [
    'pipe,id=console,path=farfetchd-lab-01234567-console',
    'pipe,id=qmp,path=farfetchd-lab-0123abcd-qmp',
    'pipe,id=kernellog,path=farfetchd-lab-89abcdef-kernel-log',
    'pipe,id=ga,path=farfetchd-lab-4567abcd-agent',
  ]);
  assert.equal(
    args.some((a) => a.includes('127.0.0.1') || a.includes('tcp')),
    false,
  );
  assert.equal(args.includes('-fsdev'), false);
  assert.equal(
    args.some((a) => a.includes('9p')),
    false,
  );
});

test('Windows + TCG works the same way', () => {
  const args = buildQemuArgs({ ...linux, hostPlatform: 'win32', ...winPipes });
  assert.equal(after(args, '-accel'), 'tcg,thread=multi');
});

test('memory, vCPUs, extra kernel arguments, loadvm and extra arguments', () => {
  const args = buildQemuArgs({
    ...linux,
    memoryMiB: 256,
    cpus: 1,
    kernelCmdline: '  lab.debug=1 ',
    loadvm: 'booted',
    extra: ['-d', 'guest_errors'],
  });
  assert.equal(after(args, '-m'), '256');
  assert.equal(after(args, '-smp'), '1');
  assert.equal(after(args, '-append'), `${DEFAULT_KERNEL_CMDLINE} lab.debug=1`);
  assert.deepEqual(args.slice(-4), ['-loadvm', 'booted', '-d', 'guest_errors']);
});

test('commas in paths are doubled where QEMU parses option lists, not in -kernel', () => {
  const args = buildQemuArgs({
    ...linux,
    kernelPath: '/a,b/bzImage',
    diskPath: '/a,b/overlay.qcow2',
    qmp: { kind: 'unix', path: '/a,b/qmp.sock' },
    agent: { kind: 'unix', path: '/a,b/agent.sock' },
    kernelLog: { kind: 'unix', path: '/a,b/kernel-log.sock' },
    workspace: { hostPath: '/home/x,y', tag: 'workspace' },
  });
  assert.equal(after(args, '-kernel'), '/a,b/bzImage');
  assert.equal(after(args, '-drive'), 'file=/a,,b/overlay.qcow2,format=qcow2,if=none,id=disk0,cache=unsafe');
  assert.equal(allAfter(args, '-chardev')[1], 'socket,id=qmp,path=/a,,b/qmp.sock,server=on,wait=off');
  assert.equal(allAfter(args, '-chardev')[2], 'socket,id=kernellog,path=/a,,b/kernel-log.sock,server=off');
  assert.equal(allAfter(args, '-chardev')[3], 'socket,id=ga,path=/a,,b/agent.sock,server=on,wait=off');
  assert.equal(after(args, '-fsdev'), 'local,id=workspace,path=/home/x,,y,security_model=none');
});

test("diskAio: io_uring is asked for on the disk's drive only; threads is QEMU's default, unwritten", () => {
  const drive = (diskAio?: 'threads' | 'io_uring') =>
    allAfter(buildQemuArgs({ ...linux, diskAio }), '-drive');
  assert.deepEqual(drive('io_uring'), [
    'file=/run/lab/overlay.qcow2,format=qcow2,if=none,id=disk0,cache=unsafe,aio=io_uring',
  ]);
  assert.deepEqual(drive('threads'), [
    'file=/run/lab/overlay.qcow2,format=qcow2,if=none,id=disk0,cache=unsafe',
  ]);
  assert.deepEqual(drive(), drive('threads'));
  rejects({ ...linux, diskAio: 'native' as 'threads' }, 'diskAio', /must be 'threads' or 'io_uring'$/);
});

test('buildQemuArgs is pure: the config is not changed and the same config gives the same args', () => {
  const config: QemuConfig = { ...linux, extra: ['-S'] };
  const copy = structuredClone(config);
  assert.deepEqual(buildQemuArgs(config), buildQemuArgs(config));
  assert.deepEqual(config, copy);
});

function rejects(config: QemuConfig, field: string, message: RegExp): void {
  assert.throws(
    () => buildQemuArgs(config),
    (err: Error) => {
      assert.ok(err instanceof QemuConfigError, String(err));
      assert.equal(err.field, field);
      assert.match(err.message, message);
      return true;
    },
  );
}

test('invalid configurations are refused with the field named', () => {
  rejects(
    { ...linux, accel: 'xen' as 'tcg' },
    'accel',
    /^QEMU configuration: accel must be one of kvm, hvf, whpx, tcg \(got xen\)$/,
  );
  rejects({ ...linux, accel: 'hvf' }, 'accel', /hvf exists only on darwin, not on linux/);
  rejects(
    { ...linux, accel: 'kvm', hostPlatform: 'darwin' },
    'accel',
    /kvm exists only on linux, not on darwin/,
  );
  rejects({ ...linux, accel: 'whpx' }, 'accel', /whpx exists only on win32/);
  rejects(
    { ...linux, hostPlatform: 'freebsd' as 'linux' },
    'hostPlatform',
    /must be one of linux, darwin, win32/,
  );
  rejects({ ...linux, kernelPath: '' }, 'kernelPath', /must be a non-empty string/);
  rejects({ ...linux, diskPath: ' ' }, 'diskPath', /must be a non-empty string/);
  rejects({ ...linux, diskPath: '/tmp/a\nb' }, 'diskPath', /newline/);
  rejects({ ...linux, memoryMiB: 64 }, 'memoryMiB', /must be an integer from 128 to 16384 \(got 64\)/);
  rejects({ ...linux, memoryMiB: 512.5 }, 'memoryMiB', /got 512\.5/);
  rejects({ ...linux, cpus: 0 }, 'cpus', /must be an integer from 1 to 64 \(got 0\)/);
  rejects({ ...linux, qmp: { kind: 'unix', path: '' } }, 'qmp.path', /non-empty/);
  rejects(
    { ...linux, qmp: { kind: 'unix', path: `/tmp/${'x'.repeat(120)}.sock` } },
    'qmp.path',
    /is 130 bytes long; a unix socket path can have at most 107 on linux/,
  );
  rejects(
    { ...linux, hostPlatform: 'darwin', agent: { kind: 'unix', path: `/var/folders/${'y'.repeat(91)}` } },
    'agent.path',
    /is 104 bytes long; a unix socket path can have at most 103 on darwin/,
  );
  rejects(
    { ...linux, agent: { kind: 'tcp', port: 5000 } as unknown as QemuConfig['agent'] },
    'agent.kind',
    /must be 'unix' or 'pipe'/,
  );
  rejects({ ...linux, agent: linux.qmp }, 'agent.path', /must differ from qmp.path/);
  rejects(
    { ...linux, hostPlatform: 'win32', ...winPipes, agent: winPipes.qmp },
    'agent.path',
    /must differ from qmp.path/,
  );
  rejects(
    { ...linux, hostPlatform: 'win32', ...winPipes, qmp: { kind: 'pipe', path: 'C:\\lab\\qmp' } },
    'qmp.path',
    /must be a bare pipe name on Windows/,
  );
  rejects(
    { ...linux, hostPlatform: 'win32', ...winPipes, agent: linux.agent },
    'agent',
    /cannot be a unix socket on Windows: use \{ kind: 'pipe', path \}/,
  );
  rejects({ ...linux, ...winPipes, console: winPipes.qmp }, 'console.path', /must differ from qmp.path/);
  rejects({ ...linux, kernelCmdline: 'a\nb' }, 'kernelCmdline', /one line/);
  rejects({ ...linux, workspace: { hostPath: '/w', tag: 'has space' } }, 'workspace.tag', /1 to 31 letters/);
  rejects({ ...linux, workspace: { hostPath: '/w', tag: 'x'.repeat(32) } }, 'workspace.tag', /1 to 31/);
  rejects({ ...linux, workspace: { hostPath: '', tag: 'workspace' } }, 'workspace.hostPath', /non-empty/);
  rejects({ ...linux, loadvm: '' }, 'loadvm', /non-empty/);
  rejects({ ...linux, extra: [1 as unknown as string] }, 'extra', /array of strings/);
});

test('the kernel log is a virtio console (hvc0) whose socket QEMU connects to; ttyS0 stays the last console', () => {
  const args = buildQemuArgs(linux);
  // One serial port: the student's terminal. The kernel log is a console port on the agent's bus.
  assert.deepEqual(allAfter(args, '-serial'), ['chardev:console']);
  assert.deepEqual(
    allAfter(args, '-device').filter((d) => d.startsWith('virtconsole') || d.startsWith('virtserialport')),
    [
      'virtconsole,bus=vser0.0,chardev=kernellog,name=org.farfetchd_lab.kernel_log',
      'virtserialport,bus=vser0.0,chardev=ga,name=org.qemu.guest_agent.0',
    ],
  );
  const cmdline = after(args, '-append')!.split(' ');
  // The last console= is /dev/console: the student's terminal, never the kernel-only port.
  assert.deepEqual(
    cmdline.filter((a) => a.startsWith('console=')),
    ['console=hvc0', 'console=ttyS0'],
  );
  assert.ok(cmdline.includes('quiet'));
});

test('a missing or wrong kernelLog endpoint is refused with the field named', () => {
  rejects(
    { ...linux, kernelLog: undefined } as unknown as QemuConfig,
    'kernelLog',
    /^QEMU configuration: kernelLog is missing$/,
  );
  rejects({ ...linux, kernelLog: { kind: 'unix', path: '' } }, 'kernelLog.path', /non-empty/);
  rejects(
    { ...linux, kernelLog: { kind: 'unix', path: `/tmp/${'z'.repeat(110)}` } },
    'kernelLog.path',
    /is 115 bytes long; a unix socket path can have at most 107 on linux/,
  );
  rejects(
    { ...linux, kernelLog: { kind: 'fifo' } as unknown as QemuConfig['kernelLog'] },
    'kernelLog.kind',
    /must be 'unix' or 'pipe'/,
  );
  rejects({ ...linux, kernelLog: linux.qmp }, 'kernelLog.path', /must differ from qmp.path/);
  rejects({ ...linux, kernelLog: linux.agent }, 'kernelLog.path', /must differ from agent.path/);
  const win32: QemuConfig = { ...linux, hostPlatform: 'win32', ...winPipes };
  assert.equal(
    allAfter(buildQemuArgs(win32), '-chardev')[2],
    'pipe,id=kernellog,path=farfetchd-lab-89abcdef-kernel-log',
  );
  rejects({ ...win32, kernelLog: winPipes.agent }, 'kernelLog.path', /must differ from agent.path/);
  rejects(
    { ...win32, kernelLog: { kind: 'unix', path: 'C:\\lab\\k.sock' } },
    'kernelLog',
    /cannot be a unix socket on Windows/,
  );
});

test('the pipe transport on Linux: FIFO bases in the run folder, the console on a pipe too', () => {
  const args = buildQemuArgs({
    ...linux,
    qmp: { kind: 'pipe', path: '/run/lab/qmp' },
    agent: { kind: 'pipe', path: '/run/lab/agent' },
    kernelLog: { kind: 'pipe', path: '/run/lab/kernel-log' },
    console: { kind: 'pipe', path: '/run/lab/con,sole' },
  });
  assert.deepEqual(allAfter(args, '-chardev'), [
    'pipe,id=console,path=/run/lab/con,,sole',
    'pipe,id=qmp,path=/run/lab/qmp',
    'pipe,id=kernellog,path=/run/lab/kernel-log',
    'pipe,id=ga,path=/run/lab/agent',
  ]);
  assert.deepEqual(allAfter(args, '-serial'), ['chardev:console']);
  rejects(
    { ...linux, console: 'tty' as unknown as QemuConfig['console'] },
    'console',
    /must be 'stdio' or a pipe/,
  );
});

test('virtio-9p exists wherever QEMU has virtfs: not in QEMU for Windows', () => {
  assert.equal(hostHasVirtfs('linux'), true);
  assert.equal(hostHasVirtfs('darwin'), true);
  assert.equal(hostHasVirtfs('win32'), false);
});
