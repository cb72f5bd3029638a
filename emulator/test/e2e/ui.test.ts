// End to end: the real renderer in Debian's chromium, against `serve` with the real backend and a
// real guest. Screenshots go to test-results/ to be looked at.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import WebSocket from 'ws';
import type { LabBackend } from '../../src/api.ts';
import { createBackend } from '../../src/backend.ts';
import { repoRoot } from '../../src/image.ts';
import { startServer, type RunningServer } from '../../src/serve.ts';
import { acceleratorText } from '../../../renderer/src/composables/system.ts';

const results = path.join(repoRoot, 'test-results');
const staticDir = path.join(repoRoot, 'renderer', 'dist');
let backend: LabBackend;
let server: RunningServer;
let context: BrowserContext;
let page: Page;
let workspace: string;
let profile: string;
const pageErrors: string[] = [];

/** What the terminal shows, through the page's test hook (xterm's buffer as text). */
async function terminalText(on: Page = page): Promise<string> {
  return on.evaluate(() =>
    (window as unknown as { farfetchdLabDebug: { terminalText(): string } }).farfetchdLabDebug.terminalText(),
  );
}

async function waitForText(
  expect: RegExp,
  what: string,
  timeoutMs = 30_000,
  on: Page = page,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let text = '';
  while (Date.now() < deadline) {
    text = await terminalText(on);
    if (expect.test(text)) return text;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`terminal never showed ${expect} after ${what}; it shows:\n${text.trimEnd().slice(-1500)}`);
}

/** How many whole lines of `text` are exactly `line`. */
function linesEqual(text: string, line: string): number {
  return text.split('\n').filter((l) => l.trimEnd() === line).length;
}

/** Whether the keyboard is the terminal's (xterm's hidden textarea has the focus). */
async function terminalHasFocus(on: Page = page): Promise<boolean> {
  return on.evaluate(() => document.activeElement?.classList.contains('xterm-helper-textarea') ?? false);
}

/** Types a command into the terminal and waits until the screen matches `expect`. */
async function typeAndWait(command: string, expect: RegExp, timeoutMs = 30_000): Promise<string> {
  await page.getByTestId('terminal').click();
  await page.keyboard.type(command);
  await page.keyboard.press('Enter');
  return waitForText(expect, `'${command}'`, timeoutMs);
}

async function waitForState(state: string, timeoutMs = 120_000, on: Page = page): Promise<void> {
  await on
    .getByTestId('vm-state')
    .filter({ hasText: new RegExp(`^\\s*${state}\\s*$`, 'i') })
    .waitFor({ timeout: timeoutMs });
}

const shot = (name: string) => page.screenshot({ path: path.join(results, name) });

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
  // A fresh profile every run: no remembered theme or font size from an earlier run.
  profile = mkdtempSync(path.join(os.tmpdir(), 'farfetchd-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
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
    viewport: { width: 1280, height: 800 },
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.on('dialog', (dialog) => dialog.accept());
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('console', (msg) => {
    if (msg.type() === 'error') pageErrors.push(msg.text());
  });
});

after(async () => {
  await context?.close();
  await server?.close();
  await backend?.dispose();
  if (workspace) rmSync(workspace, { recursive: true, force: true });
  if (profile) rmSync(profile, { recursive: true, force: true });
});

