// The grader's checks as data: emulator/grader/checks.json (the lab's own), plus a course's folder
// of check files (checksDir, docs/grading.md). Each check is a name, the parts it grades, its
// points, a hint, the checks it depends on, and how it runs: one of the grader's own steps
// (build, load, device, unload, checkpatch), a case of the in-guest C suite, or a shell script a
// course wrote. Pure apart from reading the files.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { labDataPath } from './lab-data.ts';

export type Part = 1 | 2 | 3;

/** How a check runs. `case`: a farfetch_tests case; `script`: a course's guest shell script. */
export type CheckKind =
  'build' | 'load' | 'device' | 'case' | 'script' | 'unload' | 'unloaded-case' | 'checkpatch';

export interface CheckSpec {
  name: string;
  kind: CheckKind;
  parts: Part[];
  points: number;
  hint: string;
  /** Checks that must pass first, else this one is skipped. */
  dependsOn: string[];
  /** kind `case` and `unloaded-case`: the suite's case name (the check's name unless given). */
  case?: string;
  /** kind `script`: run with `sh -c` in the guest with the module loaded; exit 0 passes. */
  script?: string;
  /** Listed so that the mapping is complete, but not graded: why. */
  ungraded?: string;
}

export const BUILTIN_CHECKS = labDataPath('checks');
const KINDS: readonly CheckKind[] = [
  'build',
  'load',
  'device',
  'case',
  'script',
  'unload',
  'unloaded-case',
  'checkpatch',
];
const NAME = /^[a-z][a-z0-9_]{0,79}$/;
const FIELDS = new Set([
  'name',
  'kind',
  'parts',
  'points',
  'hint',
  'dependsOn',
  'case',
  'script',
  'ungraded',
]);

/** The check a part's later checks wait for: the device for Part 3, the loaded module otherwise. */
export function loadedCheck(part: Part): string {
  return part === 3 ? 'device_registered' : 'module_loads';
}

function bad(file: string, what: string): Error {
  return new Error(`${file}: ${what} (the format is in docs/grading.md)`);
}

/** One check object of a file, checked field by field; `base` is the check it overrides, if any. */
function parseCheck(raw: unknown, file: string, base?: CheckSpec): CheckSpec {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw bad(file, 'a check must be a JSON object');
  const o = raw as Record<string, unknown>;
  for (const key of Object.keys(o)) if (!FIELDS.has(key)) throw bad(file, `unknown field "${key}"`);
  const name = o.name;
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw bad(file, `"name" must be snake_case (a-z, 0-9, _), got ${JSON.stringify(name)}`);
  }
  const at = `check ${name}`;
  const kind = o.kind ?? base?.kind ?? (o.script !== undefined ? 'script' : 'case');
  if (!KINDS.includes(kind as CheckKind)) throw bad(file, `${at}: "kind" must be one of ${KINDS.join(', ')}`);
  const parts = o.parts ?? base?.parts;
  if (!Array.isArray(parts) || parts.length === 0 || !parts.every((p) => p === 1 || p === 2 || p === 3)) {
    throw bad(file, `${at}: "parts" must be a non-empty list of 1, 2, 3`);
  }
  if (typeof o.ungraded === 'string') {
    const ungradedCase = typeof o.case === 'string' ? o.case : name;
    return {
      name,
      kind: kind as CheckKind,
      parts: parts as Part[],
      points: 0,
      hint: '',
      dependsOn: [],
      case: ungradedCase,
      ungraded: o.ungraded,
    };
  }
  const points = o.points ?? base?.points;
  if (typeof points !== 'number' || !Number.isFinite(points) || points < 0) {
    throw bad(file, `${at}: "points" must be a number >= 0`);
  }
  const hint = o.hint ?? base?.hint;
  if (typeof hint !== 'string' || hint.trim() === '')
    throw bad(file, `${at}: "hint" must be a non-empty string`);
  const dependsOn = o.dependsOn ?? base?.dependsOn;
  if (
    dependsOn !== undefined &&
    (!Array.isArray(dependsOn) || !dependsOn.every((d) => typeof d === 'string'))
  ) {
    throw bad(file, `${at}: "dependsOn" must be a list of check names`);
  }
  if (kind === 'script' && (typeof o.script !== 'string' || o.script.trim() === '')) {
    throw bad(file, `${at}: a script check needs "script", the shell script to run in the guest`);
  }
  if (o.case !== undefined && (typeof o.case !== 'string' || !NAME.test(o.case))) {
    throw bad(file, `${at}: "case" must be a case name of the in-guest suite`);
  }
  return {
    name,
    kind: kind as CheckKind,
    parts: parts as Part[],
    points,
    hint,
    dependsOn: (dependsOn as string[] | undefined) ?? [],
    ...(kind === 'case' || kind === 'unloaded-case'
      ? { case: (o.case as string | undefined) ?? base?.case ?? name }
      : {}),
    ...(kind === 'script' ? { script: o.script as string } : {}),
  };
}

async function readChecks(file: string, known: Map<string, CheckSpec>): Promise<CheckSpec[]> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw bad(file, `not valid JSON: ${(err as Error).message}`);
  }
  const list = Array.isArray(raw) ? raw : [raw];
  return list.map((item) => {
    const name = (item as { name?: unknown } | null)?.name;
    return parseCheck(item, file, typeof name === 'string' ? known.get(name) : undefined);
  });
}

/**
 * Every check: the lab's, then a course's from `checksDir` (each `*.json` in it, in name order:
 * one check object or a list). A course check with the name of an existing one replaces it
 * (fields it leaves out are kept: `{"name": "checkpatch", "points": 5}` makes style count).
 */
export async function loadChecks(checksDir?: string, builtin = BUILTIN_CHECKS): Promise<CheckSpec[]> {
  const checks = new Map<string, CheckSpec>();
  for (const c of await readChecks(builtin, checks)) {
    if (checks.has(c.name)) throw bad(builtin, `check ${c.name} is listed twice`);
    checks.set(c.name, c);
  }
  if (checksDir !== undefined) {
    let files: string[];
    try {
      files = (await readdir(checksDir)).filter((f) => f.endsWith('.json')).sort();
    } catch (err) {
      throw new Error(
        `--checks ${checksDir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}: give a folder of .json check files`,
      );
    }
    for (const f of files)
      for (const c of await readChecks(path.join(checksDir, f), checks)) checks.set(c.name, c);
  }
  return [...checks.values()];
}

/**
 * The graded checks of one part, in report order, each with its dependencies completed: a suite
 * case or script that names none waits for the loaded module (the device, for Part 3).
 */
export function checksForPart(all: CheckSpec[], part: Part): CheckSpec[] {
  const mine = all.filter((c) => c.parts.includes(part) && c.ungraded === undefined);
  const names = new Set(mine.map((c) => c.name));
  return mine.map((c) => {
    const needsModule = c.kind === 'case' || c.kind === 'script';
    const deps = c.dependsOn.length === 0 && needsModule ? [loadedCheck(part)] : c.dependsOn;
    // A Part 3 case that names module_loads (or nothing) really needs the device node.
    const complete =
      needsModule && part === 3 && !deps.includes('device_registered')
        ? [...deps, 'device_registered']
        : deps;
    for (const d of complete) {
      if (!names.has(d))
        throw new Error(`check ${c.name} depends on ${d}, which is not a check of part ${part}`);
    }
    return { ...c, dependsOn: complete };
  });
}
