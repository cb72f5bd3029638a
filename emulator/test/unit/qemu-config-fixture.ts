// Shared by the QEMU argument tests: the smallest complete machine on a Linux host, under TCG.
import type { QemuConfig } from '../../src/qemu-args.ts';

export const linux: QemuConfig = {
  accel: 'tcg',
  hostPlatform: 'linux',
  kernelPath: '/lab/bzImage',
  diskPath: '/run/lab/overlay.qcow2',
  qmp: { kind: 'unix', path: '/run/lab/qmp.sock' },
  agent: { kind: 'unix', path: '/run/lab/agent.sock' },
  kernelLog: { kind: 'unix', path: '/run/lab/kernel-log.sock' },
};
