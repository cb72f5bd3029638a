// The cleanup of what a killed lab leaves behind: run folders of dead owners, warm snapshots of
// images that are provably gone (whatever image folder registered them); and nothing else.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import {
  cleanStaleFiles,
  cleanStaleRunFolders,
  cleanStaleWarmSnapshots,
  findStaleWarmSnapshots,
  makeRunFolder,
  registerImageFolder,
  runFolderParent,
  UNREGISTERED_SNAPSHOT_MAX_AGE_MS,
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

async function imageFolder(dir: string, key: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'manifest.json'), JSON.stringify({ key }));
  return dir;
}

async function cacheWith(name: string, files: string[]): Promise<string> {
  const cache = path.join(scratch, name);
  await mkdir(cache, { recursive: true });
  for (const f of files) await writeFile(path.join(cache, f), '');
  return cache;
}

const ls = async (dir: string) => (await readdir(dir)).filter((f) => !f.endsWith('.image')).sort();
const sidecars = async (dir: string) => (await readdir(dir)).filter((f) => f.endsWith('.image')).length;

test("one cache, two image folders: each session keeps the other's snapshots; a removed image's go", async () => {
  const dev = await imageFolder(path.join(scratch, 'two', 'out', 'image-aaaa1111'), 'aaaa1111');
  const app = await imageFolder(path.join(scratch, 'two', 'resources', 'guest', 'image'), 'bbbb2222');
  const cache = await cacheWith('two-cache', [
    'warm-aaaa1111-d7c1b21f-tcg-512-2-ws.qcow2',
    'warm-bbbb2222-d7c1b21f-tcg-512-2-ws.qcow2',
    'warm-bbbb2222-d7c1b21f-kvm-512-2-nows.qcow2',
    'accel-verdicts.json',
  ]);
  const env = { FARFETCHD_LAB_CACHE: cache };
  await cleanStaleFiles(env, app);
  await cleanStaleFiles(env, dev); // knows nothing of the app's folder: must not touch its snapshots
  await cleanStaleFiles(env, app);
  assert.deepEqual(await ls(cache), [
    'accel-verdicts.json',
    'warm-aaaa1111-d7c1b21f-tcg-512-2-ws.qcow2',
    'warm-bbbb2222-d7c1b21f-kvm-512-2-nows.qcow2',
    'warm-bbbb2222-d7c1b21f-tcg-512-2-ws.qcow2',
  ]);
  assert.equal(await sidecars(cache), 2);

  // The app is updated: its folder now holds another image. bbbb2222 is provably gone.
  await imageFolder(app, 'cccc3333');
  await writeFile(path.join(cache, 'warm-bbbb2222-d7c1b21f-tcg-512-2-ws.qcow2.4000001-17.tmp'), '');
  const removed = await cleanStaleWarmSnapshots(cache, { isAlive: () => true });
  assert.deepEqual(
    removed.map((f) => path.basename(f).replace(/\.[0-9a-f]{16}\.image$/, '.<folder>.image')).sort(),
    [
      'warm-bbbb2222-d7c1b21f-kvm-512-2-nows.qcow2',
      'warm-bbbb2222-d7c1b21f-tcg-512-2-ws.qcow2',
      'warm-bbbb2222-d7c1b21f-tcg-512-2-ws.qcow2.4000001-17.tmp',
      'warm-bbbb2222.<folder>.image',
    ],
  );
  assert.deepEqual(await ls(cache), ['accel-verdicts.json', 'warm-aaaa1111-d7c1b21f-tcg-512-2-ws.qcow2']);
  assert.equal(await sidecars(cache), 1);
});

test('a link such as out/image keeps the snapshots of the folder it pointed at while that folder exists', async () => {
  const out = path.join(scratch, 'link', 'out');
  await imageFolder(path.join(out, 'image-dddd4444'), 'dddd4444');
  await imageFolder(path.join(out, 'image-eeee5555'), 'eeee5555');
  await symlink('image-dddd4444', path.join(out, 'image'));
  const cache = await cacheWith('link-cache', ['warm-dddd4444-d7c1b21f-tcg-512-2-ws.qcow2']);
  await registerImageFolder(cache, path.join(out, 'image'));
  // A rebuild points the link at the new image; the old one is still on disk: kept.
  await rm(path.join(out, 'image'));
  await symlink('image-eeee5555', path.join(out, 'image'));
  assert.deepEqual(await cleanStaleWarmSnapshots(cache), []);
  // The build removes the old image: now it is gone.
  await rm(path.join(out, 'image-dddd4444'), { recursive: true });
  const removed = await cleanStaleWarmSnapshots(cache);
  assert.ok(removed.map((f) => path.basename(f)).includes('warm-dddd4444-d7c1b21f-tcg-512-2-ws.qcow2'));
  assert.deepEqual(await readdir(cache), []);
});

