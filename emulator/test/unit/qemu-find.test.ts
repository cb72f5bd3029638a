// Where QEMU is found: the variable, the bundled copy, PATH, the usual folders; what to install.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { findQemu, findQemuImg, QemuNotFoundError } from '../../src/qemu-find.ts';

const REAL_QEMU = '/usr/bin/qemu-system-x86_64';

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
