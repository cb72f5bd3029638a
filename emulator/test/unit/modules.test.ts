import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isModuleName, moduleLoadScript, moduleUnloadScript } from '../../src/modules.ts';

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

test('p1 and p2 are loaded with modprobe only', () => {
  assert.equal(moduleLoadScript('p1'), 'set -e\nmodprobe farfetch_p1');
  assert.equal(moduleUnloadScript('p2'), 'set -e\nrmmod farfetch_p2');
});

test('p3 creates /dev/farfetch from the major in /proc/devices, and removes it on unload', () => {
  const load = moduleLoadScript('p3');
  assert.match(load, /^set -e\nmodprobe farfetch_p3\n/);
  assert.match(load, /awk '\$2 == "farfetch" \{ print \$1 \}' \/proc\/devices/);
  assert.match(load, /mknod -m 0666 \/dev\/farfetch c "\$major" 0$/);
  assert.equal(moduleUnloadScript('p3'), 'set -e\nrmmod farfetch_p3\nrm -f /dev/farfetch');
});
