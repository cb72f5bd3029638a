// The editor's access to the workspace: every path confined to it (the pure rule, and symlinks
// followed on disk), listings without hidden folders or build outputs, whole-file writes.
import assert from 'node:assert/strict';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import {
  checkWorkspacePath,
  listWorkspaceFiles,
  readWorkspaceFile,
  resolveInWorkspace,
  writeWorkspaceFile,
} from '../../src/workspace-files.ts';

const RULE =
  'file must be a path inside the workspace, like farfetch_p3/farfetch_p3.c (no "..", no hidden folders)';

function workspace(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ws-files-'));
  mkdirSync(path.join(dir, 'farfetch_p3'));
  writeFileSync(path.join(dir, 'farfetch_p3', 'farfetch_p3.c'), 'int x;\n');
  writeFileSync(path.join(dir, 'farfetch_p3', 'farfetch_p3.o'), 'obj');
  writeFileSync(path.join(dir, 'farfetch_p3', '.farfetch_p3.o.cmd'), 'cmd');
  writeFileSync(path.join(dir, 'farfetch_p3', 'Makefile'), 'obj-m := farfetch_p3.o\n');
  writeFileSync(path.join(dir, 'farfetch_p3', 'modules.order'), '');
  mkdirSync(path.join(dir, '.git'));
  writeFileSync(path.join(dir, '.git', 'HEAD'), 'ref');
  writeFileSync(path.join(dir, 'README.md'), '# hi\n');
  writeFileSync(path.join(dir, 'has space.txt'), '');
  return dir;
}

test('the path rule: relative segments of plain names; no "..", no absolute path, no hidden folder', () => {
  for (const ok of ['README.md', 'farfetch_p3/farfetch_p3.c', 'targets/bag.c', 'a/b-c/d+e.h']) {
    assert.equal(checkWorkspacePath(ok), ok);
  }
  for (const bad of [
    '',
    '/etc/passwd',
    '../secret',
    'farfetch_p3/../../x',
    '.git/config',
    'farfetch_p3/.farfetch_p3.o.cmd',
    '.farfetchd-lab/progress.json',
    'a//b',
    'a/',
    'a\\b',
    'C:\\x',
    'a\0b',
    'x'.repeat(513),
    42,
    null,
  ]) {
    assert.throws(() => checkWorkspacePath(bad), { message: RULE }, String(bad));
  }
});

test('a listing: sorted, without hidden files, build outputs or names the editor cannot address', async () => {
  assert.deepEqual(await listWorkspaceFiles(workspace()), [
    'README.md',
    'farfetch_p3/Makefile',
    'farfetch_p3/farfetch_p3.c',
  ]);
});

test('read and write stay inside: a symlink out of the workspace is refused, a write replaces the file whole', async () => {
  const dir = workspace();
  const outside = mkdtempSync(path.join(os.tmpdir(), 'outside-'));
  writeFileSync(path.join(outside, 'secret'), 'no\n');
  symlinkSync(outside, path.join(dir, 'out'));
  symlinkSync(path.join(outside, 'secret'), path.join(dir, 'secret.c'));
  const leads = (f: string) => ({
    message: `${f} leads outside the workspace (a symlink): open it from its own folder`,
  });
  await assert.rejects(readWorkspaceFile(dir, 'out/secret'), leads('out/secret'));
  await assert.rejects(readWorkspaceFile(dir, 'secret.c'), leads('secret.c'));
  await assert.rejects(writeWorkspaceFile(dir, 'out/new.c', 'x'), leads('out/new.c'));
  await assert.rejects(writeWorkspaceFile(dir, 'secret.c', 'x'), leads('secret.c'));
  assert.equal(readFileSync(path.join(outside, 'secret'), 'utf8'), 'no\n');
  assert.deepEqual(readdirSync(outside), ['secret']);
  await assert.rejects(readWorkspaceFile(dir, 'farfetch_p3'), {
    message: 'farfetch_p3 is not a file in the workspace',
  });
  await assert.rejects(readWorkspaceFile(dir, '../x'), { message: RULE });

  assert.equal(await readWorkspaceFile(dir, 'farfetch_p3/farfetch_p3.c'), 'int x;\n');
  const mode = statSync(path.join(dir, 'farfetch_p3', 'farfetch_p3.c')).mode;
  await writeWorkspaceFile(dir, 'farfetch_p3/farfetch_p3.c', '\tint y;\n');
  assert.equal(readFileSync(path.join(dir, 'farfetch_p3', 'farfetch_p3.c'), 'utf8'), '\tint y;\n');
  assert.equal(statSync(path.join(dir, 'farfetch_p3', 'farfetch_p3.c')).mode, mode);
  await writeWorkspaceFile(dir, 'notes/new.txt', 'n');
  assert.equal(readFileSync(path.join(dir, 'notes', 'new.txt'), 'utf8'), 'n');
  assert.deepEqual(readdirSync(path.join(dir, 'farfetch_p3')).sort(), [
    '.farfetch_p3.o.cmd',
    'Makefile',
    'farfetch_p3.c',
    'farfetch_p3.o',
    'modules.order',
  ]);
  assert.equal(await resolveInWorkspace(dir, 'README.md'), path.join(dir, 'README.md'));
  await assert.rejects(writeWorkspaceFile(dir, 'big.c', 'x'.repeat(1024 * 1024 + 1)), {
    message: 'the text is larger than 1 MiB',
  });
});
