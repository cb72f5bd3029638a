// The boot steps `run` prints: each once, and again from the start when the boot starts again.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { VmStatus } from '../../src/api.ts';
import { BootStepLines } from '../../src/cli-boot.ts';

type Steps = VmStatus['bootSteps'];

test('each step is printed once, in order, as the statuses add them', () => {
  const lines = new BootStepLines();
  const one: Steps = [{ step: 'qemu-started', atMs: 120 }];
  const two: Steps = [...one, { step: 'kernel-up', atMs: 1500 }];
  assert.deepEqual(lines.next([]), []);
  assert.deepEqual(lines.next(one), ['farfetchd-lab: qemu-started (0.12 s)\n']);
  assert.deepEqual(lines.next(one), []);
  assert.deepEqual(lines.next(two), ['farfetchd-lab: kernel-up (1.50 s)\n']);
});

test('a boot that starts again (TCG fallback) prints its steps again', () => {
  const lines = new BootStepLines();
  lines.next([
    { step: 'qemu-started', atMs: 100 },
    { step: 'kernel-up', atMs: 900 },
  ]);
  assert.deepEqual(lines.next([]), []); // the boot view restarted: no steps yet
  assert.deepEqual(lines.next([{ step: 'qemu-started', atMs: 3300 }]), [
    'farfetchd-lab: qemu-started (3.30 s)\n',
  ]);
  // Restarted and already as long as before when the status comes: still printed.
  const again = new BootStepLines();
  again.next([{ step: 'qemu-started', atMs: 100 }]);
  assert.deepEqual(again.next([{ step: 'qemu-started', atMs: 3100 }]), [
    'farfetchd-lab: qemu-started (3.10 s)\n',
  ]);
});
