// The student workspace: each part's folder generated from the marked reference modules (self-
// contained, skeleton or solution), `workspace init` on disk (layout, git, refusals), and its CLI.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { after, test } from 'node:test';
import { main } from '../../src/cli.ts';
import { renderExercise } from '../../src/exercise-markers.ts';
import { repoRoot } from '../../src/image.ts';
import { initWorkspace } from '../../src/workspace.ts';
import {
  assemblePart,
  readPartSources,
  selfContainedMakefile,
  type Part,
} from '../../src/workspace-parts.ts';

const moduleDir = path.join(repoRoot, 'kernel-module');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'workspace-test-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const names = (files: { path: string }[]) => files.map((f) => f.path);

test('each part is self-contained: its Makefile, its source and exactly the headers it includes', async () => {
  const expected: Record<Part, string[]> = {
    1: ['farfetch_common.h', 'farfetch_hook.h', 'farfetch_p1.c', 'Makefile'],
    2: ['farfetch_common.h', 'farfetch_gup.h', 'farfetch_hook.h', 'farfetch_p2.c', 'Makefile'],
    3: ['farfetch_common.h', 'farfetch_gup.h', 'farfetch_p3.c', 'Makefile'],
  };
  for (const part of [1, 2, 3] as const) {
    const files = assemblePart(await readPartSources(moduleDir, part), 'skeleton');
    assert.deepEqual(names(files), expected[part]);
    const makefile = files.find((f) => f.path === 'Makefile')!.text;
    assert.match(makefile, new RegExp(`^obj-m := farfetch_p${part}\\.o$`, 'm'));
    assert.doesNotMatch(makefile, /\.\.\//);
  }
});

test('solution: every file is the reference, byte for byte, without its marker lines', async () => {
  for (const part of [1, 2, 3] as const) {
    const sources = await readPartSources(moduleDir, part);
    for (const file of assemblePart(sources, 'solution')) {
      if (file.path === 'Makefile') continue;
      const reference = sources.own[file.path] ?? sources.common[file.path]!;
      const withoutMarkers = reference
        .split('\n')
        .filter((line) => !/^\s*\/\* LAB: /.test(line))
        .join('\n');
      assert.equal(file.text, withoutMarkers, file.path);
      if (reference.includes('LAB:'))
        assert.notEqual(file.text, renderExercise(reference, 'skeleton'), file.path);
    }
  }
});

test('skeletons: stubs and hints in place of the solutions, the same in every part', async () => {
  // file name → the solution's lines its skeleton lacks, and the skeleton texts of every part.
  const solutionOnly = new Map<string, Set<string>>();
  const skeletons = new Map<string, { part: Part; text: string }[]>();
  for (const part of [1, 2, 3] as const) {
    const sources = await readPartSources(moduleDir, part);
    const solution = assemblePart(sources, 'solution');
    for (const file of assemblePart(sources, 'skeleton')) {
      assert.doesNotMatch(file.text, /LAB:/, file.path);
      const kept = new Set(file.text.split('\n'));
      const only = solutionOnly.get(file.path) ?? new Set<string>();
      for (const line of solution.find((f) => f.path === file.path)!.text.split('\n')) {
        if (!kept.has(line) && line.trim() !== '') only.add(line);
      }
      solutionOnly.set(file.path, only);
      skeletons.set(file.path, [...(skeletons.get(file.path) ?? []), { part, text: file.text }]);
    }
    const main = assemblePart(sources, 'skeleton').find((f) => f.path === `farfetch_p${part}.c`)!.text;
    assert.match(main, /^\treturn -ENOSYS;$/m);
    assert.match(main, /^\t \* TODO p\d-[a-z]+: |^\t\/\* TODO p\d-[a-z]+: /m);
  }
  // A header shared by parts is stripped alike in each: no part's skeleton shows what another's hides.
  for (const [name, texts] of [...skeletons].filter(([name]) => name.endsWith('.h'))) {
    for (const { part, text } of texts) {
      assert.equal(text, texts[0]!.text, `${name} differs between parts ${texts[0]!.part} and ${part}`);
      const leaked = text.split('\n').filter((line) => solutionOnly.get(name)!.has(line));
      assert.deepEqual(leaked, [], `${name} of part ${part}`);
    }
  }
  assert.ok(solutionOnly.get('farfetch_common.h')!.has('\t\tset_page_dirty_lock(page);'));
  assert.ok(
    solutionOnly
      .get('farfetch_gup.h')!
      .has('\t\tgot = get_user_pages_remote(mm, addr + done, nr, gup_flags,'),
  );
  assert.ok(
    solutionOnly.get('farfetch_p3.c')!.has('\tmajor = register_chrdev(0, FARFETCH_DEVICE_NAME, &far_fops);'),
  );
  assert.equal(solutionOnly.get('farfetch_hook.h')!.size, 0, 'the hook is given');
});

test('assemblePart refuses an include it cannot find and a Makefile that reaches outside', () => {
  const own = { Makefile: 'obj-m := farfetch_p1.o\n', 'farfetch_p1.c': '#include "nowhere.h"\n' };
  assert.throws(
    () => assemblePart({ part: 1, own, common: {} }, 'skeleton'),
    new Error(
      'kernel-module/farfetch_p1/farfetch_p1.c includes "nowhere.h", which is neither in kernel-module/farfetch_p1 nor in kernel-module/common',
    ),
  );
  assert.equal(
    selfContainedMakefile('obj-m := a.o\nccflags-y += -I$(src)/../common\nall:\n', 'farfetch_p1'),
    'obj-m := a.o\nall:\n',
  );
  const include = 'include $(dir $(lastword $(MAKEFILE_LIST)))../common/module.mk';
  assert.equal(
    selfContainedMakefile(`obj-m := a.o\n${include}\n`, 'farfetch_p1', { 'module.mk': 'all:\n\tmake\n' }),
    'obj-m := a.o\nall:\n\tmake\n',
  );
  assert.throws(
    () => selfContainedMakefile(`obj-m := a.o\n${include}\n`, 'farfetch_p3'),
    new Error('farfetch_p3/Makefile includes module.mk, which is not in kernel-module/common'),
  );
  assert.throws(
    () => selfContainedMakefile('obj-m := a.o\nccflags-y += -I$(src)/../other\n', 'farfetch_p2'),
    new Error(
      "farfetch_p2/Makefile still reaches outside its folder ('ccflags-y += -I$(src)/../other'): make it self-contained",
    ),
  );
});

const git = (dir: string, ...args: string[]) => spawnSync('git', args, { cwd: dir, encoding: 'utf8' });

test('initWorkspace: the layout, an executable run_checkpatch.sh, and one clean first commit', async () => {
  const dir = path.join(tmp, 'ws');
  const made = await initWorkspace(dir);
  assert.deepEqual(made.entries, [
    '.gitignore',
    'README.md',
    'farfetch_p1',
    'farfetch_p2',
    'farfetch_p3',
    'run_checkpatch.sh',
    'targets',
  ]);
  assert.equal(statSync(path.join(dir, 'run_checkpatch.sh')).mode & 0o111, 0o111);
  const targets = (await readdir(path.join(dir, 'targets'))).sort();
  assert.ok(targets.includes('Makefile') && targets.includes('farfetchd.c') && targets.includes('strlit.c'));
  assert.ok(!targets.includes('tests') && !targets.includes('bin'));
  assert.ok('commit' in made.git);
  assert.equal(git(dir, 'rev-parse', 'HEAD').stdout.trim(), made.git.commit);
  assert.equal(git(dir, 'rev-list', '--count', 'HEAD').stdout.trim(), '1');
  assert.equal(git(dir, 'status', '--porcelain').stdout, '');
  assert.match(git(dir, 'ls-files').stdout, /^farfetch_p3\/farfetch_gup\.h$/m);
  // What a build leaves behind is ignored.
  writeFileSync(path.join(dir, 'farfetch_p1', 'farfetch_p1.ko'), 'x');
  writeFileSync(path.join(dir, 'farfetch_p1', '.farfetch_p1.o.cmd'), 'x');
  assert.equal(git(dir, 'status', '--porcelain').stdout, '');
  const p1 = readFileSync(path.join(dir, 'farfetch_p1', 'farfetch_p1.c'), 'utf8');
  assert.match(p1, /TODO p1-farfetch:/);
});

test('initWorkspace refuses a folder that is not empty, or a file, with what to do', async () => {
  const full = path.join(tmp, 'full');
  mkdirSync(full);
  writeFileSync(path.join(full, 'notes.txt'), 'mine');
  await assert.rejects(
    initWorkspace(full),
    new Error(`${full} is not empty: name a new folder (workspace init creates it) or empty this one`),
  );
  assert.equal(readFileSync(path.join(full, 'notes.txt'), 'utf8'), 'mine');
  const file = path.join(tmp, 'a-file');
  writeFileSync(file, '');
  await assert.rejects(
    initWorkspace(file),
    new Error(`${file} exists and is not a folder: name a new folder, workspace init creates it`),
  );
  const empty = path.join(tmp, 'empty');
  mkdirSync(empty);
  assert.ok('commit' in (await initWorkspace(empty, { mode: 'solution' })).git);
  assert.doesNotMatch(readFileSync(path.join(empty, 'farfetch_p2', 'farfetch_gup.h'), 'utf8'), /TODO|LAB:/);
});

test('without git the workspace is still complete, and says why it is no repository', async () => {
  const dir = path.join(tmp, 'nogit');
  const made = await initWorkspace(dir, { git: '/nonexistent/git' });
  assert.deepEqual(made.git, {
    missing:
      '/nonexistent/git not found: the workspace is complete but not a git repository (install git, then git init)',
  });
  assert.ok(existsSync(path.join(dir, 'farfetch_p3', 'farfetch_p3.c')));
  assert.ok(!existsSync(path.join(dir, '.git')));
});

async function cli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => (out += d));
  stderr.on('data', (d) => (err += d));
  const code = await main(argv, { stdout, stderr });
  return { code, stdout: out, stderr: err };
}

