import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatTable, summarize } from '../../src/bench.ts';

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
    formatTable([summarize('boot', 'ms', [1000, 1200]), summarize('echo latency', 'ms', [3.5])]),
    [
      'benchmark      median      min      max  unit  n',
      '------------  -------  -------  -------  ----  -',
      'boot          1100.00  1000.00  1200.00    ms  2',
      'echo latency     3.50     3.50     3.50    ms  1',
    ].join('\n'),
  );
});
