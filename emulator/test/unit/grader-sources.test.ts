// The folder `check --src` hands to the guest: the student's files, and a sibling folder the
// Makefile names (the repo's reference modules share ../common).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { collectSources, siblingFolders } from '../../src/grader.ts';

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'grader-sources-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    writeFileSync(path.join(root, name), text);
  }
  return root;
}

const names = async (dir: string) => (await collectSources(dir)).map((f) => f.relative).sort();

test('siblingFolders: each ../NAME a Makefile names, once; never . or ..', () => {
  assert.deepEqual(
    siblingFolders([
      'ccflags-y += -I$(src)/../common\ninclude $(dir $(lastword $(MAKEFILE_LIST)))../common/module.mk\n',
      'x := ../../up ../. ../lib/a.h\n',
    ]),
    ['common', 'lib'],
  );
  assert.deepEqual(siblingFolders(['obj-m := farfetch_p1.o\n']), []);
});

test("a reference module's folder brings ../common along; a student's own folder brings nothing else", async () => {
  const root = tree({
    'farfetch_p2/Makefile':
      'obj-m := farfetch_p2.o\nccflags-y += -I$(src)/../common\ninclude ../common/module.mk\n',
    'farfetch_p2/farfetch_p2.c': 'int x;\n',
    'farfetch_p2/farfetch_p2.o': 'build output',
    'common/module.mk': 'all:\n',
    'common/farfetch_gup.h': '#define G\n',
    'common/.hidden': 'no',
    'common/stale.ko': 'build output',
    'student/Makefile': 'obj-m := farfetch_p1.o\n',
    'student/farfetch_p1.c': 'int y;\n',
    'lonely/Makefile': 'include ../missing/module.mk\n',
  });
  try {
    assert.deepEqual(await names(path.join(root, 'farfetch_p2')), [
      '../common/farfetch_gup.h',
      '../common/module.mk',
      'Makefile',
      'farfetch_p2.c',
    ]);
    const header = (await collectSources(path.join(root, 'farfetch_p2'))).find(
      (f) => f.relative === '../common/farfetch_gup.h',
    );
    assert.equal(header?.data.toString(), '#define G\n');
    assert.deepEqual(await names(path.join(root, 'student')), ['Makefile', 'farfetch_p1.c']);
    // A folder the Makefile names but that is not there: the build's own error will say so.
    assert.deepEqual(await names(path.join(root, 'lonely')), ['Makefile']);
  } finally {
    rmSync(root, { recursive: true });
  }
});

test('a Makefile naming its own folder as a sibling brings no second copy', async () => {
  const root = tree({ 'p/Makefile': 'include ../p/extra.mk\n', 'p/extra.mk': '\n' });
  try {
    assert.deepEqual(await names(path.join(root, 'p')), ['Makefile', 'extra.mk']);
  } finally {
    rmSync(root, { recursive: true });
  }
});
