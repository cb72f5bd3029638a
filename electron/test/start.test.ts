// `npm start`'s launcher: where it looks for Electron (without triggering its download), and the
// browser-mode fallback it takes here, where Electron's binary cannot be downloaded.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../../emulator/src/image.ts';
// @ts-expect-error -- plain JavaScript launcher, no types
import { electronBinary, noDisplay } from '../../build/start.js';

test('electronBinary finds a binary only where it really is, and never downloads', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'electron-root-'));
  const dist = mkdtempSync(path.join(os.tmpdir(), 'electron-dist-'));
  try {
    assert.deepEqual(electronBinary({}, root), {
      reason: 'the electron package is not installed (npm run package:install, with Node >= 22.12)',
    });
    // The package installed (build/package), its binary never downloaded: as on this machine.
    const pkg = path.join(root, 'build', 'package', 'node_modules', 'electron');
    mkdirSync(pkg, { recursive: true });
    writeFileSync(path.join(pkg, 'package.json'), '{}');
    assert.deepEqual(electronBinary({}, root), { reason: 'its binary was never downloaded' });
    assert.match(electronBinary({ ELECTRON_OVERRIDE_DIST_PATH: dist }, root).reason, /does not exist/);
    mkdirSync(dist, { recursive: true });
    writeFileSync(path.join(dist, 'electron'), '');
    assert.equal(
      electronBinary({ ELECTRON_OVERRIDE_DIST_PATH: dist }, root).binary,
      path.join(dist, 'electron'),
    );
  } finally {
    rmSync(dist, { recursive: true, force: true });
    rmSync(root, { recursive: true, force: true });
  }
});

test('noDisplay: Linux needs X11 or Wayland, other systems always have a screen', () => {
  assert.match(noDisplay({}, 'linux'), /no display/);
  assert.equal(noDisplay({ DISPLAY: ':0' }, 'linux'), null);
  assert.equal(noDisplay({ WAYLAND_DISPLAY: 'wayland-0' }, 'linux'), null);
  assert.equal(noDisplay({}, 'darwin'), null);
  assert.equal(noDisplay({}, 'win32'), null);
});

test('without Electron, npm start says so and serves the lab in browser mode', async (t) => {
  const workspace = mkdtempSync(path.join(os.tmpdir(), 'start-workspace-'));
  t.after(() => rmSync(workspace, { recursive: true, force: true }));
  const env = { ...process.env, FARFETCHD_LAB_BROWSER: '', DISPLAY: '', FARFETCHD_LAB_WORKSPACE: workspace };
  const child = spawn(process.execPath, [path.join(repoRoot, 'build', 'start.js')], { cwd: repoRoot, env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    const deadline = Date.now() + 60_000;
    let url: string | undefined;
    while (!url && Date.now() < deadline) {
      url = /http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]+/.exec(stdout)?.[0];
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(url, `no URL printed; stdout:\n${stdout}\nstderr:\n${stderr}`);
    assert.match(stderr, /Electron is not available here \(.+\); starting browser mode/);
    const page = await fetch(url);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<div id="app"><\/div>/);
  } finally {
    child.kill('SIGTERM');
  }
  assert.equal(await exited, 0, stderr);
});
