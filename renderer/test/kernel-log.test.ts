// The Kernel log tab's wording: which lines are an oops or a warning, and the log as lines.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifyLogLine, logLines } from '../src/composables/useKernelLog.ts';

test('oops, BUG, panic and WARNING lines are marked; the rest is not', () => {
  assert.equal(
    classifyLogLine('[   12.3] BUG: kernel NULL pointer dereference, address: 0000000000000000'),
    'oops',
  );
  assert.equal(classifyLogLine('[   12.3] Oops: 0002 [#1] PREEMPT SMP NOPTI'), 'oops');
  assert.equal(classifyLogLine('[   12.3] RIP: 0010:far_write+0x1c/0x90 [farfetch_p3]'), 'oops');
  assert.equal(classifyLogLine('[   12.4] Call Trace:'), 'oops');
  assert.equal(classifyLogLine('[   12.5] Kernel panic - not syncing: Fatal exception'), 'oops');
  assert.equal(
    classifyLogLine('[    9.1] WARNING: CPU: 0 PID: 71 at mm/gup.c:1200 __get_user_pages+0x3c0/0x4a0'),
    'warning',
  );
  assert.equal(classifyLogLine('[    3.0] farfetch_p3: loading out-of-tree module taints kernel.'), null);
  assert.equal(classifyLogLine('farfetchd-lab: init started'), null);
});

test("the log becomes lines without the console's \\r, the last newline ending the last line", () => {
  assert.deepEqual(logLines('farfetchd-lab: init started\r\n[ 1.0] WARNING: x\r\n'), [
    { text: 'farfetchd-lab: init started', kind: null, at: null },
    { text: '[ 1.0] WARNING: x', kind: 'warning', at: null },
  ]);
  assert.deepEqual(logLines('[ 2.0] RIP: 0010:null_write+0x5/0x10 [lab_crash]\n'), [
    {
      text: '[ 2.0] RIP: 0010:null_write+0x5/0x10 [lab_crash]',
      kind: 'oops',
      at: { module: 'lab_crash', symbolOffset: 'null_write+0x5/0x10' },
    },
  ]);
  assert.deepEqual(logLines(''), []);
});
