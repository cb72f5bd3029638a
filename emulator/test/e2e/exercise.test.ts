// A scripted student does Part 3 in browser mode, end to end, against the real guest: the welcome
// page, the Part 3 step, the skeleton's file edited in the app's editor (first with a mistake, whose
// compiler message is a file:line link into the editor, then into the solution), Build & load
// (make and insmod in the guest, the status bar and the driver panel saying the module is the
// student's build, the driver panel's chain), and Grade to the full score. The
// progress is then on the host, and the welcome page is not shown again. Screenshots in test-results/.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, test } from 'node:test';
import { initWorkspace } from '../../src/workspace.ts';
import { openLabUi } from './lab-ui.ts';

const ui = openLabUi({ visit: true, emptyWorkspace: true });
const FILE = 'farfetch_p3/farfetch_p3.c';
/** The reference solution as a workspace has it (`workspace init --solution`). */
const solutionDir = mkdtempSync(path.join(os.tmpdir(), 'farfetchd-solution-'));
before(() => initWorkspace(solutionDir, { mode: 'solution' }));
const solutionOf = (file: string) => readFileSync(path.join(solutionDir, file), 'utf8');
const GOOD_LINE = '\tif (get_user(nr, (pid_t __user *)arg))';
/** The solution with one mistake: a name that is not declared, on a line we know. */
const breakIt = (text: string) => text.replace(GOOD_LINE, '\tif (get_user(nr, (pid_t __user *)argument))');

/** Replaces the editor's whole text the way a paste does. */
async function pasteIntoEditor(text: string): Promise<void> {
  const content = ui.page.getByRole('textbox', { name: 'source file' });
  await content.click();
  await ui.page.keyboard.press('Control+a');
  await ui.page.keyboard.insertText(text);
}

/** Clicks a button whose label changes while it works ("Building…"), and waits until it is back. */
async function press(name: string, busy: string, timeout: number): Promise<void> {
  await ui.page.getByRole('button', { name, exact: true }).click();
  await ui.page.getByRole('button', { name: busy }).waitFor({ state: 'detached', timeout });
}

