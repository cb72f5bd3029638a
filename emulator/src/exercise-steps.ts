// The exercise's steps, read from their files under emulator/exercise/ (docs/exercise.md "Steps").
// A step file is `N-id.md`: a header between `---` lines (`key: value`, `command:` and `link:` may
// repeat), then the explanation in Markdown. Parsing is pure; loading reads the folder.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ExerciseStep, StepLink, StepPanel } from './api.ts';
import { labDataPath } from './lab-data.ts';

export const defaultStepsDir = labDataPath('steps');

const STEP_FILE = /^(\d+)-([a-z0-9][a-z0-9-]*)\.md$/;
const PANELS: readonly StepPanel[] = ['page-tables', 'drivers', 'kernel-log', 'system', 'editor'];

export class StepFileError extends Error {
  override name = 'StepFileError';
}

function parseLink(value: string, where: string): StepLink {
  const [panel, label, file] = value.split('|').map((s) => s.trim());
  if (!PANELS.includes(panel as StepPanel) || !label) {
    throw new StepFileError(`${where}: link must be "PANEL | label" with PANEL one of ${PANELS.join(', ')}`);
  }
  if (panel === 'editor' && !file) throw new StepFileError(`${where}: an editor link needs "| FILE"`);
  return { panel: panel as StepPanel, label, ...(file ? { file } : {}) };
}

/** One step from its file's name and text; a mistake in the file throws, naming file and line. */
export function parseStep(fileName: string, text: string): ExerciseStep & { order: number } {
  const name = STEP_FILE.exec(fileName);
  if (!name) throw new StepFileError(`${fileName}: a step file is named N-id.md (e.g. 5-part3.md)`);
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  if (lines[0] !== '---') throw new StepFileError(`${fileName}:1: a step file starts with a --- header`);
  const end = lines.indexOf('---', 1);
  if (end < 0) throw new StepFileError(`${fileName}: the header has no closing ---`);
  const step: ExerciseStep & { order: number } = {
    order: Number(name[1]),
    id: name[2]!,
    title: '',
    markdown: lines
      .slice(end + 1)
      .join('\n')
      .trim(),
    commands: [],
    grades: null,
    links: [],
  };
  for (let i = 1; i < end; i++) {
    const where = `${fileName}:${i + 1}`;
    const m = /^([a-z]+):\s*(.*)$/.exec(lines[i]!);
    if (!m) throw new StepFileError(`${where}: a header line is "key: value"`);
    const [, key, value] = m as unknown as [string, string, string];
    if (key === 'title') step.title = value;
    else if (key === 'command') step.commands.push(value);
    else if (key === 'grades') step.grades = value;
    else if (key === 'link') step.links.push(parseLink(value, where));
    else if (key === 'part') {
      if (!['1', '2', '3'].includes(value)) throw new StepFileError(`${where}: part is 1, 2 or 3`);
      step.part = Number(value) as 1 | 2 | 3;
    } else throw new StepFileError(`${where}: unknown key "${key}" (title, part, grades, command, link)`);
  }
  if (!step.title) throw new StepFileError(`${fileName}: the header has no title`);
  if (step.grades !== null && step.part === undefined) {
    throw new StepFileError(`${fileName}: "grades" needs "part" (the part whose checks grade it)`);
  }
  return step;
}

/** Every step in the folder, in their order; two steps with one id or one order number are an error. */
export async function loadSteps(dir: string = defaultStepsDir): Promise<ExerciseStep[]> {
  const names = (await readdir(dir)).filter((n) => n.endsWith('.md')).sort();
  const steps = await Promise.all(
    names.map(async (n) => parseStep(n, await readFile(path.join(dir, n), 'utf8'))),
  );
  steps.sort((a, b) => a.order - b.order);
  for (let i = 1; i < steps.length; i++) {
    if (steps[i]!.order === steps[i - 1]!.order) {
      throw new StepFileError(`${dir}: two steps are number ${steps[i]!.order}`);
    }
  }
  const ids = new Set(steps.map((s) => s.id));
  if (ids.size !== steps.length) throw new StepFileError(`${dir}: two steps have the same id`);
  return steps.map(({ order: _order, ...step }) => step);
}