test('unregistered snapshots go only when old; half-written copies only when their writer is dead', async () => {
  const cache = await cacheWith('age-cache', [
    'warm-ffff6666-d7c1b21f-tcg-512-2-ws.qcow2',
    'warm-abab7777-d7c1b21f-tcg-512-2-ws.qcow2',
    'warm-ffff6666-d7c1b21f-tcg-512-2-ws.qcow2.4000001-17.tmp',
    'warm-ffff6666-d7c1b21f-tcg-512-2-ws.qcow2.4000002-18.tmp',
    `warm-ffff6666-d7c1b21f-tcg-512-2-ws.qcow2.${process.pid}-19.tmp`,
  ]);
  const old = new Date(Date.now() - UNREGISTERED_SNAPSHOT_MAX_AGE_MS - 3600_000);
  await utimes(path.join(cache, 'warm-abab7777-d7c1b21f-tcg-512-2-ws.qcow2'), old, old);
  const alive = new Set([4000002]);
  const removed = await cleanStaleWarmSnapshots(cache, { isAlive: (pid) => alive.has(pid) });
  assert.deepEqual(removed.map((f) => path.basename(f)).sort(), [
    'warm-abab7777-d7c1b21f-tcg-512-2-ws.qcow2',
    'warm-ffff6666-d7c1b21f-tcg-512-2-ws.qcow2.4000001-17.tmp',
  ]);
  assert.deepEqual(await cleanStaleWarmSnapshots(path.join(scratch, 'no-cache')), []);
});

test('findStaleWarmSnapshots names what would go, and why, removing nothing; liveKeys keeps an image', async () => {
  const app = await imageFolder(path.join(scratch, 'find', 'app', 'image'), '12121212');
  const cache = await cacheWith('find-cache', [
    'warm-12121212-d7c1b21f-tcg-512-2-ws.qcow2',
    'warm-34343434-d7c1b21f-tcg-512-2-ws.qcow2',
    'warm-34343434-d7c1b21f-tcg-512-2-ws.qcow2.4000001-17.tmp',
  ]);
  await registerImageFolder(cache, app);
  await imageFolder(app, '34343434'); // the app updated in place: 12121212 is gone
  const found = await findStaleWarmSnapshots(cache, { isAlive: () => false });
  assert.deepEqual(
    found.map((f) => [f.name.replace(/\.[0-9a-f]{16}\.image$/, '.<folder>.image'), f.reason]).sort(),
    [
      ['warm-12121212-d7c1b21f-tcg-512-2-ws.qcow2', 'image gone'],
      ['warm-12121212.<folder>.image', 'image gone'],
      ['warm-34343434-d7c1b21f-tcg-512-2-ws.qcow2.4000001-17.tmp', 'unfinished copy'],
    ],
  );
  assert.equal((await readdir(cache)).length, 4);
  // doctor's own image is live whatever its sidecars say.
  const kept = await findStaleWarmSnapshots(cache, { isAlive: () => false, liveKeys: ['12121212'] });
  assert.deepEqual(
    kept.map((f) => f.reason),
    ['unfinished copy'],
  );
});

test('a run folder goes beside the disk it takes over by renaming (never across file systems)', () => {
  const saved = '/home/s/.cache/farfetchd-lab/sessions/ab12.qcow2';
  assert.equal(
    runFolderParent({ kind: 'resume', file: saved, loadvm: 'lab-suspend' }),
    '/home/s/.cache/farfetchd-lab/sessions',
  );
  // After a guest reboot the next machine adopts the previous one's overlay from its run folder.
  const resumed = '/home/s/.cache/farfetchd-lab/sessions/farfetchd-lab-run-x/overlay.qcow2';
  assert.equal(runFolderParent({ kind: 'adopt', file: resumed }), '/home/s/.cache/farfetchd-lab/sessions');
  assert.equal(runFolderParent({ kind: 'adopt', file: '/tmp/farfetchd-lab-run-y/overlay.qcow2' }), '/tmp');
  assert.equal(runFolderParent({ kind: 'fresh' }), undefined);
  assert.equal(runFolderParent({ kind: 'snapshot', file: '/c/warm.qcow2', loadvm: 'lab-ready' }), undefined);
});
