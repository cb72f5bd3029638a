// The panels' typed queries, answered through the session's guest agent's file calls, so no
// guest process is started (under TCG each costs 70–300 ms): lab_introspect's debugfs files (the
// walk, the task list, /dev's nodes), /proc and /etc/passwd; and, for the host's own re-walk of a
// page walk, through QEMU's monitor reading guest physical memory.
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type { DriverReport, Mapping, PageWalkResult, ProcessInfo } from './api.ts';
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
import { compareWalks, hex, walkTables, type ReadPhys } from './pagewalk.ts';
import type { LabSession } from './session.ts';

/** What the queries need of a session (a LabSession; a fake in unit tests). */
export type IntrospectSession = Pick<LabSession, 'monitor' | 'runFolder' | 'agentRequest'>;

export class IntrospectError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'IntrospectError';
  }
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

    async drivers(): Promise<DriverReport> {
      const majors = parseDevices(await readGuestFile(session, '/proc/devices'));
      const loaded = parseModules(await readGuestFile(session, '/proc/modules'));
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
