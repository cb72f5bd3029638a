// What stands between the terminal and the backend, without a browser: the output batcher, the
// input queue (typing and pastes, in order and in pieces) and the resize coalescer.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OutputBatcher } from '../src/composables/batcher.ts';
import { firstPiece, InputQueue } from '../src/composables/inputQueue.ts';
import { LatestOnly } from '../src/composables/latest.ts';

test('the batcher writes once per frame, in order, and nothing when empty', () => {
  const frames: (() => void)[] = [];
  const written: [string, number][] = [];
  const batcher = new OutputBatcher(
    (d, guestChars) => written.push([d, guestChars]),
    (fn) => frames.push(fn),
  );
  batcher.push('a');
  batcher.push('-- note --', 0);
  batcher.push('bc');
  assert.equal(frames.length, 1);
  frames.shift()!();
  batcher.push('d');
  frames.shift()!();
  assert.deepEqual(written, [
    ['a-- note --bc', 3],
    ['d', 1],
  ]);
});

test('input goes in order, whole, in pieces; each piece waits for the one before', async () => {
  const sent: string[] = [];
  let release: () => void = () => undefined;
  const queue = new InputQueue((data) => {
    sent.push(data);
    return new Promise<void>((resolve) => (release = resolve));
  }, 4);
  queue.push('abcdefghij');
  queue.push('k');
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(sent, ['abcd'], 'the next piece waits until this one was taken');
  for (let i = 0; i < 3; i++) {
    release();
    await new Promise((r) => setTimeout(r, 0));
  }
  release();
  await queue.idle();
  assert.deepEqual(sent, ['abcd', 'efgh', 'ij', 'k']);
  assert.equal(firstPiece('ab\ud83d\ude00cd', 3), 'ab', 'a surrogate pair is never split');
  assert.equal(firstPiece('ab', 3), 'ab');
});

test('a paste still being read keeps its place; a refused piece drops only the rest of its input', async () => {
  const sent: string[] = [];
  const errors: string[] = [];
  const queue = new InputQueue(
    async (data) => {
      if (data === 'BAD!') throw new Error('refused');
      sent.push(data);
    },
    4,
    (err) => errors.push((err as Error).message),
  );
  let give: (text: string) => void = () => undefined;
  queue.push('ls');
  queue.push(new Promise<string>((resolve) => (give = resolve)));
  queue.push('x');
  queue.push('y');
  queue.push(Promise.reject(new Error('clipboard denied')));
  queue.push('BAD!tail');
  queue.push('z');
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(sent, ['ls']);
  give('PASTED');
  await queue.idle();
  assert.deepEqual(sent, ['ls', 'PAST', 'ED', 'xy', 'z']);
  assert.deepEqual(errors, ['refused']);
});

test('the latest size only: sent once things settle, one call at a time, never twice the same', async () => {
  const timers: (() => void)[] = [];
  const sent: number[] = [];
  let done: () => void = () => undefined;
  const latest = new LatestOnly<number>(
    (v) => {
      sent.push(v);
      return new Promise<void>((resolve) => (done = resolve));
    },
    (a, b) => a === b,
    100,
    (fn) => {
      timers.push(fn);
      return () => timers.splice(timers.indexOf(fn), 1);
    },
  );
  for (const v of [1, 2, 3]) latest.push(v);
  assert.equal(timers.length, 1, 'each push restarts the one timer');
  timers.shift()!();
  assert.deepEqual(sent, [3]);
  latest.push(4);
  latest.push(5);
  assert.equal(timers.length, 0, 'nothing is timed while a call is in flight');
  done();
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(sent, [3, 5], 'the last value comes right after');
  done();
  await new Promise((r) => setTimeout(r, 0));
  latest.push(5);
  latest.flush();
  assert.deepEqual(sent, [3, 5], 'the same value again is not sent');
  latest.push(6);
  latest.dispose();
  assert.equal(timers.length, 0);
});
