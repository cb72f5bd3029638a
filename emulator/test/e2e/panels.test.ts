// End to end: the page-table and driver panels in Debian's chromium, against `serve` with the
// real backend and a real guest, checked by the names of the issue's contract. The oracle for the
// frame is /proc/PID/pagemap read by the test itself through the session. Screenshots go to
// test-results/ to be looked at.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { LabBackend, PageWalkResult } from '../../src/api.ts';
import { createBackend } from '../../src/backend.ts';
import { repoRoot } from '../../src/image.ts';
import { startServer, type RunningServer } from '../../src/serve.ts';
import { LabSession } from '../../src/session.ts';
import { hideExercisePane, markWelcomeSeen } from './lab-ui.ts';

const results = path.join(repoRoot, 'test-results');
const staticDir = path.join(repoRoot, 'renderer', 'dist');
let session: LabSession;
let backend: LabBackend;
let server: RunningServer;
let context: BrowserContext;
let page: Page;
let workspace: string;
let profile: string;
const pageErrors: string[] = [];

type Debug = { terminalText(): string; cellOf(text: string, at?: number): { x: number; y: number } | null };

async function terminalText(): Promise<string> {
  return page.evaluate(() =>
    (window as unknown as { farfetchdLabDebug: Debug }).farfetchdLabDebug.terminalText(),
  );
}

async function waitForText(expect: RegExp, what: string, timeoutMs = 30_000): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs;
  let text = '';
  while (Date.now() < deadline) {
    text = await terminalText();
    const m = expect.exec(text);
    if (m) return m;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`terminal never showed ${expect} after ${what}; it shows:\n${text.trimEnd().slice(-1500)}`);
}

async function type(command: string): Promise<void> {
  await page.getByTestId('terminal').click();
  await page.keyboard.type(command);
  await page.keyboard.press('Enter');
}

const shot = (name: string) => page.screenshot({ path: path.join(results, name) });

/** The frame /proc/PID/pagemap gives for `addr`, read as root in the guest (the independent oracle). */
async function pagemapFrame(pid: number, addr: bigint): Promise<bigint> {
  const out = await session.sh(
    `dd if=/proc/${pid}/pagemap bs=8 skip=${addr / 4096n} count=1 2>/dev/null | od -An -tx8 -v`,
  );
  const entry = BigInt(`0x${out.trim()}`);
  assert.equal(entry >> 63n, 1n, `pagemap says ${addr.toString(16)} is not present: ${out}`);
  return (entry & ((1n << 55n) - 1n)) << 12n;
}

