// End to end, Suspend and Resume in the window: the buttons by their accessible names, the saved
// machine offered after a reload (no fresh start behind the student's back), the shell back as it
// was after Resume, and a refusal shown in plain words with the program that caused it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openLabUi } from './lab-ui.ts';

const ui = openLabUi({ visit: true });

test('Suspend saves the machine; after a reload Resume is offered and brings the shell back', async () => {
  const suspend = ui.page.getByRole('button', { name: 'Suspend', exact: true });
  await ui.typeAndWait('cd /root/work && E2E_MARK=kept-$((3 * 3)) && echo in-$((2 + 2))', /\nin-4\s*\n/);
  assert.equal(await suspend.isEnabled(), true);
  await suspend.click();
  await ui.waitForState('stopped', 120_000);
  await ui.page.getByTestId('saved-session').waitFor({ timeout: 10_000 });
  assert.match(
    (await ui.page.getByTestId('saved-session').textContent()) ?? '',
    /A suspended machine is saved/,
  );
  await ui.shot('suspended.png');

  // A new page (as after reopening the window): it waits for the student's choice.
  await ui.page.reload();
  const resume = ui.page.getByRole('button', { name: 'Resume', exact: true });
  await resume.waitFor({ timeout: 30_000 });
  assert.equal(await ui.page.getByRole('button', { name: 'Start', exact: true }).isVisible(), true);
  await ui.waitForState('stopped', 5_000);
  await resume.click();
  await ui.waitForState('ready', 120_000);
  assert.equal(await ui.page.getByTestId('saved-session').count(), 0);
  await ui.typeAndWait('echo "mark=$E2E_MARK" "cwd=$(pwd)"', /mark=kept-9 cwd=\/root\/work\s*\n/);
  await ui.shot('resumed.png');
});

test('a refused Suspend says which program holds /root/work; the machine runs on', async () => {
  // The pid is whole only once the word after it shows (the terminal can be read mid-write).
  const text = await ui.typeAndWait('tail -f /root/work/hello.txt & echo "tail=$! ."', /tail=\d+ \./);
  const pid = /tail=(\d+) \./.exec(text)![1];
  await ui.page.getByRole('button', { name: 'Suspend', exact: true }).click();
  const error = ui.page.getByTestId('error');
  await error.waitFor({ timeout: 120_000 });
  const message = (await error.textContent()) ?? '';
  assert.match(message, /Suspend refused/);
  assert.match(
    message,
    new RegExp(`tail \\(pid ${pid}\\) works in /root/work, has /root/work/hello.txt open`),
  );
  await ui.waitForState('ready', 30_000);
  await ui.shot('suspend-refused.png');
  await ui.typeAndWait(`kill ${pid}; echo "cwd=$(pwd)"`, /cwd=\/root\/work\s*\n/);
});

test('the page logged no errors', () => {
  assert.deepEqual(ui.pageErrors, []);
});
