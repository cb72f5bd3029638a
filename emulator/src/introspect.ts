// The panels' typed queries, answered through the session's guest agent's file calls, so no
// guest process is started (under TCG each costs 70–300 ms): lab_introspect's debugfs files (the
// walk, the task list, /dev's nodes), /proc and /etc/passwd; and, for the host's own re-walk of a
// page walk, through QEMU's monitor reading guest physical memory. One exception, resolving an
// oops's module address, runs faddr2line in the guest (RESOLVE).
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type { DriverReport, Mapping, PageWalkResult, ProcessInfo, SourceLocation } from './api.ts';
import { FARFETCH_NODE, parseDevices, parseModules, registrationChain } from './drivers.ts';
import { GuestOutputError, parseMaps, parsePagemap, parseWalkJson } from './guest-parse.ts';
import { ptwalkReport, readGuestFile, readPagemapEntry, type AgentSession } from './guest-files.ts';
import {
  DEVNODES_FILE,
  parseDevnodes,
  parsePasswd,
  parseTasks,
  processList,
  TASKS_FILE,
} from './guest-listings.ts';
import { parseFaddr2line } from './oops-address.ts';
import { compareWalks, hex, walkTables, type ReadPhys } from './pagewalk.ts';
import type { ModuleView } from './module-view.ts';
import type { LabSession } from './session.ts';

/** What the queries need of a session (a LabSession; a fake in unit tests). */
export type IntrospectSession = Pick<
  LabSession,
  'runAfterOops' | 'monitor' | 'runFolder' | 'agentRequest'
> & {
  modules: Pick<ModuleView, 'current'>;
};

export class IntrospectError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'IntrospectError';
  }
}

// The one query that runs a guest process: faddr2line is a bash script over readelf and addr2line.
// The module's .ko ($1 as the kernel names it; its file may spell _ as -): the newest one built
// under /root (the student's), else the reference modules' (modinfo -n, depmod's path). Then
// the kit's faddr2line on it for $2. The first line says which .ko was used.
const RESOLVE = [
  'dash=$(echo "$1" | tr _ -)',
  'ko=$(find /root -name "$1.ko" -o -name "$dash.ko" 2>/dev/null | xargs -r ls -t | head -n 1)',
  '[ -n "$ko" ] || ko=$(modinfo -n "$1" 2>/dev/null) || { echo "no $1.ko under /root or in /lib/modules" >&2; exit 1; }',
  'tool=/lib/modules/$(uname -r)/build/scripts/faddr2line',
  // faddr2line reads through bash's process substitution, which needs /dev/fd (udev's link).
  '[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd',
  '[ -x "$tool" ] || { echo "$tool is missing from the module-build kit" >&2; exit 1; }',
  'echo "$ko"',
  'exec "$tool" "$ko" "$2"',
].join('\n');

/**
 * RESOLVE with its parameters as arguments, never as text in it; through runAfterOops, since
 * it is asked right after an oops, when the session takes no other command.
 */
async function resolveInGuest(session: IntrospectSession, args: string[]): Promise<string> {
  const r = await session.runAfterOops('/bin/sh', ['-c', RESOLVE, 'lab-query', ...args], {
    timeoutMs: 20_000,
  });
  if (r.exitCode !== 0) {
    const why = r.stderr.toString().trim() || r.stdout.toString().trim() || `exit ${r.exitCode}`;
    throw new IntrospectError('EGUEST', why.split('\n').pop()!);
  }
  return r.stdout.toString();
}

/** One of lab_introspect's listings; a missing file means the module is not loaded. */
async function readListing(session: AgentSession, file: string): Promise<string> {
  try {
    return await readGuestFile(session, file);
  } catch (err) {
    const message = (err as Error).message;
    if (/No such file/i.test(message))
      throw new IntrospectError('EGUEST', 'lab_introspect is not loaded: modprobe lab_introspect');
    throw new IntrospectError('EGUEST', `${file}: ${message}`);
  }
}

/** Every hex word after an address in `xp /Ngx` output ("0000000004a2b000: 0x… 0x…"). */
export function parseXp(text: string): bigint[] {
  const words: bigint[] = [];
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    for (const word of line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)) {
      if (/^0x[0-9a-f]+$/i.test(word)) words.push(BigInt(word));
    }
  }
  return words;
}

