import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_KERNEL_CMDLINE, kernelCommandLine, tcgLoopsPerJiffy } from '../../src/kernel-cmdline.ts';
import { buildQemuArgs } from '../../src/qemu-args.ts';
import { linux } from './qemu-config-fixture.ts';

function appendOf(args: string[]): string {
  return args[args.indexOf('-append') + 1]!;
}

test('the default command line: no legacy ptys, no panic_on_oops (not a boot option)', () => {
  assert.equal(
    DEFAULT_KERNEL_CMDLINE,
    'console=hvc0 console=ttyS0 root=/dev/vda rootfstype=ext4 rw init=/sbin/lab-init quiet pty.legacy_count=0',
  );
});

test('tcgLoopsPerJiffy: the TSC cycles of one jiffy (HZ=100) on an x86-64 host', () => {
  // 2445.46 MHz is what this machine's guest kernel calibrates for its first vCPU (lpj=24454600).
  assert.equal(tcgLoopsPerJiffy('x64', 2445.46), 24454600);
  assert.equal(tcgLoopsPerJiffy('x64', 3000), 30000000);
});

test('tcgLoopsPerJiffy: none on other hosts or for an unbelievable rate', () => {
  assert.equal(tcgLoopsPerJiffy('arm64', 3200), undefined);
  assert.equal(tcgLoopsPerJiffy('x64', undefined), undefined);
  assert.equal(tcgLoopsPerJiffy('x64', 0), undefined);
  assert.equal(tcgLoopsPerJiffy('x64', 499), undefined);
  assert.equal(tcgLoopsPerJiffy('x64', 10_001), undefined);
  assert.equal(tcgLoopsPerJiffy('x64', Number.NaN), undefined);
});

test('kernelCommandLine: default, then lpj, then the caller words (trimmed)', () => {
  assert.equal(kernelCommandLine({}), DEFAULT_KERNEL_CMDLINE);
  assert.equal(kernelCommandLine({ extra: '   ' }), DEFAULT_KERNEL_CMDLINE);
  assert.equal(
    kernelCommandLine({ loopsPerJiffy: 24454600, extra: ' lab.debug=1 ' }),
    `${DEFAULT_KERNEL_CMDLINE} lpj=24454600 lab.debug=1`,
  );
});

test('buildQemuArgs passes lpj under TCG only', () => {
  assert.equal(
    appendOf(buildQemuArgs({ ...linux, loopsPerJiffy: 24454600 })),
    `${DEFAULT_KERNEL_CMDLINE} lpj=24454600`,
  );
  assert.equal(
    appendOf(buildQemuArgs({ ...linux, accel: 'kvm', loopsPerJiffy: 24454600 })),
    DEFAULT_KERNEL_CMDLINE,
  );
  assert.equal(appendOf(buildQemuArgs(linux)), DEFAULT_KERNEL_CMDLINE);
});

test('a loopsPerJiffy that is not a positive integer is refused with the field named', () => {
  for (const bad of [0, -1, 1.5, 2 ** 31]) {
    assert.throws(
      () => buildQemuArgs({ ...linux, loopsPerJiffy: bad }),
      /QEMU configuration: loopsPerJiffy must be an integer from 1 to 2147483647/,
    );
  }
});
