// When the backend looks at the guest after a command typed in the terminal, on a hand-driven
// clock: after an Enter and a quiet console; again when the prompt of a slow command comes back;
// at the latest a while after output began; never without an Enter, nor after the command's window.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AfterCommand, type AfterCommandTimers } from '../../src/after-command.ts';

/** A clock that moves only when told to. */
function clock() {
  let now = 0;
  let next = 1;
  const timers = new Map<number, { at: number; fn: () => void }>();
  const t: AfterCommandTimers = {
    quietMs: 400,
    latestMs: 3000,
    windowMs: 30_000,
    setTimeout: (fn, ms) => {
      timers.set(next, { at: now + ms, fn });
      return next++;
    },
    clearTimeout: (handle) => void timers.delete(handle as number),
  };
  const advance = (ms: number) => {
    const end = now + ms;
    for (;;) {
      const due = [...timers.entries()].filter(([, x]) => x.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      timers.delete(due[0]);
      now = due[1].at;
      due[1].fn();
    }
    now = end;
  };
  return { t, advance, pending: () => timers.size };
}

test('an Enter, then a quiet console: one look; output before that pushes it back', () => {
  const c = clock();
  let looks = 0;
  const after = new AfterCommand(() => looks++, c.t);
  after.input('insmod farfetch_p3.ko');
  after.output();
  c.advance(60_000);
  assert.equal(looks, 0, 'no Enter: no command, and output alone is none');
  after.input('\r');
  assert.equal(after.pending, true);
  c.advance(399);
  after.output(); // the shell echoes, insmod runs, the prompt comes back
  c.advance(399);
  assert.equal(looks, 0);
  c.advance(1);
  assert.equal(looks, 1);
  assert.equal(after.pending, false);
  c.advance(60_000);
  assert.equal(looks, 1, 'nothing more printed: no more looks');
  assert.equal(c.pending(), 0, 'every timer gone');
});

test('a slow command: a look after its echo, another after its prompt comes back; none after the window', () => {
  const c = clock();
  let looks = 0;
  const after = new AfterCommand(() => looks++, c.t);
  after.input('\r');
  after.output(); // the echo
  c.advance(400);
  assert.equal(looks, 1, 'the echo, then quiet while insmod runs');
  c.advance(5000);
  after.output(); // the prompt, 5 s later
  c.advance(400);
  assert.equal(looks, 2, 'the prompt is back: look again');
  c.advance(30_000);
  after.output(); // the window is over: this is not the command's
  c.advance(10_000);
  assert.equal(looks, 2);
});

test('a command that keeps printing is looked after at the latest 3 s after its output began', () => {
  const c = clock();
  let looks = 0;
  const after = new AfterCommand(() => looks++, c.t);
  after.input('dmesg -w\n');
  for (let ms = 0; ms < 2900; ms += 100) {
    c.advance(100);
    after.output();
  }
  assert.equal(looks, 0);
  c.advance(100);
  assert.equal(looks, 1);
  // Two Enters before a look: one look.
  after.input('\r');
  after.input('\r');
  c.advance(400);
  assert.equal(looks, 2);
});

test('dispose cancels a look that was due', () => {
  const c = clock();
  let looks = 0;
  const after = new AfterCommand(() => looks++, c.t);
  after.input('\r');
  after.dispose();
  c.advance(60_000);
  assert.equal(looks, 0);
  assert.equal(c.pending(), 0);
});
