// What the Electron window may load, ask for and open, without Electron.
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { CONTENT_SECURITY_POLICY } from '../../emulator/src/serve.ts';
import {
  allowPermission,
  APP_URL,
  externalUrl,
  packagedEnv,
  rendererDir,
  resolveAppRequest,
} from '../policy.ts';

test('app:// serves the built renderer with its CSP, and nothing outside it', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'renderer-'));
  mkdirSync(path.join(dir, 'assets'));
  writeFileSync(path.join(dir, 'index.html'), '<p>lab</p>');
  writeFileSync(path.join(dir, 'assets', 'index-1.js'), 'x');
  const page = resolveAppRequest(APP_URL, dir);
  assert.equal(page.status, 200);
  assert.equal(page.file, path.join(dir, 'index.html'));
  assert.equal(page.headers['Content-Type'], 'text/html; charset=utf-8');
  assert.equal(page.headers['Content-Security-Policy'], CONTENT_SECURITY_POLICY);
  assert.equal(page.headers['X-Content-Type-Options'], 'nosniff');
  const script = resolveAppRequest('app://lab/assets/index-1.js?v=1', dir);
  assert.equal(script.file, path.join(dir, 'assets', 'index-1.js'));
  assert.equal(script.headers['Content-Type'], 'text/javascript; charset=utf-8');
  for (const url of [
    'app://lab/../../etc/passwd',
    'app://lab/%2e%2e/%2e%2e/etc/passwd',
    'app://other/index.html',
    'file:///etc/passwd',
    'app://lab/missing.js',
    'not a url',
  ]) {
    const answer = resolveAppRequest(url, dir);
    assert.equal(answer.status, 404, url);
    assert.equal(answer.file, undefined, url);
    assert.equal(answer.headers['Content-Security-Policy'], CONTENT_SECURITY_POLICY, url);
  }
});

test('the bundled main finds the renderer two folders up', () => {
  assert.equal(
    rendererDir('/opt/lab/resources/app.asar/electron/dist'),
    '/opt/lab/resources/app.asar/renderer/dist',
  );
});

test('only the app page gets a permission, and only the clipboard', () => {
  assert.equal(allowPermission('clipboard-read', APP_URL), true);
  assert.equal(allowPermission('clipboard-sanitized-write', 'app://lab/'), true);
  assert.equal(allowPermission('clipboard-read', 'https://evil.example/'), false);
  assert.equal(allowPermission('clipboard-read', 'app://other/index.html'), false);
  assert.equal(allowPermission('clipboard-read', undefined), false);
  assert.equal(allowPermission('clipboard-read', 'garbage'), false);
  for (const p of ['media', 'geolocation', 'notifications', 'openExternal', 'fullscreen', 'hid']) {
    assert.equal(allowPermission(p, APP_URL), false, p);
  }
});

test('links open outside only when they are http(s)', () => {
  assert.equal(externalUrl('https://www.kernel.org/doc/'), 'https://www.kernel.org/doc/');
  assert.equal(externalUrl('http://example.com'), 'http://example.com/');
  for (const url of ['file:///etc/passwd', 'javascript:alert(1)', 'smb://host/share', 'app://lab/', 'x']) {
    assert.equal(externalUrl(url), null, url);
  }
});

test('an installed app points the lab at its bundled guest and QEMU, unless the user chose others', () => {
  const all = () => true;
  assert.deepEqual(packagedEnv('/opt/Lab/resources', {}, 'linux', all), {
    FARFETCHD_LAB_IMAGE: '/opt/Lab/resources/guest',
    FARFETCHD_LAB_QEMU: '/opt/Lab/resources/qemu/bin/qemu-system-x86_64',
    FARFETCHD_LAB_QEMU_IMG: '/opt/Lab/resources/qemu/bin/qemu-img',
  });
  assert.deepEqual(packagedEnv('C:\\Lab\\resources', { FARFETCHD_LAB_IMAGE: 'D:\\img' }, 'win32', all), {
    FARFETCHD_LAB_QEMU: 'C:\\Lab\\resources\\qemu\\bin\\qemu-system-x86_64.exe',
    FARFETCHD_LAB_QEMU_IMG: 'C:\\Lab\\resources\\qemu\\bin\\qemu-img.exe',
  });
  // Linux installers bundle no QEMU: the system's is found on PATH.
  const onlyGuest = (file: string) => file.endsWith('guest');
  assert.deepEqual(packagedEnv('/opt/Lab/resources', {}, 'linux', onlyGuest), {
    FARFETCHD_LAB_IMAGE: '/opt/Lab/resources/guest',
  });
});
