// `farfetchd-lab run`: this terminal attached to the guest console until Ctrl-] or until the
// machine ends by itself (the guest powered off, QEMU exited or was killed).
import type { CrashInfo, VmStatus } from './api.ts';
import { EXIT_LAB_FAILURE, EXIT_USAGE, parse, parseModule, parseWorkspace, type Out } from './cli-args.ts';
import { bootForCli } from './cli-boot.ts';

/** Ctrl-], the telnet escape: ends the attachment. */
const DETACH_BYTE = 0x1d;

/**
 * Why an attachment ended: the user pressed Ctrl-], or the machine ended without being asked —
 * `boot-failed` when it stopped because a boot (after a guest reboot) failed.
 */
export type AttachEnd =
  { kind: 'detached' } | { kind: 'ended'; state: 'stopped' | 'crashed' | 'boot-failed'; reason: string };

/** What attachConsole needs of a session (LabSession has it; the unit tests fake it). */
export interface AttachableSession {
  on(event: 'console', listener: (data: string) => void): unknown;
  on(event: 'status', listener: (status: VmStatus) => void): unknown;
  on(event: 'crash', listener: (crash: CrashInfo) => void): unknown;
  off(event: 'console', listener: (data: string) => void): unknown;
  off(event: 'status', listener: (status: VmStatus) => void): unknown;
  off(event: 'crash', listener: (crash: CrashInfo) => void): unknown;
  writeConsole(data: string): void;
}

/**
 * Sends `input` to the guest console and the console to `out.stdout` until Ctrl-] is typed or
 * the machine goes to `stopped`, or to `crashed` because QEMU ended (status.stopReason). A
 * crash QEMU survives (an oops, a frozen panic) keeps the attachment: the log stays readable.
 */
export function attachConsole(
  session: AttachableSession,
  input: NodeJS.ReadableStream,
  out: Out,
): Promise<AttachEnd> {
  return new Promise((resolve) => {
    const onConsole = (data: string) => out.stdout.write(data);
    const onCrash = (crash: CrashInfo) =>
      out.stderr.write(
        `\r\nfarfetchd-lab: the guest kernel crashed: ${crash.headline}. Ctrl-] quits; run again for a clean guest.\r\n`,
      );
    const onStatus = (status: VmStatus) => {
      if (status.state === 'stopped' && status.error !== undefined) {
        // A boot failed (a guest reboot that QEMU could not bring up): a lab failure, not a poweroff.
        finish({ kind: 'ended', state: 'boot-failed', reason: status.stopReason ?? status.error });
      } else if (status.state === 'stopped') {
        finish({ kind: 'ended', state: 'stopped', reason: status.stopReason ?? 'the machine stopped' });
      } else if (status.state === 'crashed' && status.stopReason) {
        finish({ kind: 'ended', state: 'crashed', reason: status.stopReason });
      }
    };
    const onInput = (chunk: Buffer | string) => {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      const at = bytes.indexOf(DETACH_BYTE);
      if (at < 0) return session.writeConsole(bytes.toString('utf8'));
      if (at > 0) session.writeConsole(bytes.subarray(0, at).toString('utf8'));
      finish({ kind: 'detached' });
    };
    const finish = (end: AttachEnd) => {
      session.off('console', onConsole);
      session.off('crash', onCrash);
      session.off('status', onStatus);
      input.off('data', onInput);
      resolve(end);
    };
    session.on('console', onConsole);
    session.on('crash', onCrash);
    session.on('status', onStatus);
    input.on('data', onInput);
  });
}

/** The line run prints when it ends, and its exit status (125 for a lab failure, as everywhere). */
export function endOfRun(end: AttachEnd): { message: string; code: number } {
  if (end.kind === 'detached') return { message: 'farfetchd-lab: guest stopped', code: 0 };
  if (end.state === 'boot-failed') {
    const said = end.reason.startsWith('the guest did not boot')
      ? end.reason
      : `the guest did not boot: ${end.reason}`;
    return { message: `farfetchd-lab: lab failure: ${said}`, code: EXIT_LAB_FAILURE };
  }
  return {
    message: `farfetchd-lab: guest ${end.state}: ${end.reason}`,
    code: end.state === 'stopped' ? 0 : 1,
  };
}

export async function runCommand(argv: string[], out: Out): Promise<number> {
  const { values } = parse('run', argv, { module: { type: 'string' }, workspace: { type: 'string' } });
  const module = parseModule('run', values.module as string | undefined);
  const workspace = parseWorkspace('run', values.workspace as string | undefined);
  if (!process.stdin.isTTY) {
    out.stderr.write(
      'farfetchd-lab run: stdin is not a terminal; use `farfetchd-lab exec` to run commands from scripts\n',
    );
    return EXIT_USAGE;
  }
  const session = await bootForCli(module, out, true, workspace);
  if (!session) return EXIT_LAB_FAILURE;
  out.stderr.write('farfetchd-lab: attached to the guest console; Ctrl-] stops the guest and quits\n');
  const stdin = process.stdin;
  stdin.setRawMode(true);
  stdin.resume();
  const resize = async () => {
    if (process.stdout.columns && process.stdout.rows) {
      await session.resizeConsole(process.stdout.columns, process.stdout.rows).catch(() => undefined);
    }
  };
  process.stdout.on('resize', resize);
  const attached = attachConsole(session, stdin, out);
  // The guest's tty learns the size before anything is typed into it.
  await resize();
  session.writeConsole('\n');
  const end = await attached;
  stdin.setRawMode(false);
  stdin.pause();
  process.stdout.off('resize', resize);
  await session.stop();
  const { message, code } = endOfRun(end);
  out.stderr.write(`\n${message}\n`);
  return code;
}
