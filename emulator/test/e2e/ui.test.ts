// End to end: the real renderer in Debian's chromium, against `serve` with the real backend and a
// real guest. Screenshots go to test-results/ to be looked at.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { LabBackend } from '../../src/api.ts';
import { createBackend } from '../../src/backend.ts';
import { repoRoot } from '../../src/image.ts';
import { startServer, type RunningServer } from '../../src/serve.ts';

const results = path.join(repoRoot, 'test-results');
const staticDir = path.join(repoRoot, 'renderer', 'dist');
let backend: LabBackend;
let server: RunningServer;
let browser: Browser;
let page: Page;
let workspace: string;

async function terminalText(): Promise<string> {
  return page.evaluate(() =>
    (window as unknown as { farfetchdLabDebug: { terminalText(): string } }).farfetchdLabDebug.terminalText(),
  );
}

/** Types a command into the terminal and waits until the screen matches `expect`. */
async function typeAndWait(command: string, expect: RegExp, timeoutMs = 30_000): Promise<string> {
  await page.getByTestId('terminal').click();
  await page.keyboard.type(command);
  await page.keyboard.press('Enter');
  const deadline = Date.now() + timeoutMs;
  let text = '';
  while (Date.now() < deadline) {
    text = await terminalText();
    if (expect.test(text)) return text;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(
    `terminal never showed ${expect} after '${command}'; it shows:\n${text.trimEnd().slice(-1500)}`,
  );
}

async function waitForState(state: string, timeoutMs = 120_000): Promise<void> {
  await page
    .getByTestId('vm-state')
    .filter({ hasText: new RegExp(`^\\s*${state}\\s*$`) })
    .waitFor({ timeout: timeoutMs });
}

before(async () => {
  if (!existsSync(path.join(staticDir, 'index.html'))) {
    const r = spawnSync('npm', ['run', '-s', 'build:renderer'], { cwd: repoRoot, stdio: 'inherit' });
    assert.equal(r.status, 0, 'building the renderer failed');
  }
  mkdirSync(results, { recursive: true });
  workspace = mkdtempSync(path.join(os.tmpdir(), 'farfetchd-workspace-'));
  writeFileSync(path.join(workspace, 'hello.txt'), 'kept on the host\n');
  backend = createBackend({ workspace });
  server = await startServer({ backend, staticDir });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on('dialog', (dialog) => dialog.accept());
});

after(async () => {
  await browser?.close();
  await server?.close();
  await backend?.dispose();
  if (workspace) rmSync(workspace, { recursive: true, force: true });
});

test('without the token the page is refused (403)', async () => {
  const url = new URL(server.url);
  const res = await fetch(`http://127.0.0.1:${url.port}/`);
  assert.equal(res.status, 403);
});

test('the page boots the guest and the terminal runs uname -r on the patched kernel', async () => {
  await page.goto(server.url);
  await waitForState('ready');
  assert.match(
    (await page.getByTestId('accelerator').textContent()) ?? '',
    /TCG — no hardware acceleration: slower|KVM/,
  );
  const text = await typeAndWait('uname -r', /uname -r\s*\n6\.12\.\d+-farfetch\s*\n/);
  assert.match(text, /\[farfetchd-lab guest\]/);
  await typeAndWait('cat /root/work/hello.txt', /kept on the host/);
  await page.screenshot({ path: path.join(results, 'main-window.png') });
});

test('loading p3 from the UI registers the device: /proc/devices shows its major', async () => {
  await page.getByTestId('module-select').selectOption('p3');
  await page.getByTestId('loaded-module').filter({ hasText: 'module: p3' }).waitFor({ timeout: 60_000 });
  await typeAndWait('grep farfetch /proc/devices', /grep farfetch \/proc\/devices\s*\n\s*\d+ farfetch\s*\n/);
  await page.screenshot({ path: path.join(results, 'p3-loaded.png') });
});

test('a kernel panic shows the crash banner, and its reset brings a prompt back', async () => {
  await page.getByTestId('terminal').click();
  await page.keyboard.type('echo c > /proc/sysrq-trigger');
  await page.keyboard.press('Enter');
  await page.getByTestId('crash-banner').waitFor({ timeout: 60_000 });
  assert.equal(
    (await page.getByTestId('crash-headline').textContent())?.trim(),
    'Kernel panic - not syncing: sysrq triggered crash',
  );
  assert.match(
    (await terminalText()) ?? '',
    /sysrq: Trigger a crash/,
    'terminal history before the crash is kept',
  );
  await page.screenshot({ path: path.join(results, 'crash-banner.png') });
  await page.getByTestId('crash-reset').click();
  await waitForState('ready');
  assert.equal(await page.getByTestId('crash-banner').count(), 0);
  await typeAndWait('echo back-$((6*7))', /\nback-42\s*\n/);
  await typeAndWait('cat /root/work/hello.txt', /kept on the host[\s\S]*kept on the host/);
  await page.screenshot({ path: path.join(results, 'after-reset.png') });
});
