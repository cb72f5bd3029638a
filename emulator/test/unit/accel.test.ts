import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  ACCEL_LABELS,
  detectAccelerator,
  findQemu,
  findQemuImg,
  probeAccelerator,
  QemuNotFoundError,
} from '../../src/accel.ts';

const REAL_QEMU = '/usr/bin/qemu-system-x86_64';

let dir: string;
/** A file that opens read-write, standing in for a working /dev/kvm. */
let fakeKvm: string;
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'accel-test-'));
  fakeKvm = path.join(dir, 'kvm');
  await writeFile(fakeKvm, '');
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/**
 * A fake qemu-system-x86_64 that speaks QMP on stdio (as `-qmp stdio` does) and records its
 * arguments. `replies` maps a command to its `return` value.
 */
async function fakeQemu(name: string, replies: Record<string, unknown>): Promise<string> {
  const file = path.join(dir, name);
  const script = `#!${process.execPath}
const fs = require('node:fs');
fs.writeFileSync(${JSON.stringify(file + '.argv')}, JSON.stringify(process.argv.slice(2)));
const replies = ${JSON.stringify(replies)};
process.stdout.write(JSON.stringify({ QMP: { version: { qemu: { micro: 0, minor: 2, major: 7 }, package: '' }, capabilities: ['oob'] } }) + '\\r\\n');
let buffer = '';
process.stdin.on('data', (chunk) => {
  buffer += chunk;
  let i;
  while ((i = buffer.indexOf('\\n')) >= 0) {
    const { execute, id } = JSON.parse(buffer.slice(0, i));
    buffer = buffer.slice(i + 1);
    const ret = execute === 'qmp_capabilities' ? {} : replies[execute];
    process.stdout.write(JSON.stringify(ret === undefined ? { error: { class: 'CommandNotFound', desc: execute }, id } : { return: ret, id }) + '\\r\\n');
  }
});
`;
  await writeFile(file, script);
  await chmod(file, 0o755);
  return file;
}

async function shellScript(name: string, body: string): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, `#!/bin/sh\n${body}\n`);
  await chmod(file, 0o755);
  return file;
}

const running = { status: 'running', running: true, singlestep: false };

test('FARFETCHD_LAB_ACCEL forces the accelerator without probing', async () => {
  for (const [value, accel] of [
    ['tcg', 'tcg'],
    ['kvm', 'kvm'],
    [' KVM ', 'kvm'],
  ] as const) {
    const info = await detectAccelerator({
      qemuBinary: '/nonexistent/qemu', // proves nothing was started
      platform: 'linux',
      env: { FARFETCHD_LAB_ACCEL: value },
    });
    assert.deepEqual(info, { accel, label: `${ACCEL_LABELS[accel]} (set by FARFETCHD_LAB_ACCEL)` });
  }
  const hvf = await detectAccelerator({
    qemuBinary: '/nonexistent',
    platform: 'darwin',
    env: { FARFETCHD_LAB_ACCEL: 'hvf' },
  });
  assert.equal(hvf.accel, 'hvf');
  const whpx = await detectAccelerator({
    qemuBinary: '/nonexistent',
    platform: 'win32',
    env: { FARFETCHD_LAB_ACCEL: 'whpx' },
  });
  assert.equal(whpx.accel, 'whpx');
});

test('an invalid FARFETCHD_LAB_ACCEL is a clear error', async () => {
  await assert.rejects(
    detectAccelerator({
      qemuBinary: '/nonexistent',
      platform: 'linux',
      env: { FARFETCHD_LAB_ACCEL: 'fast' },
    }),
    { message: 'FARFETCHD_LAB_ACCEL must be one of tcg, kvm, hvf, whpx (got "fast")' },
  );
  await assert.rejects(
    detectAccelerator({ qemuBinary: '/nonexistent', platform: 'linux', env: { FARFETCHD_LAB_ACCEL: 'hvf' } }),
    { message: 'FARFETCHD_LAB_ACCEL=hvf is not available on linux (use tcg or kvm)' },
  );
  await assert.rejects(
    detectAccelerator({
      qemuBinary: '/nonexistent',
      platform: 'darwin',
      env: { FARFETCHD_LAB_ACCEL: 'whpx' },
    }),
    { message: 'FARFETCHD_LAB_ACCEL=whpx is not available on darwin (use tcg or hvf)' },
  );
});

test('an empty FARFETCHD_LAB_ACCEL counts as unset', async () => {
  const info = await detectAccelerator({
    qemuBinary: '/nonexistent',
    platform: 'freebsd',
    env: { FARFETCHD_LAB_ACCEL: '' },
  });
  assert.deepEqual(info, {
    accel: 'tcg',
    label: 'TCG — no hardware acceleration: slower',
    fallbackReason: 'QEMU has no hardware accelerator for x86-64 guests on freebsd',
  });
});

