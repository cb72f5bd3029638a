// End to end, the window: the real renderer in Debian's chromium against `serve` with the real
// backend and a real guest (lab-ui.ts). The token, the boot and the accelerator the lab chose on
// this machine, the System page and Probe again, screen-reader mode, search and themes, the
// terminal's size, a module loaded from the UI, and the page when the lab goes away.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import WebSocket from 'ws';
import { loadImage } from '../../src/image.ts';
import { acceleratorText, verdictSource } from '../../../renderer/src/composables/system.ts';
import { acceleratorChoice, labAcceleratorDecision } from '../integration/helpers.ts';
import { openLabUi } from './lab-ui.ts';

const ui = openLabUi();
const release = loadImage().manifest.kernelRelease;
const releasePattern = release.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

test('without the token the page and the API are refused (403)', async () => {
  const url = new URL(ui.server.url);
  assert.equal((await fetch(`http://127.0.0.1:${url.port}/`)).status, 403);
  // One character off (never the token itself: it may start with a 0).
  const wrong = (ui.server.token[0] === '0' ? '1' : '0') + ui.server.token.slice(1);
  assert.equal((await fetch(`http://127.0.0.1:${url.port}/?token=${wrong}`)).status, 403);
  const status = await new Promise<string>((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${url.port}/api`);
    ws.on('unexpected-response', (_req, res) => resolve(String(res.statusCode)));
    ws.on('open', () => resolve('open'));
    ws.on('error', (e) => resolve(e.message));
  });
  assert.match(status, /403/);
});

test('the page boots the guest and the terminal runs uname -r on the patched kernel', async () => {
  const response = await ui.page.goto(ui.server.url);
  assert.match(response?.headers()['content-security-policy'] ?? '', /script-src 'self'/);
  await ui.waitForState('ready');
  // The status bar shows the accelerator the lab decides on this machine: its label, and on a
  // fallback the reason (in the label, or after the accelerator's name); the whole label in its title.
  const decided = (await labAcceleratorDecision()).info;
  const accelerator = ui.page.getByTestId('accelerator');
  const shown = ((await accelerator.textContent()) ?? '').trim();
  assert.equal(shown, acceleratorText(decided));
  assert.ok(shown.startsWith(`${decided.accel.toUpperCase()} — `), shown);
  if (decided.fallbackReason) assert.ok(shown.includes(decided.fallbackReason), shown);
  else assert.equal(shown, decided.label);
  assert.ok((await accelerator.getAttribute('title'))?.startsWith(decided.label), shown);
  const text = await ui.typeAndWait('uname -r', new RegExp(`uname -r\\s*\\n${releasePattern}\\s*\\n`));
  assert.match(text, /\[farfetchd-lab guest\]/);
  await ui.typeAndWait('cat /root/work/hello.txt', /kept on the host/);
  // Uptime ticks on its own between status updates.
  await ui.page
    .getByTestId('uptime')
    .filter({ hasText: /up 0:0\d:(0[1-9]|[1-5]\d)/ })
    .waitFor({ timeout: 5_000 });
  await ui.shot('main-window.png');
});

test('the System page shows the real report; Probe again probes and shows the new verdict', async () => {
  const decision = await labAcceleratorDecision();
  // Where the cheap checks rule the hardware accelerator out (no /dev/kvm) nothing is probed.
  const probes = decision.verdict !== undefined;
  const { api, close } = ui.backend.connect(() => undefined);
  try {
    const before = await api.systemReport();
    assert.deepEqual(acceleratorChoice(before.accelerator), acceleratorChoice(decision.info));
    // The status bar's accelerator label opens it.
    await ui.page.getByTestId('accelerator').click();
    assert.equal(await ui.page.getByRole('tab', { name: 'System' }).getAttribute('aria-selected'), 'true');
    const qemu = ui.page.getByTestId('system-qemu');
    await qemu.filter({ hasText: before.qemu.path! }).waitFor({ timeout: 30_000 });
    assert.equal((await qemu.textContent())?.trim(), `${before.qemu.path} · ${before.qemu.version}`);
    const image = (await ui.page.getByTestId('system-image').textContent()) ?? '';
    assert.equal(before.image.key, loadImage().manifest.key);
    assert.ok(image.includes(`hash ${before.image.key}`), image);
    assert.ok(image.includes(`kernel ${before.image.kernelRelease}`), image);
    const verdict = ui.page.getByTestId('system-accelerator');
    // The same verdict as the status bar's, and how it was reached.
    assert.equal((await verdict.locator('strong').textContent())?.trim(), acceleratorText(decision.info));
    assert.equal((await verdict.locator('.muted').textContent())?.trim(), verdictSource(before.accelerator!));
    assert.match((await ui.page.getByTestId('system-disk').textContent()) ?? '', /^\s*[\d.]+ [KMGT]?B on \//);
    assert.deepEqual(
      await ui.page
        .getByTestId('system-caches')
        .locator('li')
        .evaluateAll((lis) => lis.map((li) => li.textContent?.split(':')[0].trim())),
      before.caches.map((c) => c.name),
    );
    await ui.shot('system-page.png');

    await ui.page.getByRole('button', { name: 'Probe again' }).click();
    if (probes) {
      await verdict
        .filter({ hasText: /probed on \d{4}-\d\d-\d\d \d\d:\d\d UTC \(the probe took/ })
        .waitFor({ timeout: 30_000 });
    }
    const after = await api.systemReport();
    // The probe's verdict is remembered: the next question gets it without a probe.
    assert.equal(after.accelerator?.source, probes ? 'remembered' : 'probe');
    if (probes) {
      assert.ok(
        Date.parse(after.accelerator!.decidedAt!) > Date.parse(before.accelerator!.decidedAt ?? '1970-01-01'),
        'a new verdict was reached and remembered',
      );
      assert.equal(
        (await verdict.locator('.muted').textContent())?.trim(),
        verdictSource({ ...after.accelerator!, source: 'probe' }),
      );
    }
    assert.equal((await verdict.locator('strong').textContent())?.trim(), acceleratorText(after.accelerator));
    assert.equal(await ui.page.getByRole('button', { name: 'Probe again' }).isEnabled(), true);
  } finally {
    close();
  }
  await ui.page.getByRole('tab', { name: 'Page tables' }).click();
});

test('screen-reader mode puts the terminal text in the DOM; search finds it; the theme switches', async () => {
  await ui.page.getByTestId('screen-reader').check();
  const tree = ui.page.locator('.xterm-accessibility-tree');
  await tree.filter({ hasText: release }).waitFor({ timeout: 10_000 });
  await ui.page.getByTestId('screen-reader').uncheck();

  await ui.page.getByTestId('terminal').click();
  await ui.page.keyboard.press('Control+Shift+F');
  const search = ui.page.getByTestId('search-input');
  await search.waitFor();
  await search.fill('farfetch');
  await ui.page
    .getByTestId('search-count')
    .filter({ hasText: /of \d+/ })
    .waitFor({ timeout: 5_000 });

  await ui.page.getByTestId('toggle-theme').click();
  assert.equal(await ui.page.evaluate(() => document.documentElement.dataset.theme), 'light');
  await search.press('Enter'); // highlights in the light theme's colours
  await ui.page
    .getByTestId('search-count')
    .filter({ hasText: /^2 of \d+/ })
    .waitFor({ timeout: 5_000 });
  await ui.shot('light-theme-search.png');
  await search.press('Escape');
  await ui.page.keyboard.press('Control+Shift+L');
  assert.equal(await ui.page.evaluate(() => document.documentElement.dataset.theme), 'dark');
  // Remembered for the next visit (localStorage).
  const saved = await ui.page.evaluate(() => localStorage.getItem('farfetchd-lab.preferences'));
  assert.match(saved ?? '', /"theme":"dark"/);
});

test("the guest's terminal has the size of the window, also after the text is made larger", async () => {
  const size = () =>
    ui.page.evaluate(() =>
      (
        window as unknown as { farfetchdLabDebug: { terminalSize(): { cols: number; rows: number } } }
      ).farfetchdLabDebug.terminalSize(),
    );
  const before = await size();
  await ui.typeAndWait('stty size', new RegExp(`stty size\\s*\\n${before.rows} ${before.cols}\\n`));
  await ui.page.keyboard.press('Control+=');
  await ui.page.keyboard.press('Control+=');
  await ui.page.getByTestId('font-size').filter({ hasText: '17px' }).waitFor({ timeout: 5_000 });
  const after = await size();
  assert.ok(after.cols < before.cols && after.rows < before.rows, JSON.stringify({ before, after }));
  // The new size reaches the guest a moment later (the backend runs lab-settle --winsize there): ask until it has.
  const expected = new RegExp(`stty size\\s*\\n${after.rows} ${after.cols}\\n`);
  for (let attempt = 1; ; attempt++) {
    try {
      await ui.typeAndWait('stty size', expected, 2_000);
      break;
    } catch (err) {
      if (attempt === 5) throw err;
    }
  }
  await ui.page.keyboard.press('Control+0');
  await ui.page.getByTestId('font-size').filter({ hasText: '15px' }).waitFor({ timeout: 5_000 });
});

test('loading p3 from the UI registers the device: /proc/devices shows its major', async () => {
  await ui.page.getByTestId('load-p3').click();
  await ui.page.getByTestId('loaded-module').filter({ hasText: 'module: p3' }).waitFor({ timeout: 60_000 });
  assert.equal(await ui.page.getByTestId('load-p3').getAttribute('aria-pressed'), 'true');
  await ui.typeAndWait(
    'grep farfetch /proc/devices',
    /grep farfetch \/proc\/devices\s*\n\s*\d+ farfetch\s*\n/,
  );
  await ui.shot('p3-loaded.png');
});

test('the page logged no errors', () => {
  assert.deepEqual(ui.pageErrors, []);
});

test('when the lab stops, the page says so', async () => {
  await ui.server.close();
  await ui.page.getByTestId('disconnected').waitFor({ timeout: 10_000 });
  assert.match(
    (await ui.page.getByTestId('disconnected').textContent()) ?? '',
    /Disconnected: the connection to the lab backend was lost/,
  );
  await ui.waitForState('disconnected', 5_000);
  assert.equal(await ui.page.getByTestId('reset').isDisabled(), true);
  assert.equal(await ui.page.getByTestId('uptime').textContent(), 'up —');
  await ui.shot('disconnected.png');
});