before(async () => {
  assert.ok(
    existsSync(path.join(staticDir, 'index.html')),
    'build the renderer first: npm run build:renderer',
  );
  mkdirSync(results, { recursive: true });
  workspace = mkdtempSync(path.join(os.tmpdir(), 'farfetchd-workspace-'));
  markWelcomeSeen(workspace); // the panels' own tests: no welcome page, no exercise pane
  session = new LabSession({ workspace });
  backend = createBackend({ session, workspace });
  server = await startServer({ backend, staticDir });
  profile = mkdtempSync(path.join(os.tmpdir(), 'farfetchd-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
    ],
    viewport: { width: 1400, height: 900 },
    acceptDownloads: true,
  });
  await hideExercisePane(context);
  page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('console', (msg) => {
    if (msg.type() === 'error') pageErrors.push(msg.text());
  });
  await page.goto(server.url);
  // The page starts the guest; a boot that fails (no image, QEMU missing) says so at once.
  for (const deadline = Date.now() + 180_000; session.status().state !== 'ready';) {
    const { state, error } = session.status();
    if ((state === 'stopped' && error) || Date.now() > deadline) {
      await shot('panels-boot-failed.png');
      throw new Error(`the guest did not boot: ${error ?? `still ${state}`}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  await page
    .getByTestId('vm-state')
    .filter({ hasText: /^\s*ready\s*$/i })
    .waitFor({ timeout: 30_000 });
});

after(async () => {
  await context?.close();
  await server?.close();
  await backend?.dispose();
  if (workspace) rmSync(workspace, { recursive: true, force: true });
  if (profile) rmSync(profile, { recursive: true, force: true });
});

test("a target's printed address, clicked in the terminal, opens its walk: five levels, pagemap's frame, verified by the host", async () => {
  await type('mmap &');
  const [, pidText, addrText] = await waitForText(/pid: (\d+)\naddr: (0x[0-9a-f]+)\n/, 'mmap &');
  const pid = Number(pidText);
  const addr = BigInt(addrText!);
  // The address as the terminal shows it is a link: hover it (xterm finds links on hover), click.
  const cell = await page.evaluate(
    (text) => (window as unknown as { farfetchdLabDebug: Debug }).farfetchdLabDebug.cellOf(text, 10),
    `addr: ${addrText}`,
  );
  assert.ok(cell, 'the address is on the screen');
  await page.mouse.move(cell.x, cell.y);
  await page.waitForTimeout(300);
  await page.mouse.click(cell.x, cell.y);

  assert.equal(await page.getByRole('tab', { name: 'Page tables' }).getAttribute('aria-selected'), 'true');
  const phys = page.getByLabel('Physical address', { exact: true });
  await phys.waitFor({ timeout: 30_000 });
  assert.equal(await page.getByLabel('PID', { exact: true }).inputValue(), String(pid));
  assert.equal(await page.getByLabel('Address', { exact: true }).inputValue(), addrText);
  for (const level of ['PGD', 'P4D', 'PUD', 'PMD', 'PTE']) {
    const region = page.getByRole('region', { name: level, exact: true });
    assert.match((await region.textContent()) ?? '', /index \d+ · entry at 0x[0-9a-f]+ = 0x[0-9a-f]+/, level);
  }
  const physText = ((await phys.textContent()) ?? '').trim();
  assert.match(physText, /^0x[0-9a-f]+$/);
  const frame = await pagemapFrame(pid, addr);
  assert.equal(
    BigInt(physText),
    frame | (addr & 0xfffn),
    "the walk's physical address is pagemap's frame + offset",
  );
  assert.match(
    (await page.getByText(/Physical address 0x/).textContent()) ?? '',
    new RegExp(`Physical address ${physText}`),
  );
  assert.match((await page.getByTestId('walk-verdict').textContent()) ?? '', /✔ verified by the host/);
  assert.match((await page.getByTestId('walk-pagemap').textContent()) ?? '', /the same as the walk's/);
  // The target is listed, as a target, with its user.
  const row = page
    .getByTestId('process-list')
    .locator('tr', { hasText: `${pid}` })
    .first();
  assert.match((await row.textContent()) ?? '', new RegExp(`${pid}\\s*mmap\\s*target\\s*root`));
  await shot('page-walk.png');
  // Exported for a lab report: the JSON is the walk the panel shows.
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Export JSON' }).click(),
  ]);
  assert.equal(download.suggestedFilename(), `walk-${pid}-${addrText}.json`);
  const exported = JSON.parse(readFileSync((await download.path())!, 'utf8')) as PageWalkResult;
  assert.deepEqual([exported.guest.phys, exported.host.verified], [physText, true]);

  // Typed, and not an address: one line saying what to type.
  await page.getByLabel('Address', { exact: true }).fill('7f00');
  await page.getByRole('button', { name: 'Walk', exact: true }).click();
  assert.equal(
    await page.getByTestId('walk-error').textContent(),
    '"7f00" is not an address: type it in hex (0x7f12a4c00000) or in decimal',
  );
  // A kernel address is the guest's refusal, said as it is.
  await page.getByLabel('Address', { exact: true }).fill('0xffffffff81000000');
  await page.getByRole('button', { name: 'Walk', exact: true }).click();
  await page
    .getByTestId('walk-error')
    .filter({ hasText: `lab-ptwalk: 0xffffffff81000000 is not a user-space address of process ${pid}` })
    .waitFor({ timeout: 20_000 });
  // An address with no mapping (walked under the mmap write lock): where the walk stops, and the
  // host's own walk stops at the same entry.
  await page.getByLabel('Address', { exact: true }).fill('0x1000');
  await page.getByRole('button', { name: 'Walk', exact: true }).click();
  const stop = page.getByTestId('walk-stop');
  await stop.waitFor({ timeout: 20_000 });
  assert.match((await stop.textContent()) ?? '', /^The walk stops: not present at (p4d|pud|pmd|pte)\.$/);
  assert.match((await page.getByTestId('walk-verdict').textContent()) ?? '', /✔ verified by the host/);
  assert.match((await page.getByTestId('walk-pagemap').textContent()) ?? '', /pagemap: not present/);
  assert.deepEqual(pageErrors, []);
});

test('p3 loaded with the module button: the registration chain is all ✔ with its major', async () => {
  await page.getByTestId('load-p3').click();
  await page.getByTestId('loaded-module').filter({ hasText: 'module: p3' }).waitFor({ timeout: 60_000 });
  await page.getByRole('tab', { name: 'Drivers' }).click();
  const major = Number((await session.sh(`awk '$2 == "farfetch" { print $1 }' /proc/devices`)).trim());
  assert.ok(major > 0);
  await page
    .getByTestId('farfetch-major')
    .filter({ hasText: `farfetch: major ${major}` })
    .waitFor({ timeout: 20_000 });
  const marks = page.getByTestId('chain').locator('.mark');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=chain] .mark').length === 5);
  assert.deepEqual(await marks.allTextContents(), ['✔', '✔', '✔', '✔', '✔']);
  assert.equal(await page.getByTestId('chain-fix').count(), 0);
  await shot('drivers-chain-ok.png');
});

test('a wrong node is flagged with the exact mknod line; the button pastes it and does not run it', async () => {
  const major = Number((await session.sh(`awk '$2 == "farfetch" { print $1 }' /proc/devices`)).trim());
  await type('rm /dev/farfetch; mknod /dev/farfetch c 1 3; echo planted-$?');
  await waitForText(/planted-0/, 'planting a wrong node');
  await page.getByTestId('drivers').getByRole('button', { name: 'Refresh' }).click();
  const fix = page.getByTestId('chain-fix');
  await fix.waitFor({ timeout: 20_000 });
  assert.deepEqual(await fix.locator('pre').allTextContents(), [
    'rm /dev/farfetch',
    `mknod -m 0666 /dev/farfetch c ${major} 0`,
  ]);
  assert.deepEqual(await page.getByTestId('chain').locator('.mark').allTextContents(), [
    '✔',
    '✔',
    '✔',
    '✘',
    '✘',
  ]);
  await shot('drivers-stale-node.png');
  await page.getByTestId('paste-fix').click();
  await waitForText(new RegExp(`rm /dev/farfetch && mknod -m 0666 /dev/farfetch c ${major} 0`), 'the paste');
  // Pasted, not run: the node is still the planted one until Enter.
  assert.equal((await session.sh("stat -c '%t:%T' /dev/farfetch")).trim(), '1:3');
  await page.keyboard.press('Enter');
  const expected = `${major.toString(16)}:0 666`;
  // Between the rm and the mknod there is no node: ask until the new one is there.
  const node = () => session.sh("stat -c '%t:%T %a' /dev/farfetch 2>/dev/null; true");
  for (let i = 0; i < 50 && (await node()).trim() !== expected; i++) {
    await page.waitForTimeout(200);
  }
  await page.getByTestId('drivers').getByRole('button', { name: 'Refresh' }).click();
  await page.getByTestId('chain-fix').waitFor({ state: 'detached', timeout: 20_000 });
  assert.deepEqual(await page.getByTestId('chain').locator('.mark').allTextContents(), [
    '✔',
    '✔',
    '✔',
    '✔',
    '✔',
  ]);
  assert.deepEqual(pageErrors, []);
});

test('fork + a scripted farfetchd write into the child: the re-walk highlights the COW copy', async () => {
  await page.getByTestId('load-p2').click();
  await page.getByTestId('loaded-module').filter({ hasText: 'module: p2' }).waitFor({ timeout: 60_000 });
  await type('fork &');
  const [, parentText, childText, addrText] = await waitForText(
    /parent: (\d+)\nparent-addr: 0x[0-9a-f]+\nchild: (\d+)\nchild-addr: 0x[0-9a-f]+\npid: \d+\naddr: (0x[0-9a-f]+)\n/,
    'fork &',
  );
  const [parent, child, addr] = [Number(parentText), Number(childText), BigInt(addrText!)];
  await page.getByRole('tab', { name: 'Page tables' }).click();
  await page.getByLabel('PID', { exact: true }).fill(String(child));
  await page.getByLabel('Address', { exact: true }).fill(addrText!);
  await page.getByRole('button', { name: 'Walk', exact: true }).click();
  const phys = page.getByLabel('Physical address', { exact: true });
  await phys.filter({ hasText: /^0x/ }).waitFor({ timeout: 30_000 });
  await page
    .getByTestId('walk-result')
    .filter({ hasText: `pid ${child}, ${addrText}` })
    .waitFor();
  const shared = BigInt((await phys.textContent())!.trim());
  // Before the write the page is the parent's too, and read-only in the child (COW).
  assert.equal(shared & ~0xfffn, await pagemapFrame(parent, addr));
  const pte = page.getByRole('region', { name: 'PTE', exact: true });
  assert.ok(!(await pte.locator('.flag.on').allTextContents()).includes('RW'), 'the COW pte is read-only');

  // Followed on the timer: the change shows up without pressing Walk again.
  await page.getByTestId('walk-follow').check();
  await type(`FARFETCHD_EDITOR='sed -i s/private/fetched/' farfetchd ${child} ${addrText} 20; echo wrote-$?`);
  await waitForText(/wrote-0/, 'farfetchd');
  const change = pte.getByTestId('level-change');
  await change.waitFor({ timeout: 30_000 });
  await page.getByTestId('walk-follow').uncheck();
  await page.waitForFunction(() => !document.querySelector('[data-testid=walk]')?.hasAttribute('disabled'));
  const copy = BigInt((await phys.textContent())!.trim());
  assert.notEqual(copy & ~0xfffn, shared & ~0xfffn, 'the write gave the child a frame of its own');
  assert.equal(copy & ~0xfffn, await pagemapFrame(child, addr));
  assert.equal(await pagemapFrame(parent, addr), shared & ~0xfffn, 'the parent keeps the shared frame');
  assert.match((await change.textContent()) ?? '', /\+RW/);
  assert.match(
    (await page.locator('.phys.changed').textContent()) ?? '',
    new RegExp(`was 0x${shared.toString(16)}`),
  );
  assert.match((await page.getByTestId('walk-verdict').textContent()) ?? '', /✔ verified by the host/);
  await shot('page-walk-cow.png');
  assert.deepEqual(pageErrors, []);
});

test("the Kernel log tab follows the kernel's console and marks a WARNING line", async () => {
  await page.getByRole('tab', { name: 'Kernel log' }).click();
  // Priority 3 (KERN_ERR): printed on the console under `quiet`; not an oops to the crash detector.
  await type("echo '<3>WARNING: a line for the lab e2e' > /dev/kmsg; echo logged-$?");
  await waitForText(/logged-0/, 'writing /dev/kmsg');
  const log = page.getByRole('log', { name: 'kernel log' });
  const line = log.locator('.line', { hasText: 'WARNING: a line for the lab e2e' });
  await line.waitFor({ timeout: 10_000 });
  assert.equal(await line.getAttribute('class'), 'line warning');
  assert.match((await line.textContent()) ?? '', /^\[\s*\d+\.\d+\] WARNING: a line for the lab e2e$/);
  assert.equal(session.status().state, 'ready');
  await shot('kernel-log.png');
  assert.deepEqual(pageErrors, []);
});
