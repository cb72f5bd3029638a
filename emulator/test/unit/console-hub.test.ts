// The console hub as the state machine it is: a fake producer (the pty's pause switch), clients as
// recording sinks, and a manual clock for the batches. Small watermarks keep the numbers readable.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConsoleHub, ScrollbackRing, type Scheduler } from '../../src/console-hub.ts';

function harness(opts: { ring?: number; high?: number; low?: number } = {}) {
  const pauses: boolean[] = [];
  let timer: (() => void) | null = null;
  const schedule: Scheduler = (fn) => {
    assert.equal(timer, null, 'one batch timer at a time');
    timer = fn;
    return () => (timer = null);
  };
  const hub = new ConsoleHub({
    setPaused: (p) => pauses.push(p),
    ringChars: opts.ring ?? 1000,
    highWatermark: opts.high ?? 100,
    lowWatermark: opts.low ?? 10,
    schedule,
  });
  /** Runs the pending batch, if any (what 16 ms of wall time would do). */
  const tick = () => {
    const fn = timer;
    timer = null;
    fn?.();
  };
  const client = () => {
    const got: { data: string; skipped: number }[] = [];
    const handle = hub.attach((data, skipped) => got.push({ data, skipped }));
    return {
      ...handle,
      got,
      text: () => got.map((g) => g.data).join(''),
      /** Acknowledges everything received so far that was not acknowledged yet. */
      ackAll: (() => {
        let acked = 0;
        return () => {
          const total = got.reduce((n, g) => n + g.data.length, 0);
          handle.ack(total - acked);
          acked = total;
        };
      })(),
    };
  };
  return { hub, pauses, tick, client, pending: () => timer !== null };
}

const line = (i: number) => `line ${String(i).padStart(3, '0')}\n`; // 9 characters

test('the ring keeps the last N characters by absolute position, and finds line starts', () => {
  const ring = new ScrollbackRing(20);
  ring.append('abc\n');
  ring.append('');
  assert.deepEqual([ring.start, ring.end], [0, 4]);
  assert.equal(ring.lineStart(0), 0, 'nothing lost: from the very start');
  for (let i = 0; i < 3; i++) ring.append(line(i));
  assert.deepEqual([ring.start, ring.end], [11, 31]);
  assert.equal(ring.read(0, 100), '0\nline 001\nline 002\n');
  assert.equal(ring.read(13, 5), 'line ');
  assert.equal(ring.read(31, 10), '');
  assert.equal(ring.lineStart(11), 13, 'a cut line is skipped');
  assert.equal(ring.lineStart(14), 22);
  const long = new ScrollbackRing(8);
  long.append('x'.repeat(30));
  assert.equal(long.lineStart(long.start), 22, 'no newline at all: from where it is');
  assert.equal(long.read(0, 100), 'x'.repeat(8));
});

test('output is batched: one send per batch, in order, nothing doubled', () => {
  const { hub, tick, client, pending } = harness();
  const a = client();
  assert.equal(pending(), false, 'nothing to replay');
  hub.write('root@guest:~# ');
  hub.write('uname -r\r\n');
  hub.write('');
  assert.deepEqual(a.got, []);
  tick();
  assert.deepEqual(a.got, [{ data: 'root@guest:~# uname -r\r\n', skipped: 0 }]);
  tick();
  assert.equal(a.got.length, 1, 'no empty sends');
  hub.write('6.12.117\r\n');
  tick();
  assert.equal(a.text(), 'root@guest:~# uname -r\r\n6.12.117\r\n');
});

test('one client: paused past the high watermark, resumed below the low one', () => {
  const { hub, pauses, tick, client } = harness();
  const a = client();
  hub.write('x'.repeat(101));
  tick();
  assert.equal(a.text().length, 100, 'at most one watermark per send');
  tick();
  assert.equal(a.text().length, 101);
  assert.equal(hub.paused, true);
  assert.deepEqual(pauses, [true]);
  hub.write('y'.repeat(50)); // what the pty had read before the pause took effect
  tick();
  assert.equal(a.text().length, 101, 'a blocked client is sent nothing');
  a.ack(90);
  assert.equal(hub.paused, true, '11 unacknowledged is not below 10');
  a.ack(2);
  assert.equal(hub.paused, false);
  assert.deepEqual(pauses, [true, false]);
  tick();
  assert.equal(a.text(), 'x'.repeat(101) + 'y'.repeat(50));
  a.ack(10_000);
  assert.equal(hub.paused, false, 'an acknowledgement beyond what was sent is clamped');
  hub.write('z'.repeat(101));
  tick();
  tick();
  assert.equal(hub.paused, true, 'the extra acknowledgement did not pay for later output');
});

