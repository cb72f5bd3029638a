// Spare overlays (run-folders.ts): the next warm start's copy of the warm file, made ahead and
// taken with a rename; never a copy of an older version of the warm file, never half a copy;
// gone with its warm file. And the session asks for one only once a warm start is ready.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import {
  chmod,
  chown,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  utimes,
  writeFile,
} from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { makeOverlay } from '../../src/overlay.ts';
import type { QemuProcessSpec } from '../../src/lab-process.ts';
import { cleanStaleSpares, makeSpare, removeSpares, SPARE_PREFIX, takeSpare } from '../../src/run-folders.ts';
import { makeSession } from './fake-process.ts';

const scratch = await mkdtemp(path.join(os.tmpdir(), 'lab-unit-spare-'));
after(() => rm(scratch, { recursive: true, force: true }));

let n = 0;
async function setup() {
  const root = path.join(scratch, `case-${++n}`);
  const tmp = path.join(root, 'tmp');
  await mkdir(tmp, { recursive: true });
  const warm = path.join(root, 'warm-abc-tcg.qcow2');
  await writeFile(warm, 'warm state, version 1\n');
  return { root, tmp, warm };
}

/** The spares and half-made copies in `tmp`, without the markers that name their warm files. */
const spares = async (tmp: string) =>
  (await readdir(tmp)).filter((f) => f.startsWith(SPARE_PREFIX) && !f.endsWith('-warm')).sort();

test('a spare is taken once, with the warm file’s bytes; then there is none until the next is made', async () => {
  const { root, tmp, warm } = await setup();
  assert.equal(await takeSpare(warm, path.join(root, 'o0'), tmp), false);
  await makeSpare(warm, tmp);
  await makeSpare(warm, tmp); // one is there: nothing more
  assert.equal((await spares(tmp)).length, 1);
  assert.equal(await takeSpare(warm, path.join(root, 'o1'), tmp), true);
  assert.equal(await readFile(path.join(root, 'o1'), 'utf8'), 'warm state, version 1\n');
  assert.deepEqual(await spares(tmp), []);
  assert.equal(await takeSpare(warm, path.join(root, 'o2'), tmp), false);
  assert.equal(existsSync(path.join(root, 'o2')), false);
});

test('a warm file made again: its old spare is never taken, and goes when the next is made', async () => {
  const { root, tmp, warm } = await setup();
  await makeSpare(warm, tmp);
  const [old] = await spares(tmp);
  await rm(warm);
  await writeFile(warm, 'warm state, version 2 (longer)\n');
  await utimes(warm, new Date(), new Date(Date.now() + 5000));
  assert.equal(await takeSpare(warm, path.join(root, 'o'), tmp), false);
  await makeSpare(warm, tmp);
  const now = await spares(tmp);
  assert.equal(now.length, 1);
  assert.notEqual(now[0], old);
  assert.equal(await takeSpare(warm, path.join(root, 'o'), tmp), true);
  assert.equal(await readFile(path.join(root, 'o'), 'utf8'), 'warm state, version 2 (longer)\n');
});

test("half-made copies: a dead writer's goes, a live one's stays; another warm file's spare stays", async () => {
  const { tmp, warm, root } = await setup();
  await makeSpare(warm, tmp);
  const [mine] = await spares(tmp);
  await rm(path.join(tmp, mine!)); // taken by a start
  const dead = `${mine}.2147483646-0badc0de.tmp`; // above any pid_max: no such process
  const alive = `${mine}.${process.pid}-0badc0de.tmp`;
  await writeFile(path.join(tmp, dead), 'half');
  await writeFile(path.join(tmp, alive), 'half');
  const other = path.join(root, 'warm-def-kvm.qcow2');
  await writeFile(other, 'another shape\n');
  await makeSpare(other, tmp);
  const [theirs] = (await spares(tmp)).filter((f) => !f.startsWith(mine!.slice(0, SPARE_PREFIX.length + 17)));
  await makeSpare(warm, tmp);
  assert.deepEqual(await spares(tmp), [mine!, alive, theirs!].sort());
  await removeSpares(warm, tmp);
  assert.deepEqual(await spares(tmp), [theirs!]);
});