test('Apple Silicon falls back to TCG without trying HVF', async () => {
  const info = await detectAccelerator({
    qemuBinary: '/nonexistent',
    platform: 'darwin',
    arch: 'arm64',
    env: {},
  });
  assert.deepEqual(info, {
    accel: 'tcg',
    label: ACCEL_LABELS.tcg,
    fallbackReason: 'HVF cannot run x86-64 guests on Apple Silicon',
  });
});

test('no KVM device: TCG, and the reason names the device', async () => {
  const missing = path.join(dir, 'no-such-kvm');
  const info = await detectAccelerator({
    qemuBinary: '/nonexistent',
    platform: 'linux',
    env: {},
    kvmDevice: missing,
  });
  assert.equal(info.accel, 'tcg');
  assert.equal(
    info.fallbackReason,
    `KVM is not usable: ${missing} does not exist (no KVM module loaded, or the CPU's virtualization is off or absent)`,
  );
});

test('a working probe machine means KVM, started with the session CPU model on q35', async () => {
  const qemu = await fakeQemu('qemu-ok', {
    'query-kvm': { enabled: true, present: true },
    cont: {},
    'query-status': running,
  });
  const info = await detectAccelerator({ qemuBinary: qemu, platform: 'linux', env: {}, kvmDevice: fakeKvm });
  assert.deepEqual(info, { accel: 'kvm', label: 'KVM — hardware acceleration' });
  const argv = JSON.parse(await readFile(`${qemu}.argv`, 'utf8')) as string[];
  assert.deepEqual(argv, [
    '-machine',
    'q35',
    '-accel',
    'kvm',
    '-cpu',
    'host',
    '-m',
    '64',
    '-smp',
    '1',
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    '-S',
    '-qmp',
    'stdio',
  ]);
});

test('macOS (Intel) and Windows probe HVF and WHPX with their own flags', async () => {
  const qemu = await fakeQemu('qemu-ok-2', { cont: {}, 'query-status': running });
  const hvf = await detectAccelerator({ qemuBinary: qemu, platform: 'darwin', arch: 'x64', env: {} });
  assert.deepEqual(hvf, { accel: 'hvf', label: ACCEL_LABELS.hvf });
  const hvfArgv = JSON.parse(await readFile(`${qemu}.argv`, 'utf8')) as string[];
  assert.deepEqual(hvfArgv.slice(2, 6), ['-accel', 'hvf', '-cpu', 'host']);
  const whpx = await detectAccelerator({ qemuBinary: qemu, platform: 'win32', env: {} });
  assert.deepEqual(whpx, { accel: 'whpx', label: ACCEL_LABELS.whpx });
  const whpxArgv = JSON.parse(await readFile(`${qemu}.argv`, 'utf8')) as string[];
  assert.deepEqual(whpxArgv.slice(2, 6), ['-accel', 'whpx,kernel-irqchip=off', '-cpu', 'max']);
});

test('KVM present but not enabled falls back to TCG', async () => {
  const qemu = await fakeQemu('qemu-kvm-off', { 'query-kvm': { enabled: false, present: true } });
  const info = await detectAccelerator({ qemuBinary: qemu, platform: 'linux', env: {}, kvmDevice: fakeKvm });
  assert.equal(info.accel, 'tcg');
  assert.equal(info.fallbackReason, 'KVM is not usable: QEMU reports KVM present but not enabled');
});

test('a probe machine that stops running falls back to TCG', async () => {
  const qemu = await fakeQemu('qemu-stops', {
    'query-kvm': { enabled: true, present: true },
    cont: {},
    'query-status': { status: 'internal-error', running: false, singlestep: false },
  });
  const info = await detectAccelerator({ qemuBinary: qemu, platform: 'linux', env: {}, kvmDevice: fakeKvm });
  assert.equal(info.fallbackReason, 'KVM is not usable: the probe machine stopped (internal-error)');
});

test('QEMU refusing the accelerator: the reason quotes its error line', async () => {
  const qemu = await shellScript(
    'qemu-refuses',
    'echo "qemu-system-x86_64: warning: host doesn\'t support requested feature" >&2\n' +
      'echo "qemu-system-x86_64: -accel kvm: Could not access KVM kernel module: Permission denied" >&2\n' +
      'echo "qemu-system-x86_64: -accel kvm: failed to initialize kvm: Permission denied" >&2\nexit 1',
  );
  const info = await detectAccelerator({ qemuBinary: qemu, platform: 'linux', env: {}, kvmDevice: fakeKvm });
  assert.equal(
    info.fallbackReason,
    'KVM is not usable: -accel kvm: Could not access KVM kernel module: Permission denied (QEMU exited with code 1)',
  );
});

