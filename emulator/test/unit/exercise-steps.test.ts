// The exercise's step files: the real folder loads in order with what each step says, and every
// mistake in a step file is a one-line error naming the file (and line).
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { loadSteps, parseStep } from '../../src/exercise-steps.ts';

test('the shipped steps: setup, the patch, parts 1 to 3, the targets; the parts graded by their checks', async () => {
  const steps = await loadSteps();
  assert.deepEqual(
    steps.map((s) => [s.id, s.part ?? null, s.grades]),
    [
      ['setup', null, null],
      ['kernel-patch', null, null],
      ['part1', 1, 'every check of part 1 (farfetch_tests --module p1)'],
      ['part2', 2, 'every check of part 2 (farfetch_tests --module p2)'],
      ['part3', 3, 'every check of part 3 (farfetch_tests --module p3)'],
      ['targets', null, null],
    ],
  );
  const setup = steps[0]!;
  assert.deepEqual(setup.commands, [
    'stat /dev/null /dev/zero',
    'grep -n mem /proc/devices',
    'ls /root/work',
  ]);
  assert.deepEqual(steps[4]!.links, [
    { panel: 'editor', label: 'open farfetch_p3.c', file: 'farfetch_p3/farfetch_p3.c' },
    { panel: 'drivers', label: 'check the registration chain' },
  ]);
  assert.deepEqual(steps[2]!.links[1], { panel: 'page-tables', label: "walk the target's address" });
  for (const step of steps) assert.ok(step.markdown.length > 100, `${step.id} explains itself`);
  assert.match(steps[4]!.markdown, /mknod -m 0666 \/dev\/farfetch c MAJOR 0/);
});

test('a step file: its header, repeated commands and links, the Markdown after it', () => {
  const step = parseStep(
    '7-extra.md',
    '---\ntitle: Extra\npart: 2\ngrades: part 2\ncommand: ls\ncommand: id\nlink: kernel-log | the log\n---\n\n# Hi\n',
  );
  assert.deepEqual(step, {
    order: 7,
    id: 'extra',
    title: 'Extra',
    part: 2,
    markdown: '# Hi',
    commands: ['ls', 'id'],
    grades: 'part 2',
    links: [{ panel: 'kernel-log', label: 'the log' }],
  });
});

test('every mistake in a step file says which file, which line and what to write', () => {
  const cases: [string, string, string][] = [
    ['step.md', '---\ntitle: x\n---\n', 'step.md: a step file is named N-id.md (e.g. 5-part3.md)'],
    ['1-a.md', 'title: x\n', '1-a.md:1: a step file starts with a --- header'],
    ['1-a.md', '---\ntitle: x\n', '1-a.md: the header has no closing ---'],
    ['1-a.md', '---\nTitle x\n---\n', '1-a.md:2: a header line is "key: value"'],
    [
      '1-a.md',
      '---\ntitle: x\ncolour: red\n---\n',
      '1-a.md:3: unknown key "colour" (title, part, grades, command, link)',
    ],
    ['1-a.md', '---\ntitle: x\npart: 4\n---\n', '1-a.md:3: part is 1, 2 or 3'],
    ['1-a.md', '---\npart: 1\n---\n', '1-a.md: the header has no title'],
    [
      '1-a.md',
      '---\ntitle: x\ngrades: all\n---\n',
      '1-a.md: "grades" needs "part" (the part whose checks grade it)',
    ],
    [
      '1-a.md',
      '---\ntitle: x\nlink: shell | go\n---\n',
      '1-a.md:3: link must be "PANEL | label" with PANEL one of page-tables, drivers, kernel-log, system, editor',
    ],
    ['1-a.md', '---\ntitle: x\nlink: editor | open\n---\n', '1-a.md:3: an editor link needs "| FILE"'],
  ];
  for (const [name, text, message] of cases) assert.throws(() => parseStep(name, text), { message });
});

test('two steps with one number, or one id, are refused when the folder loads', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'steps-'));
  writeFileSync(path.join(dir, '1-a.md'), '---\ntitle: A\n---\n');
  writeFileSync(path.join(dir, '1-b.md'), '---\ntitle: B\n---\n');
  await assert.rejects(loadSteps(dir), { message: `${dir}: two steps are number 1` });
  const other = mkdtempSync(path.join(os.tmpdir(), 'steps-'));
  writeFileSync(path.join(other, '1-a.md'), '---\ntitle: A\n---\n');
  writeFileSync(path.join(other, '2-a.md'), '---\ntitle: B\n---\n');
  await assert.rejects(loadSteps(other), { message: `${other}: two steps have the same id` });
});
