// The exercise markers: a marked reference becomes the student's skeleton (hints and stubs) or the
// clean solution, and every malformed marker is refused with its file, line and what to do.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fillWords, markedRegions, MarkerError, renderExercise } from '../../src/exercise-markers.ts';

const marked = [
  'static int answer(void)',
  '{',
  '\t/* LAB: BEGIN SOLUTION answer */',
  '\t/* LAB: TODO answer: compute it. */',
  '\t/* LAB: STUB return -ENOSYS; */',
  '\tint x = 6;',
  '',
  '\treturn x * 7;',
  '\t/* LAB: END SOLUTION */',
  '}',
  '',
].join('\n');

test('skeleton: the region becomes its hint as a comment and its stub, at the marker indent', () => {
  assert.equal(
    renderExercise(marked, 'skeleton'),
    ['static int answer(void)', '{', '\t/* TODO answer: compute it. */', '\treturn -ENOSYS;', '}', ''].join(
      '\n',
    ),
  );
});

test('solution: the marker lines go, the solution stays byte for byte', () => {
  assert.equal(
    renderExercise(marked, 'solution'),
    ['static int answer(void)', '{', '\tint x = 6;', '', '\treturn x * 7;', '}', ''].join('\n'),
  );
});

test('a text without markers is returned unchanged in both modes', () => {
  const plain = '#include <linux/module.h>\n\nMODULE_LICENSE("GPL");\n';
  assert.equal(renderExercise(plain, 'skeleton'), plain);
  assert.equal(renderExercise(plain, 'solution'), plain);
});

test('several hint lines join into one kernel-style block comment filled to 80 columns', () => {
  const source = [
    '/* LAB: BEGIN SOLUTION walk */',
    '/* LAB: TODO walk: walk the page tables yourself, one function per level, as */',
    '/* LAB: TODO walk: mm/pagewalk.c does: pgd_offset(), p4d_offset(), pud_offset(), pmd_offset(). */',
    'static int walk(void) { return 0; }',
    '/* LAB: END SOLUTION */',
  ].join('\n');
  assert.equal(
    renderExercise(source, 'skeleton'),
    [
      '/*',
      ' * TODO walk: walk the page tables yourself, one function per level, as',
      ' * mm/pagewalk.c does: pgd_offset(), p4d_offset(), pud_offset(), pmd_offset().',
      ' */',
    ].join('\n'),
  );
});

test('fillWords: lines of at most the width, a longer word alone on its line', () => {
  assert.deepEqual(fillWords('aa bb cc dd', 5), ['aa bb', 'cc dd']);
  assert.deepEqual(fillWords('a verylongword b', 4), ['a', 'verylongword', 'b']);
  assert.deepEqual(fillWords('  ', 10), []);
});

test('markedRegions lists each region with the line of its BEGIN', () => {
  assert.deepEqual(markedRegions(marked + marked.replaceAll('answer', 'other')), [
    { id: 'answer', line: 3 },
    { id: 'other', line: 13 },
  ]);
});

/** The error renderExercise throws for `lines`, as "file:line: reason". */
function errorOf(lines: string[]): string {
  try {
    renderExercise(lines.join('\n'), 'skeleton', 'x.c');
  } catch (err) {
    assert.ok(err instanceof MarkerError, String(err));
    return err.message;
  }
  assert.fail('no MarkerError');
}

const BEGIN = (id: string) => `/* LAB: BEGIN SOLUTION ${id} */`;
const TODO = (id: string) => `/* LAB: TODO ${id}: hint */`;
const END = '/* LAB: END SOLUTION */';

test('bad nesting and unbalanced markers are refused with the line and the fix', () => {
  assert.equal(
    errorOf([BEGIN('a'), TODO('a'), 'x;', BEGIN('b'), TODO('b'), END, END]),
    "x.c:4: 'b' begins inside region 'a' (line 1); regions do not nest: end 'a' with /* LAB: END SOLUTION */ first",
  );
  assert.equal(errorOf(['x;', END]), 'x.c:2: END SOLUTION without a BEGIN SOLUTION before it');
  assert.equal(
    errorOf(['x;', BEGIN('a'), TODO('a'), 'y;']),
    "x.c:2: region 'a' never ends: add /* LAB: END SOLUTION */ after its solution",
  );
  assert.equal(
    errorOf([BEGIN('a'), TODO('a'), END, BEGIN('a'), TODO('a'), END]),
    "x.c:4: region id 'a' is used twice (first at line 1): rename one",
  );
});

test('hints and stubs are checked: present, first, inside their own region', () => {
  assert.equal(
    errorOf([BEGIN('a'), END]),
    "x.c:2: region 'a' has no /* LAB: TODO a: hint */ line: say what to do",
  );
  assert.equal(
    errorOf([BEGIN('a'), 'x;', END]),
    "x.c:2: region 'a' must start with a /* LAB: TODO a: hint */ line",
  );
  assert.equal(
    errorOf([BEGIN('a'), TODO('b'), END]),
    "x.c:2: TODO for 'b' inside region 'a': use the region's id",
  );
  assert.equal(
    errorOf([TODO('a')]),
    'x.c:1: TODO outside a region: put it right after a /* LAB: BEGIN SOLUTION id */ line',
  );
  assert.equal(
    errorOf(['/* LAB: STUB return 0; */']),
    'x.c:1: STUB outside a region: put it after the TODO lines of a region',
  );
  assert.equal(
    errorOf([BEGIN('a'), TODO('a'), 'x;', '/* LAB: STUB return 0; */', END]),
    'x.c:4: STUB after solution code: stubs come right after the TODO lines',
  );
  assert.equal(
    errorOf([BEGIN('a'), TODO('a'), '/* LAB: STUB return 0; */', TODO('a'), END]),
    'x.c:4: TODO after solution code or a STUB: hints come first',
  );
});

test('a misspelt marker is refused rather than left in a student skeleton', () => {
  const reason =
    'not a marker: a marker is a line of its own, exactly /* LAB: BEGIN SOLUTION id */, ' +
    '/* LAB: TODO id: hint */, /* LAB: STUB code */ or /* LAB: END SOLUTION */';
  assert.equal(errorOf(['/* LAB: BEGIN SOLUTON a */']), `x.c:1: ${reason}`);
  assert.equal(errorOf(['x = 1; /* LAB: END SOLUTION */']), `x.c:1: ${reason}`);
  assert.equal(errorOf(['// LAB: TODO a: hint']), `x.c:1: ${reason}`);
  assert.equal(errorOf(['/* LAB: BEGIN SOLUTION Bad_Id */']), `x.c:1: ${reason}`);
});
