// The backend's wiring of clients to the session, with a fake session (the session itself has its
// own tests against a real guest): status first, then console history, per-client acknowledgements,
// the pause released by a new boot, and the typed system queries.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import type { LabEvent, SystemReport, VmState, VmStatus } from '../../src/api.ts';
import { createBackend } from '../../src/backend.ts';
import { CONSOLE_HIGH_WATERMARK } from '../../src/console-hub.ts';
import type { LabSession } from '../../src/session.ts';

class FakeSession extends EventEmitter {
  state: VmState = 'ready';
  pty: ('pause' | 'resume')[] = [];
  typed: string[] = [];
  status(): VmStatus {
    return { state: this.state, bootSteps: [], uptimeMs: null, loadedModule: 'none' };
  }
  setState(state: VmState) {
    this.state = state;
    this.emit('status', this.status());
  }
  async start() {
    this.setState('booting');
    this.setState('ready');
  }
  async stop() {
    this.setState('stopping');
    this.setState('stopped');
  }
  pauseConsole() {
    this.pty.push('pause');
  }
  resumeConsole() {
    this.pty.push('resume');
  }
  writeConsole(data: string) {
    this.typed.push(data);
  }
  /** How often the backend asked to read the guest's farfetch modules again. */
  moduleReads = 0;
  modules = { refresh: async () => void this.moduleReads++ };
}

async function until(what: string, ok: () => boolean): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (ok()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.fail(`never: ${what}`);
}

function setup(systemReport?: (opts: { reprobe: boolean }) => Promise<SystemReport>) {
  const session = new FakeSession();
  const backend = createBackend({ session: session as unknown as LabSession, workspace: '', systemReport });
  const attach = () => {
    const events: LabEvent[] = [];
    const client = backend.connect((e) => events.push(e));
    const consoleText = () => events.map((e) => (e.type === 'console' ? e.data : '')).join('');
    return { ...client, events, consoleText };
  };
  return { session, backend, attach };
}

test('a client gets the status, then the recent console history, then live output', async () => {
  const { session, backend, attach } = setup();
  session.emit('console', 'before anyone looked\r\n');
  // A client whose transport throws (attached first, so told first) keeps nothing from the others.
  backend.connect(() => {
    throw new Error('socket closing');
  });
  const tab = attach();
  assert.deepEqual(tab.events, [{ type: 'status', status: session.status() }]);
  await until('the history arrives', () => tab.consoleText() === 'before anyone looked\r\n');
  session.emit('console', 'live\r\n');
  await until('live output arrives', () => tab.consoleText().endsWith('live\r\n'));
  assert.equal(tab.consoleText(), 'before anyone looked\r\nlive\r\n');
  session.setState('stopping');
  assert.deepEqual(tab.events.at(-1), { type: 'status', status: session.status() });
  await tab.api.consoleInput('ls\r');
  assert.deepEqual(session.typed, ['ls\r']);
  tab.close();
  session.emit('console', 'after close\r\n');
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(tab.consoleText().includes('after close'), false);
  await backend.dispose();
});

test('a tab that does not acknowledge pauses the pty only when it is the only one; a new boot resumes', async () => {
  const { session, backend, attach } = setup();
  const stalled = attach();
  const live = attach();
  const part = 'x'.repeat(CONSOLE_HIGH_WATERMARK * 0.6);
  for (let i = 1; i <= 3; i++) {
    session.emit('console', part);
    await until(`the live tab got part ${i}`, () => live.consoleText().length === i * part.length);
    await live.api.consoleAck(part.length);
  }
  assert.equal(stalled.consoleText().length, 2 * part.length, 'the stalled tab is sent nothing more');
  assert.deepEqual(session.pty, [], 'the live tab keeps the pty running');
  live.close();
  assert.deepEqual(session.pty, ['pause'], 'now every tab left is behind');
  await backend.connect(() => undefined).api.stop();
  assert.deepEqual(session.pty, ['pause', 'resume'], 'a stop never keeps the pause');
  await backend.dispose();
});

test('the System page queries: a report, and a probe that forgets the remembered verdict', async () => {
  const asked: boolean[] = [];
  const report = { checks: [] } as unknown as SystemReport;
  const { backend } = setup(async ({ reprobe }) => {
    asked.push(reprobe);
    return report;
  });
  const { api } = backend.connect(() => undefined);
  const other = backend.connect(() => undefined).api;
  assert.equal(await api.systemReport(), report);
  const [a, b] = await Promise.all([api.probeAccelerator(), other.probeAccelerator()]);
  assert.equal(a, report);
  assert.equal(b, report);
  assert.deepEqual(asked, [false, true], 'two tabs probing at once share one probe');
  await api.probeAccelerator();
  assert.deepEqual(asked, [false, true, true], 'a later probe probes again');
  assert.equal('exec' in api, false);
  await backend.dispose();
});

test("the guest's modules are read again: when it becomes ready, on a status request, after a command typed", async () => {
  const { session, backend } = setup();
  const { api } = backend.connect(() => undefined);
  assert.equal(session.moduleReads, 0, 'nothing asked, nothing read');
  session.setState('booting');
  session.setState('ready');
  assert.equal(session.moduleReads, 1, 'a new machine is ready');
  await api.status();
  assert.equal(session.moduleReads, 2, 'a UI asked for the status');
  await api.consoleInput('insmod farfetch_p3.ko');
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(session.moduleReads, 2, 'no Enter yet: no command');
  await api.consoleInput('\r');
  session.emit('console', '\r\n# ');
  await until('the console has been quiet after the Enter', () => session.moduleReads === 3);
  await backend.dispose();
});
