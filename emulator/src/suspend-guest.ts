// What the guest does for a suspend (session-suspend.ts), and what its answers mean: the scripts
// that let the workspace share go and take it back, the report of the programs that hold it,
// and savevm's text. Pure: unit-tested without a guest.
import { MOUNT_WORKSPACE_LINE } from './guest-commands.ts';

const SHARE = '/root/work';
const AWAY = '/run/farfetchd-lab/away';
const SHELLS = '/run/farfetchd-lab/shells';
/** The release script's exit status when something holds the share (its stdout lists what). */
export const HELD = 3;

/** Sends SIGWINCH to each shell the profile registered (a stale pid ignores it: its default). */
const SIGNAL_SHELLS = `for f in ${SHELLS}/*; do [ -e "$f" ] || continue; kill -WINCH "\${f##*/}" 2>/dev/null || rm -f "$f"; done`;

/**
 * Lets the share go: shells out, then umount, tried a few times while the shells' traps run (at an
 * idle prompt at once; a shell running a program only once it ends). Exit 0: unmounted (or it
 * was not mounted). Exit HELD: stdout lists what holds it, as `/proc/PID/{cwd,root,exe,fd/N}
 * TAB target`, `/proc/PID/maps:… path` and `/proc/PID/comm:NAME` lines; stderr has umount's error.
 */
export const RELEASE_SHARE = [
  `mountpoint -q ${SHARE} || exit 0`,
  `mkdir -p /run/farfetchd-lab && : >${AWAY}`,
  SIGNAL_SHELLS,
  'i=0',
  `until err=$(umount ${SHARE} 2>&1); do i=$((i+1)); [ $i -ge 25 ] && break; sleep 0.04; done`,
  `mountpoint -q ${SHARE} || exit 0`,
  'echo "$err" >&2',
  `find /proc/[0-9]*/cwd /proc/[0-9]*/root /proc/[0-9]*/exe /proc/[0-9]*/fd/ -maxdepth 1 \\( -lname ${SHARE} -o -lname '${SHARE}/*' \\) -printf '%p\\t%l\\n' 2>/dev/null`,
  `grep -H ' ${SHARE}\\(/.*\\)\\?$' /proc/[0-9]*/maps 2>/dev/null`,
  'grep -H . /proc/[0-9]*/comm 2>/dev/null',
  `exit ${HELD}`,
].join('\n');

/**
 * After a share that did not mount again: the shells stay out of it (at /, not in the empty
 * mountpoint, where edits would land on the guest's disk) and the away file goes (else every
 * terminal resize would run the step-out again).
 */
export const FORGET_AWAY = `rm -f ${AWAY}`;

/** Once the share is mounted again: the away file gone and the shells sent back where they were. */
export const SHELLS_BACK = [FORGET_AWAY, SIGNAL_SHELLS].join('\n');

/**
 * SHELLS_BACK as lab-settle words, after its --mount (a resume: one cold program, not sh and rm);
 * after a failed mount lab-settle only forgets the away file, as FORGET_AWAY does.
 */
export const SETTLE_SHELLS_BACK = ['--shells-back', AWAY, SHELLS] as const;

/** Mounts the share again (if it is not) and sends the shells back (a suspend that failed). */
export const RESTORE_SHARE = [
  `mountpoint -q ${SHARE} || { ${MOUNT_WORKSPACE_LINE}; } || { ${FORGET_AWAY}; exit 1; }`,
  SHELLS_BACK,
].join('\n');

/** One program that keeps the share busy, and how. */
export interface ShareHolder {
  pid: number;
  command: string;
  /** What it holds, e.g. "has /root/work/f open", "works in /root/work/x". */
  holds: string[];
}

/** The release script's report → one entry per program, in pid order. */
export function parseHolders(stdout: string): ShareHolder[] {
  const comm = new Map<number, string>();
  const holds = new Map<number, string[]>();
  const add = (pid: number, what: string) => {
    const list = holds.get(pid) ?? [];
    if (!list.includes(what)) list.push(what);
    holds.set(pid, list);
  };
  for (const line of stdout.split('\n')) {
    let m = /^\/proc\/(\d+)\/comm:(.*)$/.exec(line);
    if (m) {
      comm.set(Number(m[1]), m[2]!);
      continue;
    }
    m = /^\/proc\/(\d+)\/maps:.*?\s(\/root\/work(?:\/.*)?)$/.exec(line);
    if (m) {
      add(Number(m[1]), `has ${m[2]} mapped`);
      continue;
    }
    m = /^\/proc\/(\d+)\/(cwd|root|exe|fd\/\d+)\t(.*)$/.exec(line);
    if (!m) continue;
    const [pid, kind, target] = [Number(m[1]), m[2]!, m[3]!];
    if (kind === 'cwd') add(pid, `works in ${target}`);
    else if (kind === 'root') add(pid, `is chrooted in ${target}`);
    else if (kind === 'exe') add(pid, `runs ${target}`);
    else add(pid, `has ${target} open`);
  }
  return [...holds.entries()]
    .sort(([a], [b]) => a - b)
    .map(([pid, list]) => ({ pid, command: comm.get(pid) ?? '?', holds: list }));
}

/** Suspend could not save the machine; it runs on as it was. `code` crosses the API (ESUSPEND). */
export class SuspendError extends Error {
  override name = 'SuspendError';
  readonly code = 'ESUSPEND';
  constructor(
    message: string,
    readonly holders: ShareHolder[] = [],
    /** QEMU had quit already: the machine is gone (the session stops). */
    readonly stopped = false,
  ) {
    super(message);
  }
}

/** What the student reads when programs hold the share: each one, and what to do. */
export function refusalMessage(holders: ShareHolder[], umountError: string): string {
  const head =
    `Suspend refused: the machine cannot be saved while /root/work (your workspace) is in use, ` +
    `and these programs use it. Nothing was changed.`;
  if (holders.length === 0)
    return `${head.replace(', and these programs use it', '')} (${umountError.trim()})`;
  // A shell is most likely the terminal's, busy with a job (which steps out by itself otherwise):
  // killing it would end the student's terminal.
  const advice = (h: ShareHolder) =>
    /^(ba|da)?sh$/.test(h.command)
      ? 'a shell: let what it runs finish (or Ctrl-C it), or cd out of /root/work'
      : `end it (Ctrl-C, or kill ${h.pid}) or leave /root/work`;
  const lines = holders.map((h) => `- ${h.command} (pid ${h.pid}) ${h.holds.join(', ')}: ${advice(h)}`);
  return [head, ...lines, 'Then press Suspend again.'].join('\n');
}

/** What savevm's text means for the student, in one line; null for no text (it worked). */
export function snapshotFailure(text: string): string | null {
  const trimmed = text.trim().replace(/^savevm:\s*/, '');
  if (trimmed === '') return null;
  const virtfs = /VirtFS export path '([^']*)' is mounted in the guest using mount_tag '([^']*)'/.exec(
    trimmed,
  );
  if (virtfs) return `QEMU cannot save the machine while the guest has the share "${virtfs[2]}" mounted`;
  return `QEMU could not save the machine: ${trimmed.replace(/^Error:\s*/, '')}`;
}
