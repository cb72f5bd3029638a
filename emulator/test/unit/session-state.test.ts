// The session's transition table, checked pair by pair, and what each way QEMU can end means.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { VmState } from '../../src/api.ts';
import {
  TRANSITIONS,
  TransitionError,
  classifyExit,
  describeExit,
  nextState,
  type SessionEvent,
} from '../../src/session-state.ts';

const states: VmState[] = ['stopped', 'booting', 'ready', 'crashed', 'stopping', 'suspending'];
const events: SessionEvent[] = [
  'start',
  'booted',
  'boot-failed',
  'stop',
  'disposed',
  'kernel-crashed',
  'guest-powered-off',
  'guest-rebooted',
  'qemu-died',
  'restore',
  'suspend',
  'suspend-failed',
  'suspended',
  'resume',
];

/** Written out independently of the table: every possible transition, and nothing else. */
const expected: Record<string, VmState> = {
  'stopped start': 'booting',
  'booting booted': 'ready',
  'booting boot-failed': 'stopped',
  'booting stop': 'stopping',
  'booting kernel-crashed': 'crashed',
  'ready stop': 'stopping',
  'ready kernel-crashed': 'crashed',
  'ready guest-powered-off': 'stopped',
  'ready guest-rebooted': 'booting',
  'ready qemu-died': 'crashed',
  'ready restore': 'booting',
  'crashed stop': 'stopping',
  'crashed guest-powered-off': 'stopped',
  'crashed guest-rebooted': 'booting',
  'crashed qemu-died': 'crashed',
  'crashed restore': 'booting',
  'stopping disposed': 'stopped',
  'ready suspend': 'suspending',
  'suspending suspended': 'stopped',
  'suspending suspend-failed': 'ready',
  'suspending stop': 'stopping',
  'suspending kernel-crashed': 'crashed',
  'suspending qemu-died': 'crashed',
  'suspending guest-powered-off': 'stopped',
  'stopped resume': 'booting',
};

for (const from of states) {
  for (const event of events) {
    const to = expected[`${from} ${event}`];
    test(`${from} + ${event} → ${to ?? 'impossible'}`, () => {
      if (to) {
        assert.equal(nextState(from, event), to);
      } else {
        assert.throws(
          () => nextState(from, event),
          (err: unknown) =>
            err instanceof TransitionError &&
            err.from === from &&
            err.event === event &&
            err.message === `impossible session transition: ${event} while ${from}`,
        );
      }
    });
  }
}

test('the table has exactly the expected transitions', () => {
  const listed = Object.entries(TRANSITIONS).flatMap(([from, row]) =>
    Object.entries(row).map(([event, to]) => `${from} ${event} ${to}`),
  );
  assert.deepEqual(
    listed.sort(),
    Object.entries(expected)
      .map(([key, to]) => `${key} ${to}`)
      .sort(),
  );
});

test('a guest power-off, a guest reboot, and every other end of QEMU', () => {
  assert.deepEqual(classifyExit({ code: 0, signal: null, shutdownReason: 'guest-shutdown' }), {
    event: 'guest-powered-off',
    reason: 'the guest powered off',
  });
  assert.deepEqual(classifyExit({ code: 0, signal: null, shutdownReason: 'guest-reset' }), {
    event: 'guest-rebooted',
    reason: 'the guest rebooted',
  });
  assert.deepEqual(classifyExit({ code: null, signal: 'SIGKILL' }), {
    event: 'qemu-died',
    reason: 'QEMU was killed (SIGKILL)',
  });
  assert.deepEqual(classifyExit({ code: 1, signal: null }), {
    event: 'qemu-died',
    reason: 'QEMU exited (code 1)',
  });
  // A SHUTDOWN reason does not make a failed exit a power-off.
  assert.deepEqual(classifyExit({ code: 1, signal: null, shutdownReason: 'guest-shutdown' }), {
    event: 'qemu-died',
    reason: 'QEMU exited (code 1)',
  });
  assert.deepEqual(classifyExit({ code: 0, signal: null, shutdownReason: 'host-signal' }), {
    event: 'qemu-died',
    reason: 'QEMU quit (host-signal)',
  });
  assert.equal(describeExit({ code: 0, signal: null }), 'QEMU exited (code 0)');
});
