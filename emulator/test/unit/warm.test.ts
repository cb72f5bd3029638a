import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { GuestImage } from '../../src/image.ts';
import { warmStatePath } from '../../src/session.ts';
import { machineShape } from '../../src/warm-state.ts';

const image = { manifest: { key: 'abc123' } } as GuestImage;

test('the warm snapshot is named by image and machine, in the cache folder', () => {
  assert.equal(
    warmStatePath(image, 'tcg-512-2-ws', { FARFETCHD_LAB_CACHE: '/var/cache/lab' }),
    '/var/cache/lab/warm-abc123-tcg-512-2-ws.qcow2',
  );
  assert.equal(
    warmStatePath(image, 'kvm-512-2-nows', { XDG_CACHE_HOME: '/home/s/.cache' }),
    '/home/s/.cache/farfetchd-lab/warm-abc123-kvm-512-2-nows.qcow2',
  );
  assert.equal(
    warmStatePath(image, 'tcg-512-2-nows', {}),
    path.join(os.homedir(), '.cache', 'farfetchd-lab', 'warm-abc123-tcg-512-2-nows.qcow2'),
  );
});

test('the paging mode is part of the machine shape: a 4-level snapshot never loads into a 5-level CPU', () => {
  const five = machineShape('tcg', 512, 2, true);
  const four = machineShape('tcg', 512, 2, true, true);
  assert.match(five, /^[0-9a-f]{8}-tcg-512-2-ws$/);
  assert.equal(four, `${five}-4lvl`);
  assert.equal(machineShape('tcg', 512, 2, true, false), five);
});

test('the kernel is part of the machine shape: a debug kernel snapshot is its own', () => {
  const main = machineShape('tcg', 512, 2, true);
  assert.equal(machineShape('tcg', 512, 2, true, false, 'debug'), `${main}-debug`);
  assert.equal(machineShape('tcg', 512, 2, true, true, 'debug'), `${main}-4lvl-debug`);
  assert.equal(machineShape('tcg', 512, 2, true, false, 'main'), main);
});