test('without the token the page and the API are refused (403)', async () => {
  const url = new URL(server.url);
  assert.equal((await fetch(`http://127.0.0.1:${url.port}/`)).status, 403);
  assert.equal((await fetch(`http://127.0.0.1:${url.port}/?token=0${server.token.slice(1)}`)).status, 403);
  const status = await new Promise<string>((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${url.port}/api`);
    ws.on('unexpected-response', (_req, res) => resolve(String(res.statusCode)));
    ws.on('open', () => resolve('open'));
    ws.on('error', (e) => resolve(e.message));
  });
  assert.match(status, /403/);
});

test('the page boots the guest and the terminal runs uname -r on the patched kernel', async () => {
  const response = await page.goto(server.url);
  assert.match(response?.headers()['content-security-policy'] ?? '', /script-src 'self'/);
  await waitForState('ready');
  assert.match(
    (await page.getByTestId('accelerator').textContent()) ?? '',
    /TCG — no hardware acceleration: slower|KVM/,
  );
  const text = await typeAndWait('uname -r', /uname -r\s*\n6\.12\.\d+-farfetch\s*\n/);
  assert.match(text, /\[farfetchd-lab guest\]/);
  await typeAndWait('cat /root/work/hello.txt', /kept on the host/);
  // Uptime ticks on its own between status updates.
  await page
    .getByTestId('uptime')
    .filter({ hasText: /up 0:0\d:(0[1-9]|[1-5]\d)/ })
    .waitFor({ timeout: 5_000 });
  await shot('main-window.png');
});

test('the System page shows the real report; Probe again probes and shows the new verdict', async () => {
  const { api, close } = backend.connect(() => undefined);
  try {
    const before = await api.systemReport();
    // The status bar's accelerator label opens it.
    await page.getByTestId('accelerator').click();
    assert.equal(await page.getByRole('tab', { name: 'System' }).getAttribute('aria-selected'), 'true');
    const qemu = page.getByTestId('system-qemu');
    await qemu.filter({ hasText: before.qemu.path! }).waitFor({ timeout: 30_000 });
    assert.equal((await qemu.textContent())?.trim(), `${before.qemu.path} · ${before.qemu.version}`);
    const image = (await page.getByTestId('system-image').textContent()) ?? '';
    assert.ok(before.image.key && image.includes(before.image.key), image);
    assert.ok(image.includes(`kernel ${before.image.kernelRelease}`), image);
    const verdict = page.getByTestId('system-accelerator');
    assert.ok(((await verdict.textContent()) ?? '').includes(before.accelerator!.accel.toUpperCase()));
    assert.match((await page.getByTestId('system-disk').textContent()) ?? '', /^\s*[\d.]+ [KMGT]?B on \//);
    assert.deepEqual(
      await page
        .getByTestId('system-caches')
        .locator('li')
        .evaluateAll((lis) => lis.map((li) => li.textContent?.split(':')[0].trim())),
      before.caches.map((c) => c.name),
    );
    await shot('system-page.png');

    await page.getByRole('button', { name: 'Probe again' }).click();
    await verdict.filter({ hasText: /probed on \d{4}-\d\d-\d\d \d\d:\d\d UTC \(the probe took/ }).waitFor({
      timeout: 30_000,
    });
    const after = await api.systemReport();
    assert.equal(after.accelerator?.source === 'remembered' || after.accelerator?.source === 'probe', true);
    assert.ok(
      Date.parse(after.accelerator!.decidedAt!) > Date.parse(before.accelerator!.decidedAt ?? '1970-01-01'),
      'a new verdict was reached and remembered',
    );
    assert.ok(((await verdict.textContent()) ?? '').includes(acceleratorText(after.accelerator)));
    assert.equal(await page.getByRole('button', { name: 'Probe again' }).isEnabled(), true);
  } finally {
    close();
  }
  await page.getByRole('tab', { name: 'Page tables' }).click();
});

test('screen-reader mode puts the terminal text in the DOM; search finds it; the theme switches', async () => {
  await page.getByTestId('screen-reader').check();
  const tree = page.locator('.xterm-accessibility-tree');
  await tree.filter({ hasText: /\d+\.\d+\.\d+-farfetch/ }).waitFor({ timeout: 10_000 });
  await page.getByTestId('screen-reader').uncheck();

  await page.getByTestId('terminal').click();
  await page.keyboard.press('Control+Shift+F');
  const search = page.getByTestId('search-input');
  await search.waitFor();
  await search.fill('farfetch');
  await page
    .getByTestId('search-count')
    .filter({ hasText: /of \d+/ })
    .waitFor({ timeout: 5_000 });

  await page.getByTestId('toggle-theme').click();
  assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'light');
  await search.press('Enter'); // highlights in the light theme's colours
  await page
    .getByTestId('search-count')
    .filter({ hasText: /^2 of \d+/ })
    .waitFor({ timeout: 5_000 });
  await shot('light-theme-search.png');
  await search.press('Escape');
  await page.keyboard.press('Control+Shift+L');
  assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
  // Remembered for the next visit (localStorage).
  const saved = await page.evaluate(() => localStorage.getItem('farfetchd-lab.preferences'));
  assert.match(saved ?? '', /"theme":"dark"/);
});

test("the guest's terminal has the size of the window, also after the text is made larger", async () => {
  const size = () =>
    page.evaluate(() =>
      (
        window as unknown as { farfetchdLabDebug: { terminalSize(): { cols: number; rows: number } } }
      ).farfetchdLabDebug.terminalSize(),
    );
  const before = await size();
  await typeAndWait('stty size', new RegExp(`stty size\\s*\\n${before.rows} ${before.cols}\\n`));
  await page.keyboard.press('Control+=');
  await page.keyboard.press('Control+=');
  await page.getByTestId('font-size').filter({ hasText: '17px' }).waitFor({ timeout: 5_000 });
  const after = await size();
  assert.ok(after.cols < before.cols && after.rows < before.rows, JSON.stringify({ before, after }));
  // The new size reaches the guest a moment later (the backend runs stty there): ask until it has.
  const expected = new RegExp(`stty size\\s*\\n${after.rows} ${after.cols}\\n`);
  for (let attempt = 1; ; attempt++) {
    try {
      await typeAndWait('stty size', expected, 2_000);
      break;
    } catch (err) {
      if (attempt === 5) throw err;
    }
  }
  await page.keyboard.press('Control+0');
  await page.getByTestId('font-size').filter({ hasText: '15px' }).waitFor({ timeout: 5_000 });
});

test('Paste types the clipboard into the guest: the keyboard is back in the terminal, the command runs once', async () => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], {
    origin: new URL(server.url).origin,
  });
  await page.evaluate(() => navigator.clipboard.writeText('echo pasted-$((3*3))'));
  // Enter right after the click, as a quick student would: it goes to the terminal (not to the
  // Paste button again), after the pasted text even though the clipboard is read asynchronously.
  await page.getByRole('button', { name: 'Paste' }).click();
  assert.equal(await terminalHasFocus(), true, 'the terminal has the keyboard right after Paste');
  await page.keyboard.press('Enter');
  const text = await waitForText(/\npasted-9\n[\s\S]*#\s*$/, 'Paste and Enter');
  assert.equal(linesEqual(text, 'pasted-9'), 1, 'its output appears once');
  assert.equal(text.split('echo pasted-$((3*3))').length - 1, 1, 'the command was pasted once');
  // Every toolbar button gives the keyboard back.
  for (const name of ['larger text', 'smaller text', 'Copy']) {
    await page.getByRole('button', { name }).click();
    assert.equal(await terminalHasFocus(), true, `the terminal has the keyboard after ${name}`);
  }
  await page.getByTestId('toggle-theme').click();
  assert.equal(await terminalHasFocus(), true, 'the terminal has the keyboard after the theme button');
  await page.getByTestId('toggle-theme').click();
});

test('a long paste arrives whole and in order (the guest file has the host text’s hash)', async () => {
  // ≈ 300 KB of distinct lines, more than four times what one consoleInput may carry.
  const lines = Array.from(
    { length: 6000 },
    (_, i) => `${String(i).padStart(6, '0')} the quick brown fox jumps over the lazy dog\n`,
  );
  const text = lines.join('');
  const sha = createHash('sha256').update(text).digest('hex');
  await page.evaluate((t) => navigator.clipboard.writeText(t), text);
  await typeAndWait('stty -echo; echo cat-$((2*2)); cat > /root/p.txt; stty echo', /\ncat-4\n/);
  // cat reads the terminal now: the paste, then Ctrl-D (pressed right after, it still comes after).
  await page.getByRole('button', { name: 'Paste' }).click();
  await page.keyboard.press('Control+D');
  await waitForText(/stty echo\s*\n[\s\S]*#\s*$/, 'the paste and Ctrl-D', 180_000);
  const out = await typeAndWait('sha256sum /root/p.txt; wc -c < /root/p.txt', /\n\d+\n[\s\S]*#\s*$/);
  assert.match(out, new RegExp(`\\n${sha}  /root/p\\.txt\\n${text.length}\\n`));
});

test('loading p3 from the UI registers the device: /proc/devices shows its major', async () => {
  await page.getByTestId('load-p3').click();
  await page.getByTestId('loaded-module').filter({ hasText: 'module: p3' }).waitFor({ timeout: 60_000 });
  assert.equal(await page.getByTestId('load-p3').getAttribute('aria-pressed'), 'true');
  await typeAndWait('grep farfetch /proc/devices', /grep farfetch \/proc\/devices\s*\n\s*\d+ farfetch\s*\n/);
  await shot('p3-loaded.png');
});

test('a flood of output arrives whole (flow control pauses the guest, nothing is dropped)', async (t) => {
  const started = Date.now();
  const text = await typeAndWait(
    'seq 1 150000; echo flood-$((2*21))',
    /\n149999\n150000\nflood-42\n/,
    120_000,
  );
  // Every line, in order, in the scrollback's last 10000 rows.
  const lines = text.split('\n');
  const end = lines.indexOf('150000');
  assert.deepEqual(
    lines.slice(end - 9000, end + 1),
    Array.from({ length: 9001 }, (_, i) => String(150000 - 9000 + i)),
  );
  // The page stayed responsive: a click on the toolbar works at once.
  await page.getByTestId('open-search').click({ timeout: 2_000 });
  await page.getByTestId('search-input').press('Escape');
  t.diagnostic(`150000 lines in ${Date.now() - started} ms`);
});

test('reloading the page in the middle of a flood leaves the console working', async () => {
  await page.getByTestId('terminal').click();
  await page.keyboard.type('seq 1 5000000');
  await page.keyboard.press('Enter');
  await waitForText(/\n20000\n/, "'seq 1 5000000'");
  // The page stops rendering (so stops acknowledging, as a hidden tab would): the backend pauses the
  // console at its high watermark. Then the page goes away with all that unacknowledged.
  await page.evaluate(() => {
    window.requestAnimationFrame = () => 0;
  });
  await new Promise((r) => setTimeout(r, 3000));
  await page.reload();
  await waitForState('ready', 10_000);
  await page.getByTestId('terminal').click();
  await page.keyboard.press('Control+C');
  await typeAndWait('echo alive-$((5*5))', /\nalive-25\n/);
});

test('two pages at once: one that stopped rendering does not hold back the other', async () => {
  const other = await context.newPage();
  try {
    await other.goto(server.url);
    await waitForState('ready', 10_000, other);
    await waitForText(/alive-25/, 'opening a second page', 10_000, other);
    // The second page stops rendering (so stops acknowledging), as a hidden or hung tab would.
    await other.evaluate(() => {
      window.requestAnimationFrame = () => 0;
    });
    const text = await typeAndWait(
      'seq 1 200000; echo two-pages-$((4*5))',
      /\n199999\n200000\ntwo-pages-20\n/,
      180_000,
    );
    assert.equal(linesEqual(text, 'two-pages-20'), 1);
  } finally {
    await other.close();
  }
});

test('a reloaded page gets the recent history once, then live output', async () => {
  await typeAndWait('echo history-$((6*7))', /\nhistory-42\n/);
  await page.reload();
  await waitForState('ready', 10_000);
  const text = await waitForText(/\nhistory-42\n/, 'the reload');
  assert.equal(linesEqual(text, 'history-42'), 1, 'the history is shown once');
  assert.equal(text.split('echo history-$((6*7))').length - 1, 1);
  const live = await typeAndWait('echo after-reload-$((8*8))', /\nafter-reload-64\n/);
  assert.equal(linesEqual(live, 'after-reload-64'), 1);
  assert.equal(linesEqual(live, 'history-42'), 1, 'and it is not sent again');
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
  assert.match((await page.getByTestId('crash-log').textContent()) ?? '', /sysrq triggered crash/);
  await waitForState('crashed', 10_000);
  const before = await terminalText();
  assert.match(before, /sysrq: Trigger a crash/, 'the crash is in the terminal');
  assert.match(before, /\nafter-reload-64\n/, 'terminal history before the crash is kept');
  await shot('crash-banner.png');
  await page.getByTestId('crash-reset').click();
  await waitForState('ready');
  assert.equal(await page.getByTestId('crash-banner').count(), 0);
  assert.match(await terminalText(), /\nafter-reload-64\n/, 'history is still there after reset');
  await typeAndWait('echo back-$((6*7))', /\nback-42\s*\n/);
  await typeAndWait('cat /root/work/hello.txt', /back-42[\s\S]*\nkept on the host\n/);
  await shot('after-reset.png');
});

test('the page logged no errors', () => {
  assert.deepEqual(pageErrors, []);
});

test('when the lab stops, the page says so', async () => {
  await server.close();
  await page.getByTestId('disconnected').waitFor({ timeout: 10_000 });
  assert.match(
    (await page.getByTestId('disconnected').textContent()) ?? '',
    /Disconnected: the connection to the lab backend was lost/,
  );
  await waitForState('disconnected', 5_000);
  assert.equal(await page.getByTestId('reset').isDisabled(), true);
  assert.equal(await page.getByTestId('uptime').textContent(), 'up —');
  await shot('disconnected.png');
});
