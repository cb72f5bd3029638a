// End to end, the console's flow: a flood arrives whole, a page reloaded during a flood or one
// that stops rendering holds nobody back, a reloaded page gets the recent history once, and a
// kernel panic shows its banner and resets with the history kept (the real renderer in Debian's
// chromium against `serve` and a real guest: lab-ui.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { linesEqual, openLabUi } from './lab-ui.ts';

const ui = openLabUi({ visit: true });

test('a flood of output arrives whole (flow control pauses the guest, nothing is dropped)', async (t) => {
  const started = Date.now();
  const text = await ui.typeAndWait(
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
  await ui.page.getByTestId('open-search').click({ timeout: 2_000 });
  await ui.page.getByTestId('search-input').press('Escape');
  t.diagnostic(`150000 lines in ${Date.now() - started} ms`);
});

test('reloading the page in the middle of a flood leaves the console working', async () => {
  await ui.page.getByTestId('terminal').click();
  await ui.page.keyboard.type('seq 1 5000000');
  await ui.page.keyboard.press('Enter');
  await ui.waitForText(/\n20000\n/, "'seq 1 5000000'");
  // The page stops rendering (so stops acknowledging, as a hidden tab would): the backend pauses the
  // console at its high watermark. Then the page goes away with all that unacknowledged.
  await ui.page.evaluate(() => {
    window.requestAnimationFrame = () => 0;
  });
  await new Promise((r) => setTimeout(r, 3000));
  await ui.page.reload();
  await ui.waitForState('ready', 10_000);
  await ui.page.getByTestId('terminal').click();
  await ui.page.keyboard.press('Control+C');
  await ui.typeAndWait('echo alive-$((5*5))', /\nalive-25\n/);
});

test('two pages at once: one that stopped rendering does not hold back the other', async () => {
  const other = await ui.context.newPage();
  try {
    await other.goto(ui.server.url);
    await ui.waitForState('ready', 10_000, other);
    await ui.waitForText(/alive-25/, 'opening a second page', 10_000, other);
    // The second page stops rendering (so stops acknowledging), as a hidden or hung tab would.
    await other.evaluate(() => {
      window.requestAnimationFrame = () => 0;
    });
    const text = await ui.typeAndWait(
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
  await ui.typeAndWait('echo history-$((6*7))', /\nhistory-42\n/);
  await ui.page.reload();
  await ui.waitForState('ready', 10_000);
  const text = await ui.waitForText(/\nhistory-42\n/, 'the reload');
  assert.equal(linesEqual(text, 'history-42'), 1, 'the history is shown once');
  assert.equal(text.split('echo history-$((6*7))').length - 1, 1);
  const live = await ui.typeAndWait('echo after-reload-$((8*8))', /\nafter-reload-64\n/);
  assert.equal(linesEqual(live, 'after-reload-64'), 1);
  assert.equal(linesEqual(live, 'history-42'), 1, 'and it is not sent again');
});

test('a kernel panic shows the crash banner, and its reset brings a prompt back', async () => {
  await ui.page.getByTestId('terminal').click();
  await ui.page.keyboard.type('echo c > /proc/sysrq-trigger');
  await ui.page.keyboard.press('Enter');
  await ui.page.getByTestId('crash-banner').waitFor({ timeout: 60_000 });
  assert.equal(
    (await ui.page.getByTestId('crash-headline').textContent())?.trim(),
    'Kernel panic - not syncing: sysrq triggered crash',
  );
  assert.match((await ui.page.getByTestId('crash-log').textContent()) ?? '', /sysrq triggered crash/);
  await ui.waitForState('crashed', 10_000);
  const before = await ui.terminalText();
  assert.match(before, /sysrq: Trigger a crash/, 'the crash is in the terminal');
  assert.match(before, /\nafter-reload-64\n/, 'terminal history before the crash is kept');
  await ui.shot('crash-banner.png');
  await ui.page.getByTestId('crash-reset').click();
  await ui.waitForState('ready');
  assert.equal(await ui.page.getByTestId('crash-banner').count(), 0);
  assert.match(await ui.terminalText(), /\nafter-reload-64\n/, 'history is still there after reset');
  await ui.typeAndWait('echo back-$((6*7))', /\nback-42\s*\n/);
  await ui.typeAndWait('cat /root/work/hello.txt', /back-42[\s\S]*\nkept on the host\n/);
  await ui.shot('after-reset.png');
});

test('the page logged no errors', () => {
  assert.deepEqual(ui.pageErrors, []);
});
