// What the renderer puts into words, without a browser: the crash log as plain text, and the
// sizes, accelerator verdicts and their source on the System page and the status bar.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SystemReport } from '../../emulator/src/api.ts';
import { acceleratorText, formatBytes, verdictSource } from '../src/composables/system.ts';
import { plainText } from '../src/composables/plainText.ts';

test('console text for the crash log loses escapes and control characters, keeps lines', () => {
  const raw =
    '\x1b]0;title\x07\x1b[?2004h\x1b[1;33m[guest]\x1b[0m root:~# echo c\r\n\x1b[?2004l\r' +
    '[    6.17] Kernel panic\r\r\n\tCall Trace:\x1bM\x08\r\n';
  assert.equal(plainText(raw), '[guest] root:~# echo c\n[    6.17] Kernel panic\n\tCall Trace:\n');
});

test('the System page and status bar put sizes, verdicts and their source into words', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(999), '999 B');
  assert.equal(formatBytes(1500), '1.5 KB');
  assert.equal(formatBytes(48_300_000), '48 MB');
  assert.equal(formatBytes(12_345_678_901), '12 GB');
  assert.equal(formatBytes(3.2e15), '3200 TB');
  assert.equal(acceleratorText(undefined), 'accelerator: not yet probed');
  assert.equal(
    acceleratorText({ accel: 'kvm', label: 'KVM — hardware acceleration' }),
    'KVM — hardware acceleration',
  );
  const reason = 'KVM did not boot the guest on this machine: no console output in 3 s';
  assert.equal(
    acceleratorText({ accel: 'tcg', label: `TCG — ${reason}`, fallbackReason: reason }),
    `TCG — ${reason}`,
  );
  assert.equal(
    acceleratorText({
      accel: 'tcg',
      label: 'TCG — no hardware acceleration: slower',
      fallbackReason: 'no /dev/kvm',
    }),
    'TCG — no /dev/kvm',
  );
  const accelerator: SystemReport['accelerator'] = { accel: 'tcg', label: 'TCG', source: 'probe' };
  assert.equal(verdictSource(accelerator), 'probed');
  assert.equal(
    verdictSource({ ...accelerator, source: 'forced', decidedAt: 'garbage', probeMs: 50 }),
    'set by FARFETCHD_LAB_ACCEL (the probe took 50 ms)',
  );
  assert.equal(
    verdictSource({ ...accelerator, source: 'watchdog', decidedAt: '2026-12-01T08:00:59.900Z' }),
    'fallen back to after a boot printed nothing on 2026-12-01 08:00 UTC',
  );
});
