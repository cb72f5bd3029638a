// The io_uring probe against this host's real QEMU: it opens a file with aio=io_uring and quits;
// with the kernel's io_uring switch off, the same QEMU refuses, in the words refusedIoUring knows.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { findQemu } from '../../src/accel.ts';
import { IO_URING_SYSCTL, probeIoUring, refusedIoUring } from '../../src/disk-aio.ts';

const qemu = findQemu();
const setting = (() => {
  try {
    return readFileSync(IO_URING_SYSCTL, 'utf8').trim();
  } catch {
    return undefined;
  }
})();

test('with io_uring allowed, the probe QEMU opens a file with it and quits: ok', async (t) => {
  if (process.platform !== 'linux') return t.skip('io_uring is Linux only');
  if (setting !== undefined && setting !== '0') return t.skip(`${IO_URING_SYSCTL} is ${setting} here`);
  assert.deepEqual(await probeIoUring(qemu), { ok: true });
});

test('with kernel.io_uring_disabled=2, QEMU refuses io_uring, and the probe says why', async (t) => {
  if (setting !== '0' || process.getuid?.() !== 0) {
    return t.skip(`needs root and ${IO_URING_SYSCTL} at 0 (it is switched off for a moment)`);
  }
  writeFileSync(IO_URING_SYSCTL, '2\n');
  let result;
  try {
    result = await probeIoUring(qemu);
  } finally {
    writeFileSync(IO_URING_SYSCTL, `${setting}\n`);
  }
  assert.equal(result.ok, false);
  const reason = (result as { reason: string }).reason;
  assert.match(reason, /: Unable to use io_uring: failed to init linux io_uring ring: .+ \(exit 1\)$/);
  assert.equal(refusedIoUring(reason), true);
});
