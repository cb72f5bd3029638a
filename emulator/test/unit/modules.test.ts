import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isModuleName, moduleSwapScript } from '../../src/modules.ts';

test('module names are exactly none, p1, p2, p3', () => {
  assert.deepEqual(['none', 'p1', 'p2', 'p3', 'p4', 'P1', '', 3].map(isModuleName), [
    true,
    true,
    true,
    true,
    false,
    false,
    false,
    false,
  ]);
});

const UNLOAD_ALL = [
  'set -e',
  `had_device=$(awk '$2 == "farfetch" { print $1 }' /proc/devices)`,
  `for m in $(awk '$1 ~ /farfetch/ { print $1 }' /proc/modules); do rmmod "$m"; done`,
  '[ -z "$had_device" ] || rm -f /dev/farfetch',
].join('\n');

test('every farfetch module goes first (whoever loaded it, newest first); p1 and p2 are then modprobed', () => {
  assert.equal(moduleSwapScript('none'), UNLOAD_ALL);
  assert.equal(moduleSwapScript('p1'), `${UNLOAD_ALL}\nmodprobe farfetch_p1`);
  assert.equal(moduleSwapScript('p2'), `${UNLOAD_ALL}\nmodprobe farfetch_p2`);
});

test('p3 creates /dev/farfetch from the major in /proc/devices', () => {
  const load = moduleSwapScript('p3');
  assert.ok(load.startsWith(`${UNLOAD_ALL}\nmodprobe farfetch_p3\n`), load);
  assert.match(load, /\nmajor=\$\(awk '\$2 == "farfetch" \{ print \$1 \}' \/proc\/devices\)\n/);
  assert.match(load, /mknod -m 0666 \/dev\/farfetch c "\$major" 0$/);
});