test('a probe that never answers is cut off at its timeout', async () => {
  const qemu = await shellScript('qemu-hangs', 'exec sleep 30');
  const started = Date.now();
  const result = await probeAccelerator(qemu, 'kvm', { timeoutMs: 300 });
  const elapsed = Date.now() - started;
  assert.deepEqual(result, { ok: false, reason: 'no answer within 300 ms' });
  assert.ok(elapsed >= 300 && elapsed < 1500, `took ${elapsed} ms`);
});

test('a QEMU binary that cannot be started is a reason, not a crash', async () => {
  const result = await probeAccelerator(path.join(dir, 'missing-qemu'), 'kvm');
  assert.equal(result.ok, false);
  assert.match(
    (result as { reason: string }).reason,
    /^could not start .*missing-qemu: spawn .*missing-qemu ENOENT$/,
  );
});

/**
 * Independent of accel.ts: does QEMU keep a KVM q35 machine with the host CPU running? Plain
 * stdio, no QMP client: greet, continue, wait, ask, quit.
 */
function kvmReallyWorks(): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(
      REAL_QEMU,
      [
        '-machine',
        'q35',
        '-accel',
        'kvm',
        '-cpu',
        'host',
        '-m',
        '64',
        '-nodefaults',
        '-display',
        'none',
        '-S',
        '-qmp',
        'stdio',
      ],
      { stdio: ['pipe', 'pipe', 'ignore'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stdin.on('error', () => undefined);
    child.stdin.write('{"execute":"qmp_capabilities"}\n{"execute":"cont"}\n');
    setTimeout(() => child.stdin.write('{"execute":"query-status"}\n{"execute":"quit"}\n'), 500);
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code === 0 && out.includes('"status": "running"'));
    });
  });
}

test(
  'the real probe on this machine: TCG with a reason about KVM when KVM does not really work',
  { skip: !existsSync(REAL_QEMU) && `${REAL_QEMU} is not installed` },
  async () => {
    const started = Date.now();
    const info = await detectAccelerator({ qemuBinary: REAL_QEMU, platform: 'linux', env: {} });
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 3500, `the probe took ${elapsed} ms`);
    const works = existsSync('/dev/kvm') && (await kvmReallyWorks());
    if (works) {
      assert.deepEqual(info, { accel: 'kvm', label: ACCEL_LABELS.kvm });
    } else {
      // This development machine has /dev/kvm, but QEMU aborts setting up a `-cpu host` vCPU.
      assert.equal(info.accel, 'tcg');
      assert.equal(info.label, 'TCG — no hardware acceleration: slower');
      assert.match(info.fallbackReason ?? '', /^KVM is not usable: .+/);
    }
  },
);

test('findQemu: FARFETCHD_LAB_QEMU wins, and a wrong value is an error that says so', () => {
  const all = (): boolean => true;
  assert.equal(
    findQemu({
      env: { FARFETCHD_LAB_QEMU: '/opt/q/qemu-system-x86_64', PATH: '/usr/bin' },
      platform: 'linux',
      isExecutable: all,
    }),
    '/opt/q/qemu-system-x86_64',
  );
  assert.throws(
    () => findQemu({ env: { FARFETCHD_LAB_QEMU: '/nonexistent/qemu-system-x86_64' }, platform: 'linux' }),
    (err: Error) => {
      assert.ok(err instanceof QemuNotFoundError);
      assert.equal(
        err.message,
        'FARFETCHD_LAB_QEMU is set to "/nonexistent/qemu-system-x86_64", which is not an executable file. ' +
          'Fix or unset FARFETCHD_LAB_QEMU. Install QEMU: sudo apt-get install qemu-system-x86 qemu-utils (Debian, Ubuntu).',
      );
      return true;
    },
  );
});

