// The store of saved sessions: one per workspace, its disk and description, what a damaged or
// half-written one is, what may resume where, and what the cleanup removes.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import {
  cleanStaleSavedSessions,
  resumeMismatch,
  SavedSessionSlot,
  savedSessionId,
  savedSessionsDir,
  STALE_PARTIAL_MS,
  type SavedSession,
} from '../../src/saved-sessions.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'saved-sessions-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const fresh = () => path.join(tmp, `store-${++n}`);

function overlay(text: string): string {
  const file = path.join(tmp, `overlay-${++n}.qcow2`);
  writeFileSync(file, text);
  return file;
}

test('the store is <cache>/sessions, a workspace its hashed absolute path', () => {
  assert.equal(savedSessionsDir({ FARFETCHD_LAB_CACHE: '/c' }), '/c/sessions');
  assert.match(savedSessionId('/home/s/ws'), /^[0-9a-f]{16}$/);
  assert.equal(savedSessionId('/home/s/ws'), savedSessionId('/home/s/ws/../ws'));
  assert.notEqual(savedSessionId('/home/s/ws'), savedSessionId('/home/s/other'));
  assert.notEqual(savedSessionId(undefined), savedSessionId('/home/s/ws'));
});

test('save moves the disk in and describes it; consumed and discard remove it', async () => {
  const dir = fresh();
  const slot = new SavedSessionSlot(dir, '/home/s/ws');
  assert.equal(slot.read(), null);
  const disk = overlay('machine one');
  await slot.save(disk, { imageKey: 'abc', shape: 's1', module: 'p3' });
  assert.equal(existsSync(disk), false, 'moved, not copied');
  const saved = slot.read()!;
  assert.deepEqual({ ...saved, savedAt: 'T' }, {
    format: 1,
    imageKey: 'abc',
    shape: 's1',
    module: 'p3',
    workspace: '/home/s/ws',
    savedAt: 'T',
  } satisfies SavedSession);
  assert.ok(Math.abs(Date.parse(saved.savedAt) - Date.now()) < 60_000);
  assert.deepEqual(slot.info(), { savedAt: saved.savedAt, module: 'p3' });
  assert.deepEqual(readdirSync(dir).sort(), [path.basename(slot.disk), path.basename(slot.meta)].sort());

  // A second suspend replaces the first.
  await slot.save(overlay('machine two'), { imageKey: 'abc', shape: 's1', module: 'none' });
  assert.equal(slot.read()!.module, 'none');
  assert.equal(readdirSync(dir).length, 2);

  await slot.consumed();
  assert.equal(slot.read(), null, 'a consumed session is no longer offered');
  await slot.save(overlay('machine three'), { imageKey: 'abc', shape: 's1', module: 'p1' });
  await slot.discard();
  assert.deepEqual(readdirSync(dir), []);
});

test('a damaged description or a missing disk is no saved session', async () => {
  const dir = fresh();
  const slot = new SavedSessionSlot(dir, undefined);
  await slot.save(overlay('m'), { imageKey: 'abc', shape: 's1', module: 'p1' });
  assert.equal(slot.read()!.workspace, null);
  writeFileSync(slot.meta, '{"format":1,"imageKey":"abc"');
  assert.equal(slot.read(), null);
  writeFileSync(slot.meta, JSON.stringify({ ...{ format: 1, imageKey: 'a', shape: 's' }, module: 'p9' }));
  assert.equal(slot.read(), null);
  await slot.save(overlay('m'), { imageKey: 'abc', shape: 's1', module: 'p1' });
  rmSync(slot.disk);
  assert.equal(slot.read(), null);
});

test('a saved session resumes only on its image and machine shape', () => {
  const saved: SavedSession = {
    format: 1,
    imageKey: 'fd66cdb48f391cd7',
    shape: 'd9c11cb9-tcg-512-2-ws',
    workspace: '/w',
    module: 'none',
    savedAt: '2026-12-01T12:00:00.000Z',
  };
  assert.equal(resumeMismatch(saved, 'fd66cdb48f391cd7', 'd9c11cb9-tcg-512-2-ws'), null);
  assert.equal(
    resumeMismatch(saved, '3c4085e9fe9c212b', 'd9c11cb9-tcg-512-2-ws'),
    'the saved session was made on another guest image (fd66cdb48f39, this lab has 3c4085e9fe9c)',
  );
  assert.equal(
    resumeMismatch(saved, 'fd66cdb48f391cd7', 'd9c11cb9-kvm-512-2-ws'),
    'the saved session was made on another machine shape (d9c11cb9-tcg-512-2-ws, this lab starts d9c11cb9-kvm-512-2-ws)',
  );
});

test('the cleanup removes old partial files and dead run folders, nothing else', async () => {
  const dir = fresh();
  const whole = new SavedSessionSlot(dir, '/w/whole');
  await whole.save(overlay('m'), { imageKey: 'abc', shape: 's1', module: 'p1' });
  mkdirSync(dir, { recursive: true });
  const old = (Date.now() - STALE_PARTIAL_MS - 60_000) / 1000;
  const put = (name: string, age: 'old' | 'new') => {
    writeFileSync(path.join(dir, name), 'x');
    if (age === 'old') utimesSync(path.join(dir, name), old, old);
  };
  put('0123456789abcdef.qcow2', 'old'); // a suspend cut short long ago
  put('1123456789abcdef.qcow2', 'new'); // a suspend writing its description right now
  put('2123456789abcdef.json', 'old'); // a machine being resumed right now
  put(`${path.basename(whole.disk)}.99-1.tmp`, 'old');
  put(`${path.basename(whole.disk)}.98-2.tmp`, 'new');
  utimesSync(whole.disk, old, old); // old but described: kept
  const deadRun = path.join(dir, 'farfetchd-lab-dead');
  mkdirSync(deadRun);
  writeFileSync(path.join(deadRun, 'pid'), '999999999\n');
  const removed = await cleanStaleSavedSessions(dir);
  assert.deepEqual(
    removed.map((f) => path.basename(f)).sort(),
    ['0123456789abcdef.qcow2', `${path.basename(whole.disk)}.99-1.tmp`, 'farfetchd-lab-dead'].sort(),
  );
  assert.notEqual(whole.read(), null);
  assert.deepEqual(await cleanStaleSavedSessions(path.join(tmp, 'nowhere')), []);
});
