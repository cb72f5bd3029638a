// The renderer's store (useVm) without a browser: status and crash events, action errors, a lost
// backend, the system report, and the uptime that ticks between status updates.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LabEvent, SystemReport } from '../../emulator/src/api.ts';
import type { LabConnection } from '../src/api/transport.ts';
import { currentUptime, formatUptime, stepLabel, useVm } from '../src/composables/useVm.ts';
import { readyP2 as ready } from './statuses.ts';

test('uptime and boot steps are shown as people read them; uptime ticks between updates', () => {
  assert.equal(currentUptime(ready, 1000, 3500), 7500);
  assert.equal(currentUptime({ ...ready, state: 'crashed' }, 1000, 3500), 5000);
  assert.equal(currentUptime({ ...ready, uptimeMs: null }, 1000, 3500), null);
  assert.equal(formatUptime(null), '—');
  assert.equal(formatUptime(59_999), '0:00:59');
  assert.equal(formatUptime(3_725_000), '1:02:05');
  assert.equal(stepLabel('agent-ready'), 'agent ready');
  assert.equal(stepLabel('something-new'), 'something-new');
});

test('the store follows status and crash events, and keeps an action error to show', async () => {
  let listener: (e: LabEvent) => void = () => undefined;
  const connection = {
    api: { start: async () => Promise.reject(new Error('QEMU was not found')), status: async () => ready },
    onEvent: (l: (e: LabEvent) => void) => {
      listener = l;
      return () => undefined;
    },
  } as unknown as LabConnection;
  const vm = useVm(connection);
  const crash = { kind: 'panic', headline: 'Kernel panic - not syncing: x', log: '...', at: 'now' };
  listener({ type: 'status', status: { ...ready, state: 'crashed', crash } });
  assert.equal(vm.store.status.state, 'crashed');
  assert.deepEqual(vm.store.crash, crash);
  listener({ type: 'status', status: ready });
  assert.equal(vm.store.crash, null);
  await vm.start();
  assert.equal(vm.store.error, 'QEMU was not found');
  assert.equal(vm.store.busy, null);
});

test('the store keeps the crash until the machine is back, and notices a lost backend', async () => {
  let listener: (e: LabEvent) => void = () => undefined;
  let onClose: (reason: string) => void = () => undefined;
  let time = 100;
  const connection: LabConnection = {
    api: { reset: async () => ready } as unknown as LabConnection['api'],
    onEvent: (l) => {
      listener = l;
      return () => undefined;
    },
    onClose: (l) => {
      onClose = l;
      return () => undefined;
    },
  };
  const vm = useVm(connection, () => time);
  const crash = { kind: 'oops', headline: 'Oops: 0002', log: '', at: 'now' };
  listener({ type: 'crash', crash });
  listener({ type: 'status', status: { ...ready, state: 'crashed' } });
  assert.deepEqual(vm.store.crash, crash, 'a crashed status without details keeps the crash event');
  time = 200;
  const resetting = vm.reset();
  assert.equal(vm.store.busy, 'Resetting');
  await resetting;
  assert.equal(vm.store.crash, null);
  assert.equal(vm.store.statusAt, 200);
  onClose('the connection to the lab backend was lost');
  assert.equal(vm.store.disconnected, 'the connection to the lab backend was lost');
});

test('the store asks for the system report, one question at a time, and keeps what went wrong', async () => {
  const report = { checks: [] } as unknown as SystemReport;
  const asked: string[] = [];
  let answer: (r: SystemReport) => void = () => undefined;
  const connection = {
    api: {
      systemReport: async () => {
        asked.push('systemReport');
        return report;
      },
      probeAccelerator: () => {
        asked.push('probeAccelerator');
        return new Promise<SystemReport>((resolve) => (answer = resolve));
      },
    },
    onEvent: () => () => undefined,
  } as unknown as LabConnection;
  const vm = useVm(connection);
  await vm.loadSystem();
  assert.deepEqual(vm.store.system, report);
  const probing = vm.probeAgain();
  assert.equal(vm.store.systemBusy, 'probing');
  await vm.loadSystem(); // ignored: the probe's answer will be the newest
  const probed = { checks: [{ name: 'accelerator', ok: true, detail: 'TCG' }] } as unknown as SystemReport;
  answer(probed);
  await probing;
  assert.deepEqual(asked, ['systemReport', 'probeAccelerator']);
  assert.deepEqual(vm.store.system, probed);
  assert.equal(vm.store.systemBusy, null);
  (connection.api as { systemReport: () => Promise<SystemReport> }).systemReport = async () => {
    throw new Error('this build of the lab has no system report');
  };
  await vm.loadSystem();
  assert.equal(vm.store.systemError, 'this build of the lab has no system report');
  assert.deepEqual(vm.store.system, probed, 'the last good report stays');
});