test('findQemu: bundled copy first, then PATH in order, then the usual folders', () => {
  const present = (files: string[]) => (file: string) => files.includes(file);
  assert.equal(
    findQemu({
      env: { PATH: '/usr/bin' },
      resourcesPath: '/app/resources',
      platform: 'linux',
      isExecutable: present(['/app/resources/qemu/bin/qemu-system-x86_64', '/usr/bin/qemu-system-x86_64']),
    }),
    '/app/resources/qemu/bin/qemu-system-x86_64',
  );
  assert.equal(
    findQemu({
      env: { PATH: '/a:/b:/c' },
      platform: 'linux',
      isExecutable: present(['/c/qemu-system-x86_64', '/b/qemu-system-x86_64']),
    }),
    '/b/qemu-system-x86_64',
  );
  // A macOS desktop app gets a bare PATH: Homebrew's folder is still searched.
  assert.equal(
    findQemu({
      env: { PATH: '/usr/bin:/bin' },
      platform: 'darwin',
      isExecutable: present(['/opt/homebrew/bin/qemu-system-x86_64']),
    }),
    '/opt/homebrew/bin/qemu-system-x86_64',
  );
  // The Windows installer does not touch PATH: Program Files\qemu is searched.
  assert.equal(
    findQemu({
      env: { Path: 'C:\\Windows\\system32', ProgramFiles: 'D:\\Programs' },
      platform: 'win32',
      isExecutable: present(['D:\\Programs\\qemu\\qemu-system-x86_64.exe']),
    }),
    'D:\\Programs\\qemu\\qemu-system-x86_64.exe',
  );
  assert.equal(
    findQemu({
      env: { PATH: '' },
      resourcesPath: 'C:\\App\\resources',
      platform: 'win32',
      isExecutable: present(['C:\\App\\resources\\qemu\\bin\\qemu-system-x86_64.exe']),
    }),
    'C:\\App\\resources\\qemu\\bin\\qemu-system-x86_64.exe',
  );
});

test('findQemu: when QEMU is nowhere, the error says what to install on each OS', () => {
  const none = (): boolean => false;
  const message = (platform: NodeJS.Platform, resourcesPath?: string): string => {
    try {
      findQemu({ env: { PATH: '/usr/bin' }, platform, isExecutable: none, resourcesPath });
    } catch (err) {
      assert.ok(err instanceof QemuNotFoundError);
      return err.message;
    }
    assert.fail('findQemu did not throw');
  };
  assert.equal(
    message('linux'),
    'qemu-system-x86_64 was not found (not on PATH). Install QEMU: sudo apt-get install qemu-system-x86 qemu-utils ' +
      '(Debian, Ubuntu), or set FARFETCHD_LAB_QEMU to its path.',
  );
  assert.equal(
    message('darwin', '/Applications/Lab.app/Contents/Resources'),
    'qemu-system-x86_64 was not found (not bundled with the app, not on PATH). Install QEMU with Homebrew: brew install qemu, ' +
      'or set FARFETCHD_LAB_QEMU to its path.',
  );
  assert.match(
    message('win32'),
    /^qemu-system-x86_64\.exe was not found \(not on PATH\)\. Install QEMU for Windows with its installer \(qemu-w64-setup-\*\.exe from https:\/\/qemu\.weilnetz\.de\/w64\/, linked from https:\/\/www\.qemu\.org\/download\/#windows\) into C:\\Program Files\\qemu, or set FARFETCHD_LAB_QEMU to its path\.$/,
  );
});

test('findQemuImg: its own variable, then next to FARFETCHD_LAB_QEMU, then PATH; a clear error otherwise', () => {
  const present = (files: string[]) => (file: string) => files.includes(file);
  assert.equal(
    findQemuImg({
      env: { FARFETCHD_LAB_QEMU_IMG: '/x/qemu-img' },
      platform: 'linux',
      isExecutable: present(['/x/qemu-img']),
    }),
    '/x/qemu-img',
  );
  assert.equal(
    findQemuImg({
      env: { FARFETCHD_LAB_QEMU: '/opt/qemu-8/bin/qemu-system-x86_64', PATH: '/usr/bin' },
      platform: 'linux',
      isExecutable: present(['/opt/qemu-8/bin/qemu-img', '/usr/bin/qemu-img']),
    }),
    '/opt/qemu-8/bin/qemu-img',
  );
  assert.throws(
    () => findQemuImg({ env: { PATH: '/usr/bin' }, platform: 'linux', isExecutable: () => false }),
    {
      name: 'QemuNotFoundError',
      message:
        'qemu-img was not found (not on PATH). Install QEMU: sudo apt-get install qemu-system-x86 qemu-utils (Debian, Ubuntu), ' +
        'or set FARFETCHD_LAB_QEMU_IMG to its path.',
    },
  );
});

test(
  'findQemu and findQemuImg find the real binaries on this machine',
  { skip: !existsSync(REAL_QEMU) && 'no QEMU here' },
  () => {
    assert.equal(findQemu({ env: { PATH: '/nonexistent:/usr/bin' }, platform: 'linux' }), REAL_QEMU);
    assert.equal(
      findQemuImg({ env: { PATH: '/nonexistent:/usr/bin' }, platform: 'linux' }),
      '/usr/bin/qemu-img',
    );
  },
);
