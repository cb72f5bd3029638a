// The reference modules' exercise markers (docs/exercise.md): a student's skeleton is the
// reference with each marked solution replaced by its TODO hints and stub; the solution is the
// reference with the marker lines removed. Pure: text in, text out, or a MarkerError naming the
// file and line of the first bad marker.
//
//   /* LAB: BEGIN SOLUTION id */
//   /* LAB: TODO id: a hint, one line of it */      one or more, right after BEGIN
//   /* LAB: STUB return -ENOSYS; */                 zero or more, after the hints
//   ...the solution...
//   /* LAB: END SOLUTION */

export type RenderMode = 'skeleton' | 'solution';

export class MarkerError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    reason: string,
  ) {
    super(`${file}:${line}: ${reason}`);
    this.name = 'MarkerError';
  }
}

const ID = '[a-z0-9][a-z0-9-]*';
const BEGIN = new RegExp(`^(\\s*)/\\* LAB: BEGIN SOLUTION (${ID}) \\*/$`);
const END = /^\s*\/\* LAB: END SOLUTION \*\/$/;
const TODO = new RegExp(`^\\s*/\\* LAB: TODO (${ID}): (.*\\S) \\*/$`);
const STUB = /^\s*\/\* LAB: STUB (.*\S) \*\/$/;
/** Anything that looks like a marker must be one of the four, spelled exactly. */
const LOOKS_LIKE_MARKER = /(\/\*|\/\/)\s*LAB\s*:/;

interface OpenRegion {
  id: string;
  indent: string;
  line: number;
  hints: string[];
  stubs: string[];
  /** A solution line was seen: hints and stubs may no longer follow. */
  inSolution: boolean;
}

/** One marked region: its id and the line of its BEGIN marker. */
export interface MarkedRegion {
  id: string;
  line: number;
}

/** Columns a line's leading tabs and spaces take (a tab is 8, as in the kernel). */
function columnsOf(indent: string): number {
  let columns = 0;
  for (const c of indent) columns = c === '\t' ? (columns + 8) & ~7 : columns + 1;
  return columns;
}

/** Words filled into lines of at most `width` characters (a longer word gets a line of its own). */
export function fillWords(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

const MAX_COLUMNS = 80;

/**
 * The skeleton's text for a region: its hints, joined and filled to 80 columns, as one
 * kernel-style comment (one line when it fits), then its stub lines.
 */
function skeletonOf(region: OpenRegion): string[] {
  const { indent, id, hints, stubs } = region;
  const text = `TODO ${id}: ${hints.join(' ')}`;
  const room = MAX_COLUMNS - columnsOf(indent);
  const comment =
    text.length + 6 <= room
      ? [`${indent}/* ${text} */`]
      : [`${indent}/*`, ...fillWords(text, room - 3).map((l) => `${indent} * ${l}`), `${indent} */`];
  return [...comment, ...stubs.map((s) => `${indent}${s}`)];
}

function parse(
  source: string,
  file: string,
  onLine: (line: string, region: OpenRegion | null) => void,
  onRegion: (region: OpenRegion) => void,
): void {
  const lines = source.split('\n');
  const seen = new Map<string, number>();
  let open: OpenRegion | null = null;
  lines.forEach((text, index) => {
    const n = index + 1;
    const fail = (reason: string): never => {
      throw new MarkerError(file, n, reason);
    };
    const begin = BEGIN.exec(text);
    if (begin) {
      if (open) {
        fail(
          `'${begin[2]}' begins inside region '${open.id}' (line ${open.line}); regions do not nest: ` +
            `end '${open.id}' with /* LAB: END SOLUTION */ first`,
        );
      }
      const id = begin[2]!;
      if (seen.has(id)) fail(`region id '${id}' is used twice (first at line ${seen.get(id)}): rename one`);
      seen.set(id, n);
      open = { id, indent: begin[1]!, line: n, hints: [], stubs: [], inSolution: false };
      return;
    }
    if (END.test(text)) {
      if (!open) fail('END SOLUTION without a BEGIN SOLUTION before it');
      if (open!.hints.length === 0) {
        fail(`region '${open!.id}' has no /* LAB: TODO ${open!.id}: hint */ line: say what to do`);
      }
      onRegion(open!);
      open = null;
      return;
    }
    const todo = TODO.exec(text);
    if (todo) {
      if (!open) fail('TODO outside a region: put it right after a /* LAB: BEGIN SOLUTION id */ line');
      if (todo[1] !== open!.id)
        fail(`TODO for '${todo[1]}' inside region '${open!.id}': use the region's id`);
      if (open!.inSolution || open!.stubs.length)
        fail('TODO after solution code or a STUB: hints come first');
      open!.hints.push(todo[2]!);
      return;
    }
    const stub = STUB.exec(text);
    if (stub) {
      if (!open) fail('STUB outside a region: put it after the TODO lines of a region');
      if (open!.inSolution) fail('STUB after solution code: stubs come right after the TODO lines');
      open!.stubs.push(stub[1]!);
      return;
    }
    if (LOOKS_LIKE_MARKER.test(text)) {
      fail(
        'not a marker: a marker is a line of its own, exactly /* LAB: BEGIN SOLUTION id */, ' +
          '/* LAB: TODO id: hint */, /* LAB: STUB code */ or /* LAB: END SOLUTION */',
      );
    }
    if (open) {
      if (open.hints.length === 0)
        fail(`region '${open.id}' must start with a /* LAB: TODO ${open.id}: hint */ line`);
      open.inSolution = true;
    }
    onLine(text, open);
  });
  if (open) {
    const region = open as OpenRegion;
    throw new MarkerError(
      file,
      region.line,
      `region '${region.id}' never ends: add /* LAB: END SOLUTION */ after its solution`,
    );
  }
}

/** The text a student (skeleton) or an instructor (solution) gets from a marked reference file. */
export function renderExercise(source: string, mode: RenderMode, file = '<source>'): string {
  const out: string[] = [];
  parse(
    source,
    file,
    (line, region) => {
      if (mode === 'solution' || region === null) out.push(line);
    },
    (region) => {
      if (mode === 'skeleton') out.push(...skeletonOf(region));
    },
  );
  return out.join('\n');
}

/** The regions of a marked file, in order (validating every marker as renderExercise does). */
export function markedRegions(source: string, file = '<source>'): MarkedRegion[] {
  const regions: MarkedRegion[] = [];
  parse(
    source,
    file,
    () => undefined,
    (region) => regions.push({ id: region.id, line: region.line }),
  );
  return regions;
}
