// `farfetchd-lab run` in a real terminal (a pty): boot progress, the guest's shell, Ctrl-] to quit.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as pty from 'node-pty';
import { acceleratorLine } from '../../src/cli-boot.ts';
import { repoRoot } from '../../src/image.ts';
import { cliPath, labAcceleratorDecision } from './helpers.ts';

test('run attaches this terminal to the guest console; Ctrl-] stops the guest and quits', async () => {
  const term = pty.spawn(process.execPath, [cliPath, 'run', '--module', 'p1'], {
    cols: 100,
    rows: 30,
    cwd: repoRoot,
    env: process.env as Record<string, string>,
  });
  let screen = '';
  term.onData((d) => (screen += d));
  const exited = new Promise<number>((resolve) => term.onExit(({ exitCode }) => resolve(exitCode)));
  const waitFor = async (re: RegExp, what: string) => {
    for (let i = 0; i < 600 && !re.test(screen); i++) await new Promise((r) => setTimeout(r, 100));
    assert.match(screen, re, `never saw ${what}`);
  };
  try {
    await waitFor(/attached to the guest console/, 'the attach message');
    assert.match(screen, /farfetchd-lab: agent-ready \(\d+\.\d\d s\)/);
    // The accelerator the lab decides on this machine, its label and any fallback reason, as one line.
    const decided = (await labAcceleratorDecision()).info;
    const line = screen.split(/\r?\n/).find((l) => l.startsWith('farfetchd-lab: accelerator '));
    assert.equal(line, `farfetchd-lab: ${acceleratorLine(decided)}`);
    assert.ok(line.includes(decided.label) && line.includes(decided.fallbackReason ?? ''), line);
    await waitFor(/\[farfetchd-lab guest\]/, 'the prompt');
    term.write('lsmod | grep -c farfetch_p1; stty size\r');
    await waitFor(/\b1\r*\n30 100\r*\n/, 'the module and the terminal size');
    term.write('\x1d');
    assert.equal(await exited, 0);
    assert.match(screen, /farfetchd-lab: guest stopped/);
  } finally {
    term.kill();
  }
});