test('spares of a warm file that is gone (its marker names it) go at the next cleanup; others stay', async () => {
  const { root, tmp, warm } = await setup();
  const gone = path.join(root, 'warm-gone-tcg.qcow2');
  await writeFile(gone, 'a test cache that was removed\n');
  await makeSpare(warm, tmp);
  await makeSpare(gone, tmp);
  const markers = (await readdir(tmp)).filter((f) => f.endsWith('-warm'));
  assert.equal(markers.length, 2);
  const markerOfGone = markers.find((m) => readFileSync(path.join(tmp, m), 'utf8') === `${gone}\n`)!;
  const [kept] = (await spares(tmp)).filter((f) => !f.startsWith(markerOfGone.slice(0, -'warm'.length)));
  assert.deepEqual(await cleanStaleSpares(tmp), []); // both warm files are there
  await rm(gone);
  const removed = await cleanStaleSpares(tmp);
  assert.equal(removed.length, 2); // the spare and its marker
  assert.ok(removed.includes(markerOfGone));
  assert.deepEqual(await spares(tmp), [kept!]);
  assert.equal(await takeSpare(warm, path.join(root, 'o'), tmp), true);
});

test('makeOverlay takes the spare of a warm start’s file, else copies it', async (t) => {
  const { root, warm } = await setup();
  t.after(() => removeSpares(warm));
  const spec = { disk: { kind: 'snapshot', file: warm, loadvm: 'lab-ready' } } as unknown as QemuProcessSpec;
  await makeSpare(warm); // the temp folder, as a session's
  const first = path.join(root, 'first.qcow2');
  await makeOverlay(spec, first);
  assert.equal(await readFile(first, 'utf8'), 'warm state, version 1\n');
  assert.equal(await takeSpare(warm, path.join(root, 'none')), false, 'the spare was taken');
  const second = path.join(root, 'second.qcow2');
  await makeOverlay(spec, second); // no spare: a copy
  assert.equal(await readFile(second, 'utf8'), 'warm state, version 1\n');
  assert.equal(await readFile(warm, 'utf8'), 'warm state, version 1\n');
});

test('a spare folder others may write to, or that is not this user’s, is never used', async () => {
  const { root, warm } = await setup();
  const open = path.join(root, 'open');
  await mkdir(open, { mode: 0o777 });
  await chmod(open, 0o777);
  await writeFile(path.join(open, 'planted'), '');
  await makeSpare(warm, open);
  assert.deepEqual(await readdir(open), ['planted']);
  assert.equal(await takeSpare(warm, path.join(root, 'o'), open), false);
  if (process.getuid?.() === 0) {
    const theirs = path.join(root, 'theirs');
    await mkdir(theirs, { mode: 0o700 });
    await chown(theirs, 65534, 65534);
    await makeSpare(warm, theirs);
    assert.deepEqual(await readdir(theirs), []);
  }
  // Made private when it is missing.
  const fresh = path.join(root, 'fresh');
  await makeSpare(warm, fresh);
  assert.equal((await stat(fresh)).mode & 0o777, 0o700);
  assert.equal((await spares(fresh)).length, 1);
});

test('the session asks for the next start’s disk once a warm start is ready, never after a cold boot', async () => {
  const cache = path.join(scratch, 'cache');
  const env = { ...process.env, FARFETCHD_LAB_CACHE: cache, FARFETCHD_LAB_DEBUG: '' };
  const warm = makeSession([{ overlayDir: scratch }, { overlayDir: scratch }], { warmBoot: true, env });
  await warm.session.start();
  // Process 0 made the snapshot (a cold boot), process 1 started from it.
  assert.deepEqual(
    warm.made.map((p) => p.nextStartPrepared),
    [0, 1],
  );
  await warm.session.stop();
  const cold = makeSession([{ overlayDir: scratch }], { warmBoot: false, env });
  await cold.session.start();
  assert.equal(cold.made[0]!.nextStartPrepared, 0);
  await cold.session.stop();
});
