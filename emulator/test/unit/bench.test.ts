import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatGoal, formatTable, summarize } from '../../src/bench.ts';
import { parseProcStat } from '../../src/bench-session.ts';

test('summarize gives the median of odd and even sample counts', () => {
  assert.deepEqual(summarize('x', 'ms', [5, 1, 3]), {
    name: 'x',
    unit: 'ms',
    samples: 3,
    median: 3,
    min: 1,
    max: 5,
  });
  assert.equal(summarize('x', 'ms', [4, 1, 3, 2]).median, 2.5);
});

test('formatTable right-aligns numbers under a header and a rule', () => {
  assert.equal(
    formatTable([
      summarize('boot', 'ms', [1000, 1200], { atMost: 250 }),
      summarize('echo latency', 'ms', [3.5]),
    ]),
    [
      'benchmark      median            goal      min      max  unit  n',
      '------------  -------  --------------  -------  -------  ----  -',
      'boot          1100.00  ≤ 250 (missed)  1000.00  1200.00    ms  2',
      'echo latency     3.50        none set     3.50     3.50    ms  1',
    ].join('\n'),
  );
});

test('a goal is met by the median, at most or at least, and says so', () => {
  const edit = summarize('edit', 'ms', [3000, 5000, 3900], { atMost: 4000 });
  assert.deepEqual([edit.goal, edit.goalMet, formatGoal(edit)], [{ atMost: 4000 }, true, '≤ 4000 (met)']);
  const ratio = summarize('ratio', 'x', [0.9, 1.2, 0.95], { atLeast: 1 });
  assert.deepEqual([ratio.goalMet, formatGoal(ratio)], [false, '≥ 1 (missed)']);
  assert.equal(summarize('exact', 'ms', [500], { atMost: 500 }).goalMet, true);
});

test('parseProcStat reads comm (spaces and parentheses in it), ppid and utime + stime', () => {
  const line =
    '4242 (qemu (x) 1) S 17 4242 4242 0 -1 4194560 900 0 0 0 250 75 0 0 20 0 5 0 100 1000000 2000 ' +
    '18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0\n';
  assert.deepEqual(parseProcStat(line), { comm: 'qemu (x) 1', ppid: 17, cpuTicks: 325 });
});
