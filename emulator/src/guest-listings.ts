// lab_introspect's listings (kernel-module/lab_introspect/listings.c), read through the agent's
// file calls like the walk, turned into the panels' typed data: the task list with /etc/passwd's
// names becomes the process list, the /dev listing the device nodes. Pure; a line that is not
// what the module prints is an error that says so (the module is ours, so that is a lab bug).
import type { DeviceNode, ProcessInfo } from './api.ts';
import { GuestOutputError, TARGET_COMMANDS } from './guest-parse.ts';

export const TASKS_FILE = '/sys/kernel/debug/farfetch_lab/tasks';
export const DEVNODES_FILE = '/sys/kernel/debug/farfetch_lab/devnodes';

export interface TaskLine {
  pid: number;
  ppid: number;
  euid: number;
  /** Whether it has an address space (kernel threads and zombies have none). */
  hasMm: boolean;
  comm: string;
}

/** The module escapes '\' and newline as seq_escape() does: a backslash and three octal digits. */
function unescapeName(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** The tasks file: "PID PPID EUID MM COMM" per process, COMM last (it may hold spaces). */
export function parseTasks(text: string): TaskLine[] {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const m = /^(\d+) (\d+) (\d+) ([01]) (.*)$/.exec(line);
      if (!m) throw new GuestOutputError(`not a lab_introspect tasks line: ${line.slice(0, 120)}`);
      return {
        pid: Number(m[1]),
        ppid: Number(m[2]),
        euid: Number(m[3]),
        hasMm: m[4] === '1',
        comm: unescapeName(m[5]!),
      };
    });
}

/** /etc/passwd: uid → name (the first name of a uid, as getpwuid gives it). */
export function parsePasswd(text: string): Map<number, string> {
  const names = new Map<number, string>();
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const fields = line.split(':');
    const uid = Number(fields[2]);
    if (fields.length < 7 || fields[0] === '' || !/^\d+$/.test(fields[2]!))
      throw new GuestOutputError(`not an /etc/passwd line: ${line.slice(0, 120)}`);
    if (!names.has(uid)) names.set(uid, fields[0]!);
  }
  return names;
}

/**
 * The process list: processes with an address space only (what a walk can look at), the user
 * named as ps names it (the uid in decimal when /etc/passwd has no name for it). Targets first.
 */
export function processList(tasks: TaskLine[], users: Map<number, string>): ProcessInfo[] {
  return tasks
    .filter((t) => t.hasMm)
    .map((t) => ({
      pid: t.pid,
      user: users.get(t.euid) ?? String(t.euid),
      command: t.comm,
      target: (TARGET_COMMANDS as readonly string[]).includes(t.comm),
    }))
    .sort((a, b) => Number(b.target) - Number(a.target) || a.pid - b.pid);
}

const TYPES: Record<string, string> = {
  c: 'char',
  b: 'block',
  '-': 'file',
  d: 'directory',
  l: 'symlink',
  p: 'other',
  s: 'other',
  '?': 'other',
};

/**
 * The devnodes file: "TYPE MAJOR MINOR MODE NAME" per entry of /dev (as lstat sees it; MODE the
 * permission bits in octal). Sorted by path, without dot entries: what `/dev/*` lists.
 */
export function parseDevnodes(text: string): DeviceNode[] {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line): DeviceNode => {
      const m = /^([cbdlps?-]) (\d+) (\d+) ([0-7]{1,4}) (.+)$/.exec(line);
      if (!m) throw new GuestOutputError(`not a lab_introspect devnodes line: ${line.slice(0, 120)}`);
      const type = TYPES[m[1]!]!;
      const device = type === 'char' || type === 'block';
      return {
        path: `/dev/${unescapeName(m[5]!)}`,
        type,
        major: device ? Number(m[2]) : null,
        minor: device ? Number(m[3]) : null,
        mode: `0${m[4]!.padStart(3, '0')}`,
      };
    })
    .filter((node) => !node.path.startsWith('/dev/.'))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