test('a student does Part 3 in the app: welcome, edit, a compiler error link, Build & load, Grade to 100 %', async () => {
  const solution = solutionOf(FILE);
  const broken = breakIt(solution);
  const brokenLine = broken.split('\n').findIndex((l) => l.includes('argument))')) + 1;
  assert.notEqual(broken, solution, 'the reference changed: pick another line to break');
  const page = ui.page;
  await page.setViewportSize({ width: 1600, height: 1000 });

  // First launch: the welcome page, with what it found about the accelerator.
  const welcome = page.getByRole('region', { name: 'Welcome' });
  await welcome.waitFor();
  await page.getByTestId('welcome-accel').filter({ hasNotText: 'Looking at this computer' }).waitFor();
  await ui.shot('exercise-welcome.png');
  await page.getByRole('button', { name: 'Start the exercise' }).click();
  await welcome.waitFor({ state: 'detached' });

  // The exercise list, and the Part 3 step with the skeleton's file in the editor.
  const exercise = page.getByRole('region', { name: 'Exercise' });
  assert.deepEqual(
    (await exercise.getByRole('navigation', { name: 'Steps' }).getByRole('button').allTextContents()).map(
      (t) => t.trim(),
    ),
    [
      '1 Set up: devices and drivers',
      '2 The kernel patch and headers',
      '3 Part 1: walk the page tables by hand',
      '4 Part 2: let GUP do the walk',
      '5 Part 3: a pseudo-device',
      '6 farfetchd on each target',
    ],
  );
  await page.getByTestId('step-part3').click();
  assert.equal(await page.getByTestId('step-title').textContent(), 'Part 3: a pseudo-device');
  await page
    .getByRole('textbox', { name: 'source file' })
    .filter({ hasText: 'farfetch_p3 - Farfetch' })
    .waitFor();
  assert.equal(await page.getByTestId('file-select').inputValue(), FILE);
  await ui.shot('exercise-part3.png');

  // The skeleton's other files that differ from the solution (shared helpers with TODOs) first.
  const others = readdirSync(path.join(ui.workspace, 'farfetch_p3'))
    .map((name) => `farfetch_p3/${name}`)
    .filter((f) => f !== FILE && readFileSync(path.join(ui.workspace, f), 'utf8') !== solutionOf(f));
  for (const file of others) {
    await page.getByTestId('file-select').selectOption(file);
    await page.getByRole('textbox', { name: 'source file' }).waitFor();
    await pasteIntoEditor(solutionOf(file));
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByTestId('unsaved').waitFor({ state: 'detached' });
    assert.equal(readFileSync(path.join(ui.workspace, file), 'utf8'), solutionOf(file), file);
  }
  await page.getByTestId('file-select').selectOption(FILE);
  assert.notEqual(
    readFileSync(path.join(ui.workspace, FILE), 'utf8'),
    solution,
    'the skeleton is not the solution',
  );

  // A mistake first: make's message is a link that puts the editor's cursor on its line.
  await pasteIntoEditor(broken);
  await press('Build & load', 'Building…', 600_000);
  const verdict = page.getByTestId('build-verdict');
  assert.match((await verdict.textContent()) ?? '', /^\s*make failed \(exit 2\)/);
  assert.equal(
    readFileSync(path.join(ui.workspace, FILE), 'utf8'),
    broken,
    'Build & load saved the file first',
  );
  const link = page.getByTestId('diagnostic-link').first();
  assert.match(
    (await link.textContent()) ?? '',
    new RegExp(`^farfetch_p3/farfetch_p3\\.c:${brokenLine}:\\d+$`),
  );
  await link.click();
  const activeLine = page.locator('.cm-activeLine');
  await activeLine.filter({ hasText: 'argument))' }).waitFor();
  assert.equal(await page.locator('.cm-activeLineGutter').textContent(), String(brokenLine));
  await ui.shot('exercise-editor-error-link.png');

  // The solution: it builds, loads, and the driver panel's chain is whole.
  await pasteIntoEditor(solution);
  await press('Build & load', 'Building…', 600_000);
  assert.match(
    (await verdict.textContent()) ?? '',
    /Built and loaded: insmod farfetch_p3\.ko: loaded\s+mknod -m 0666 \/dev\/farfetch c \d+ 0/,
  );
  assert.equal(readFileSync(path.join(ui.workspace, FILE), 'utf8'), solution);
  // The status bar says the module is the student's build, and which .ko it came from.
  const loaded = page.getByTestId('loaded-module');
  await loaded.filter({ hasText: 'module: farfetch_p3 (yours)' }).waitFor({ timeout: 60_000 });
  assert.equal(
    await loaded.getAttribute('title'),
    'farfetch_p3: your build, loaded from /root/work/farfetch_p3/farfetch_p3.ko',
  );
  await page.getByTestId('tab-drivers').click();
  const chain = page.getByTestId('chain');
  await chain.locator('li.ok').nth(4).waitFor({ timeout: 30_000 });
  assert.equal(await chain.locator('li.bad').count(), 0, (await chain.textContent()) ?? '');
  assert.equal((await page.getByTestId('module-build-farfetch_p3').textContent())?.trim(), 'yours');
  await ui.shot('exercise-built.png');

  // Grade: every check of part 3 passes.
  await press('Grade', 'Grading…', 900_000);
  const score = page.getByTestId('grade-score');
  assert.equal(
    await page.getByTestId('exercise-error').count(),
    0,
    await page
      .getByTestId('exercise-error')
      .allTextContents()
      .then((t) => t.join()),
  );
  await ui.shot('exercise-graded.png');
  const [got, max] = ((await score.textContent()) ?? '').split(' / ').map(Number);
  assert.ok(max! > 0, `the grade has checks: ${await score.textContent()}`);
  assert.equal(got, max, (await page.getByTestId('grade-results').textContent()) ?? '');

  // Saved on the host, per step; remembered across a reload (no welcome page the second time).
  const saved = JSON.parse(readFileSync(path.join(ui.workspace, '.farfetchd-lab', 'progress.json'), 'utf8'));
  // Every check the grader reported is listed, and none of them failed.
  assert.equal(await page.getByTestId('grade-check').count(), saved.steps.part3.grade.tests.length);
  assert.equal(await page.locator('[data-testid=grade-check].fail').count(), 0);
  assert.equal(saved.welcomeSeen, true);
  assert.equal(saved.steps.part3.done, true);
  assert.equal(saved.steps.part3.grade.score, saved.steps.part3.grade.maxScore);
  await page.reload();
  await ui.waitForState('ready');
  await page
    .getByTestId('step-part3')
    .filter({ hasText: `${max}/${max}` })
    .waitFor();
  assert.equal(await page.getByRole('region', { name: 'Welcome' }).count(), 0);
  assert.equal(await page.getByTestId('exercise-progress').textContent(), '1 of 6 steps done');
  assert.deepEqual(ui.pageErrors, []);
});