/** Guest physical memory through HMP `xp` (8-byte words, little-endian as the guest stores them). */
export function xpReader(session: Pick<IntrospectSession, 'monitor'>): ReadPhys {
  return async (addr, len) => {
    const count = Math.ceil(len / 8);
    const text = await session.monitor(`xp /${count}gx ${hex(addr)}`);
    const words = parseXp(text);
    if (words.length !== count) throw new IntrospectError('EQMP', `xp ${hex(addr)}: ${text.trim()}`);
    const bytes = new Uint8Array(count * 8);
    const view = new DataView(bytes.buffer);
    words.forEach((w, i) => view.setBigUint64(i * 8, w, true));
    return bytes.subarray(0, len);
  };
}

/** Guest physical memory through `pmemsave` into the run folder (the bench compares it with xp). */
export function pmemsaveReader(session: IntrospectSession): ReadPhys {
  let n = 0;
  return async (addr, len) => {
    const dir = session.runFolder;
    if (!dir) throw new IntrospectError('ESTATE', 'the guest is not running');
    const file = path.join(dir, `pmem-${n++}.bin`);
    const text = await session.monitor(`pmemsave ${hex(addr)} ${len} "${file}"`);
    if (text.trim() !== '') throw new IntrospectError('EQMP', `pmemsave: ${text.trim()}`);
    try {
      return new Uint8Array(await readFile(file));
    } finally {
      await rm(file, { force: true });
    }
  };
}

export function createIntrospect(session: IntrospectSession, readPhys: ReadPhys = xpReader(session)) {
  return {
    async processes(): Promise<ProcessInfo[]> {
      const tasks = parseTasks(await readListing(session, TASKS_FILE));
      return processList(tasks, parsePasswd(await readGuestFile(session, '/etc/passwd')));
    },

    async mappings(pid: number): Promise<Mapping[]> {
      return parseMaps(await readGuestFile(session, `/proc/${pid}/maps`));
    },

    /**
     * Through the agent's file calls, no guest process: the report from lab_introspect's debugfs
     * file (as lab-ptwalk reads it), then pagemap's entry, then the host's own walk.
     */
    async pageWalk(pid: number, addr: string): Promise<PageWalkResult> {
      const at = new Date().toISOString();
      const t0 = performance.now();
      const walk = parseWalkJson(await ptwalkReport(session, pid, addr));
      if (walk.pid !== pid) throw new GuestOutputError(`lab-ptwalk walked pid ${walk.pid}, not ${pid}`);
      const pagemap = parsePagemap(await readPagemapEntry(session, pid, BigInt(walk.addr)), walk);
      const guestMs = performance.now() - t0;
      const t1 = performance.now();
      const hostWalk = await walkTables(readPhys, {
        pid,
        addr: BigInt(walk.addr),
        pgdPhys: BigInt(walk.pgdPhys),
        levels: walk.levels,
      });
      const ms = performance.now() - t1;
      return {
        guest: walk,
        host: { walk: hostWalk, ...compareWalks(walk, hostWalk), method: 'QMP xp', ms },
        pagemap,
        at,
        guestMs,
      };
    },

    /** faddr2line on the module's .ko in the guest (RESOLVE): the oops's function+off → file:line. */
    async resolveKernelAddress(module: string, symbolOffset: string): Promise<SourceLocation | null> {
      // Without the length: an oops prints the kallsyms size (up to the next symbol, padding
      // included: 0x20), faddr2line compares it with the ELF size (0x12) and finds no match.
      const out = await resolveInGuest(session, [module, symbolOffset.replace(/\/.*/, '')]);
      const newline = out.indexOf('\n');
      const [ko, answer] = [out.slice(0, newline), out.slice(newline + 1)];
      const location = parseFaddr2line(answer, ko);
      // No line because the .ko has no debug info ("at ??:0") is an answer; "no match for …"
      // (another build of the module than the one loaded, say) is faddr2line's reason, said.
      if (location || / at \?\?:/.test(answer)) return location;
      throw new IntrospectError(
        'EGUEST',
        answer.trim().split('\n').pop() || `faddr2line found nothing in ${ko}`,
      );
    },

    async drivers(): Promise<DriverReport> {
      const majors = parseDevices(await readGuestFile(session, '/proc/devices'));
      // Whose build each farfetch module is: the session's module view (read again now).
      const builds = new Map((await session.modules.current())?.map((m) => [m.name, m.origin]));
      const loaded = parseModules(await readGuestFile(session, '/proc/modules')).map((m) => {
        const origin = builds.get(m.name);
        return origin ? { ...m, origin } : m;
      });
      const entries = parseDevnodes(await readListing(session, DEVNODES_FILE));
      return {
        majors,
        nodes: entries.filter((n) => n.type === 'char' || n.type === 'block'),
        modules: loaded,
        ...registrationChain(majors, loaded, entries.find((n) => n.path === FARFETCH_NODE) ?? null),
      };
    },
  };
}

export type Introspect = ReturnType<typeof createIntrospect>;