test('two clients, one slow: the fast one gets live output, the pty runs', () => {
  const { hub, pauses, tick, client } = harness();
  const fast = client();
  const slow = client();
  for (let i = 0; i < 30; i++) {
    hub.write(line(i));
    tick();
    fast.ackAll();
  }
  assert.equal(fast.text(), Array.from({ length: 30 }, (_, i) => line(i)).join(''));
  assert.ok(slow.text().length > 100 && slow.text().length < 200, 'the slow one stopped at its watermark');
  assert.deepEqual(pauses, [], 'never paused: the fast client kept up');
  // The fast one goes away: now everyone attached is blocked.
  fast.detach();
  fast.detach();
  assert.deepEqual(pauses, [true]);
  slow.ackAll();
  assert.deepEqual(pauses, [true, false]);
  tick();
  tick();
  tick();
  slow.ackAll();
  assert.equal(slow.text(), fast.text(), 'the slow one got everything, once, in order');
});

test('a client further behind than the ring is resynced from a line start, told what it missed', () => {
  const { hub, pauses, tick, client } = harness({ ring: 100, high: 40, low: 10 });
  const fast = client();
  const stalled = client();
  for (let i = 0; i < 40; i++) {
    hub.write(line(i));
    tick();
    fast.ackAll();
  }
  assert.deepEqual(pauses, []);
  const before = stalled.text();
  assert.equal(before, line(0) + line(1) + line(2) + line(3) + line(4), '45 characters: blocked');
  stalled.ackAll(); // the page renders again
  tick();
  tick();
  stalled.ackAll();
  tick();
  // The ring holds the last 100 characters (positions 260–359); the first whole line there is 261.
  assert.deepEqual(
    stalled.got.map((g) => g.skipped),
    [0, 0, 0, 0, 0, 261 - 45, 0, 0],
  );
  assert.equal(stalled.text(), before + Array.from({ length: 11 }, (_, i) => line(29 + i)).join(''));
  hub.write(line(40));
  tick();
  assert.equal(stalled.text().endsWith(line(39) + line(40)), true, 'then live output again');
  assert.equal(stalled.got.at(-1)!.skipped, 0);
});

test('a new (or reloaded) client gets the history from a line start, then live output, once', () => {
  const { hub, tick, client } = harness({ ring: 54, high: 1000 });
  const first = client();
  for (let i = 0; i < 10; i++) hub.write(line(i));
  tick();
  first.detach(); // the page reloads
  const reloaded = client();
  hub.write(line(10)); // arrives before the replay went out
  tick();
  // The ring starts at 36, inside what it knows of line 4 (its start may have been lost): from line 5.
  assert.deepEqual(reloaded.got, [{ data: [5, 6, 7, 8, 9, 10].map(line).join(''), skipped: 0 }]);
  hub.write(line(11));
  tick();
  assert.equal(reloaded.text(), [5, 6, 7, 8, 9, 10, 11].map(line).join(''));
  const fresh = harness();
  fresh.hub.write('no newline yet');
  const early = fresh.client();
  fresh.tick();
  assert.equal(early.text(), 'no newline yet', 'nothing lost yet: everything from the start');
});

test('a new client resumes a pty paused for a page that went away without acknowledging', () => {
  const { hub, pauses, tick, client } = harness();
  const gone = client();
  hub.write('x'.repeat(150));
  tick();
  tick();
  assert.deepEqual(pauses, [true]);
  const next = client();
  assert.deepEqual(pauses, [true, false], 'the new page is not behind');
  gone.detach();
  tick();
  assert.equal(next.text().length, 100, 'its replay, one watermark at a time');
  tick();
  assert.deepEqual(pauses, [true, false, true]);
  next.ackAll();
  tick();
  assert.equal(next.text(), 'x'.repeat(150));
  next.detach();
  assert.equal(hub.paused, false, 'nobody attached: no flow control');
  assert.deepEqual(pauses, [true, false, true, false]);
});

test('a stop/start never keeps the pause: a new boot starts unpaused with fresh counters', () => {
  const { hub, pauses, tick, client } = harness();
  const a = client();
  const b = client();
  hub.write('x'.repeat(150));
  tick();
  tick();
  assert.equal(hub.paused, true);
  hub.newBoot();
  assert.equal(hub.paused, false);
  assert.deepEqual(pauses, [true, false]);
  hub.write('booting\r\n');
  tick();
  assert.equal(a.text(), 'x'.repeat(150) + 'booting\r\n', 'nothing owed from before; what was not sent, is');
  assert.equal(b.text(), a.text());
  assert.equal(hub.paused, false, 'fresh counters: 59 + 9 characters owed is under the watermark');
  // Acknowledgements of the old boot's output cannot push a counter below zero.
  a.ack(150);
  b.ack(150);
  hub.write('y'.repeat(100));
  tick();
  assert.equal(hub.paused, false);
  hub.newBoot();
  hub.newBoot();
  assert.deepEqual(pauses, [true, false], 'no pause or resume without a change');
});

test('nothing is sent after dispose, and a throwing sink does not stop the others', () => {
  const { hub, tick, client } = harness();
  hub.attach(() => {
    throw new Error('socket gone');
  });
  const a = client();
  hub.write('hi');
  tick();
  assert.equal(a.text(), 'hi');
  hub.dispose();
  hub.write('more');
  tick();
  a.ack(2);
  assert.equal(a.text(), 'hi');
  assert.equal(hub.clientCount, 0);
});