test('farfetchd-lab workspace init DIR: what it made, the commit, how to share it; refusals in one line', async () => {
  const dir = path.join(tmp, 'cli');
  const r = await cli(['workspace', 'init', dir]);
  assert.equal(r.code, 0, r.stderr);
  const commit = git(dir, 'rev-parse', 'HEAD').stdout.trim().slice(0, 12);
  assert.equal(
    r.stdout,
    `created ${dir} (skeletons to complete): README.md farfetch_p1 farfetch_p2 farfetch_p3 run_checkpatch.sh targets\n` +
      `git: first commit ${commit}\n` +
      `share it with the lab: farfetchd-lab serve --workspace ${dir}\n`,
  );
  const again = await cli(['workspace', 'init', dir]);
  assert.deepEqual(again, {
    code: 1,
    stdout: '',
    stderr: `farfetchd-lab workspace: ${dir} is not empty: name a new folder (workspace init creates it) or empty this one\n`,
  });
  const usage = 'Run `farfetchd-lab workspace --help` for usage.\n';
  assert.deepEqual(await cli(['workspace']), {
    code: 2,
    stdout: '',
    stderr: `farfetchd-lab workspace: say what to do: workspace init DIR\n${usage}`,
  });
  assert.deepEqual(await cli(['workspace', 'init']), {
    code: 2,
    stdout: '',
    stderr: `farfetchd-lab workspace: init needs the folder to create: workspace init DIR\n${usage}`,
  });
  assert.equal(
    (await cli(['workspace', 'make', dir])).stderr.split('\n')[0],
    "farfetchd-lab workspace: unknown action 'make' (use init)",
  );
  assert.match(
    (await cli(['workspace', '--help'])).stdout,
    /^Usage: farfetchd-lab workspace init \[--solution\] DIR$/m,
  );
  assert.match(
    (await cli(['--help'])).stdout,
    /^ {2}workspace init \[--solution\] DIR {3}a student's workspace/m,
  );
});

test('run and serve --workspace refuse a folder that does not exist, before booting anything', async () => {
  const missing = path.join(tmp, 'missing');
  for (const command of ['run', 'serve']) {
    const r = await cli([command, '--workspace', missing]);
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr.split('\n')[0],
      `farfetchd-lab ${command}: --workspace ${missing}: no such folder (make one with \`farfetchd-lab workspace init ${missing}\`)`,
    );
  }
});
