// End to end, pasting: the Paste button types the clipboard into the guest, short or ≈ 300 KB,
// whole, in order and once, and every toolbar button gives the keyboard back to the terminal
// (the real renderer in Debian's chromium against `serve` and a real guest: lab-ui.ts).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { linesEqual, openLabUi } from './lab-ui.ts';

const ui = openLabUi({ visit: true });

test('Paste types the clipboard into the guest: the keyboard is back in the terminal, the command runs once', async () => {
  await ui.context.grantPermissions(['clipboard-read', 'clipboard-write'], {
    origin: new URL(ui.server.url).origin,
  });
  await ui.page.evaluate(() => navigator.clipboard.writeText('echo pasted-$((3*3))'));
  // Enter right after the click, as a quick student would: it goes to the terminal (not to the
  // Paste button again), after the pasted text even though the clipboard is read asynchronously.
  await ui.page.getByRole('button', { name: 'Paste' }).click();
  assert.equal(await ui.terminalHasFocus(), true, 'the terminal has the keyboard right after Paste');
  await ui.page.keyboard.press('Enter');
  const text = await ui.waitForText(/\npasted-9\n[\s\S]*#\s*$/, 'Paste and Enter');
  assert.equal(linesEqual(text, 'pasted-9'), 1, 'its output appears once');
  assert.equal(text.split('echo pasted-$((3*3))').length - 1, 1, 'the command was pasted once');
  // Every toolbar button gives the keyboard back.
  for (const name of ['larger text', 'smaller text', 'Copy']) {
    await ui.page.getByRole('button', { name }).click();
    assert.equal(await ui.terminalHasFocus(), true, `the terminal has the keyboard after ${name}`);
  }
  await ui.page.getByTestId('toggle-theme').click();
  assert.equal(await ui.terminalHasFocus(), true, 'the terminal has the keyboard after the theme button');
  await ui.page.getByTestId('toggle-theme').click();
});

test('a long paste arrives whole and in order (the guest file has the host text’s hash)', async () => {
  // ≈ 300 KB of distinct lines, more than four times what one consoleInput may carry.
  const lines = Array.from(
    { length: 6000 },
    (_, i) => `${String(i).padStart(6, '0')} the quick brown fox jumps over the lazy dog\n`,
  );
  const text = lines.join('');
  const sha = createHash('sha256').update(text).digest('hex');
  await ui.page.evaluate((t) => navigator.clipboard.writeText(t), text);
  await ui.typeAndWait('stty -echo; echo cat-$((2*2)); cat > /root/p.txt; stty echo', /\ncat-4\n/);
  // cat reads the terminal now: the paste, then Ctrl-D (pressed right after, it still comes after).
  await ui.page.getByRole('button', { name: 'Paste' }).click();
  await ui.page.keyboard.press('Control+D');
  await ui.waitForText(/stty echo\s*\n[\s\S]*#\s*$/, 'the paste and Ctrl-D', 180_000);
  const out = await ui.typeAndWait('sha256sum /root/p.txt; wc -c < /root/p.txt', /\n\d+\n[\s\S]*#\s*$/);
  assert.match(out, new RegExp(`\\n${sha}  /root/p\\.txt\\n${text.length}\\n`));
});

test('the page logged no errors', () => {
  assert.deepEqual(ui.pageErrors, []);
});
