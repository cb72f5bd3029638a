// The cleanup of what a killed lab leaves behind: run folders of dead owners, warm snapshots of
// images that are gone; and nothing else.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import {
  cleanStaleRunFolders,
  cleanStaleWarmSnapshots,
  existingImageKeys,
  makeRunFolder,
} from '../../src/run-folders.ts';

const scratch = await mkdtemp(path.join(os.tmpdir(), 'lab-unit-folders-'));
after(() => rm(scratch, { recursive: true, force: true }));

test('run folders whose pid file names a dead process go; live, ours, unowned and unrelated stay', async () => {
  const tmp = path.join(scratch, 'tmp');
  await mkdir(tmp);
  const folder = async (name: string, pid?: string) => {
    await mkdir(path.join(tmp, name));
    await writeFile(path.join(tmp, name, 'overlay.qcow2'), '');
    if (pid !== undefined) await writeFile(path.join(tmp, name, 'pid'), pid);
  };
  await folder('farfetchd-lab-dead', '4000001\n');
  await folder('farfetchd-lab-alive', '4000002\n');
  await folder('farfetchd-lab-ours', `${process.pid}\n`);
  await folder('farfetchd-lab-unowned'); // an older lab, or one writing its pid file right now
  await folder('farfetchd-lab-empty-pid', '');
  await folder('other-dead', '4000001\n');
  const alive = new Set([4000002]);
  const removed = await cleanStaleRunFolders(tmp, (pid) => alive.has(pid));
  assert.deepEqual(removed, [path.join(tmp, 'farfetchd-lab-dead')]);
  assert.deepEqual((await readdir(tmp)).sort(), [
    'farfetchd-lab-alive',
    'farfetchd-lab-empty-pid',
    'farfetchd-lab-ours',
    'farfetchd-lab-unowned',
    'other-dead',
  ]);
});

test('makeRunFolder: a private farfetchd-lab-* folder naming this process', async () => {
  const dir = await makeRunFolder(scratch);
  assert.match(path.basename(dir), /^farfetchd-lab-\w{6}$/);
  assert.equal(readFileSync(path.join(dir, 'pid'), 'utf8'), `${process.pid}\n`);
  assert.deepEqual(await cleanStaleRunFolders(scratch), []); // ours: kept
  assert.ok(existsSync(dir));
});

test('warm snapshots of images that no longer exist go, with their half-written copies', async () => {
  const out = path.join(scratch, 'out');
  for (const key of ['aaaa1111', 'bbbb2222']) {
    await mkdir(path.join(out, `image-${key}`), { recursive: true });
    await writeFile(path.join(out, `image-${key}`, 'manifest.json'), JSON.stringify({ key }));
  }
  const keys = await existingImageKeys(path.join(out, 'image-aaaa1111'));
  assert.deepEqual([...keys].sort(), ['aaaa1111', 'bbbb2222']);

  const cache = path.join(scratch, 'cache');
  await mkdir(cache);
  const files = [
    'warm-aaaa1111-d7c1b21f-tcg-512-2-ws.qcow2',
    'warm-bbbb2222-d7c1b21f-kvm-512-2-nows.qcow2',
    'warm-cccc3333-d7c1b21f-tcg-512-2-ws.qcow2',
    'warm-cccc3333-d7c1b21f-tcg-512-2-ws.qcow2.123-456.tmp',
    'accel-verdicts.json',
  ];
  for (const f of files) await writeFile(path.join(cache, f), '');
  const removed = await cleanStaleWarmSnapshots(cache, keys);
  assert.deepEqual(removed.map((f) => path.basename(f)).sort(), [
    'warm-cccc3333-d7c1b21f-tcg-512-2-ws.qcow2',
    'warm-cccc3333-d7c1b21f-tcg-512-2-ws.qcow2.123-456.tmp',
  ]);
  assert.deepEqual((await readdir(cache)).sort(), [
    'accel-verdicts.json',
    'warm-aaaa1111-d7c1b21f-tcg-512-2-ws.qcow2',
    'warm-bbbb2222-d7c1b21f-kvm-512-2-nows.qcow2',
  ]);
  assert.deepEqual(await cleanStaleWarmSnapshots(path.join(scratch, 'no-cache'), keys), []);
});
