// When the backend looks at the guest after a command typed in the terminal, on a hand-driven
// clock: after an Enter and a quiet console, or at the latest a while after the Enter; never
// without an Enter, and once per command.
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
  c.advance(10_000);
  assert.equal(looks, 0, 'no Enter, no command');
  after.output();
  c.advance(10_000);
  assert.equal(looks, 0, 'output alone is not a command');
  after.input('\r');
  assert.equal(after.pending, true);
  c.advance(399);
  after.output(); // the shell echoes, insmod runs, the prompt comes back
  c.advance(399);
  assert.equal(looks, 0);
  c.advance(1);
  assert.equal(looks, 1);
  assert.equal(after.pending, false);
  assert.equal(c.pending(), 0, 'both timers gone');
  c.advance(10_000);
  assert.equal(looks, 1, 'once per command');
});

test('a command that keeps printing is looked after at the latest 3 s after its Enter', () => {
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
  // Two Enters before the look: one look.
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
  c.advance(10_000);
  assert.equal(looks, 0);
  assert.equal(c.pending(), 0);
});
