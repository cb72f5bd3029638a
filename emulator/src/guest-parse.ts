// What the page-table panel reads in the guest, turned into typed data: lab-ptwalk's JSON,
// /proc/PID/maps and a /proc/PID/pagemap entry (the process list: guest-listings.ts). Pure; a
// line that is not what it should be is an error that says so (the guest side is ours, so that
// is a lab bug).
import type { Mapping, PagemapCheck, PageWalk, WalkLevel, WalkLevelName } from './api.ts';
import { decodeFlags, hex, levelNames } from './pagewalk.ts';

/** The assignment's targets (targets/Makefile TARGETS), easy to find in the process list. */
export const TARGET_COMMANDS = ['mmap', 'malloc', 'strlit', 'fork', 'twecho', 'bag'] as const;

export class GuestOutputError extends Error {
  readonly code = 'EGUEST';
  override name = 'GuestOutputError';
}

const HEX = /^0x[0-9a-f]{1,16}$/i;

function hexField(value: unknown, name: string): string {
  if (typeof value !== 'string' || !HEX.test(value))
    throw new GuestOutputError(`${name} is not a hex address`);
  return hex(BigInt(value));
}

function optionalHex(value: unknown, name: string): string | null {
  return value === null ? null : hexField(value, name);
}

/**
 * lab-ptwalk's one line of JSON (kernel-module/lab_introspect), checked field by field. The flags
 * are decoded again from the raw entry so that bit 7 is named as the hardware names it at each
 * level (the module calls it PS everywhere).
 */
export function parseWalkJson(text: string): PageWalk {
  let data: Record<string, unknown>;
  try {
    data = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new GuestOutputError(`lab-ptwalk printed no JSON: ${text.trim().slice(0, 120)}`);
  }
  if (typeof data !== 'object' || data === null) throw new GuestOutputError('lab-ptwalk printed no object');
  const levels = data.levels;
  if (levels !== 4 && levels !== 5) throw new GuestOutputError('levels must be 4 or 5');
  if (!Number.isInteger(data.pid)) throw new GuestOutputError('pid is not an integer');
  if (!Array.isArray(data.walk)) throw new GuestOutputError('walk is not a list');
  const expected = levelNames(levels);
  const walk: WalkLevel[] = data.walk.map((item: Record<string, unknown>, i: number) => {
    const level = item.level as WalkLevelName;
    if (level !== expected[i])
      throw new GuestOutputError(`walk[${i}] is ${String(level)}, not ${expected[i]}`);
    const index = item.index;
    if (!Number.isInteger(index) || (index as number) < 0 || (index as number) > 511) {
      throw new GuestOutputError(`walk[${i}].index is not 0..511`);
    }
    const raw = hexField(item.raw, `walk[${i}].raw`);
    return {
      level,
      index: index as number,
      entryPhys: hexField(item.entryPhys, `walk[${i}].entryPhys`),
      raw,
      flags: decodeFlags(BigInt(raw), level),
      nextPhys: optionalHex(item.nextPhys, `walk[${i}].nextPhys`),
    };
  });
  if (walk.length === 0) throw new GuestOutputError('the walk has no level');
  const present = data.present === true;
  const pageSize = data.pageSize;
  if (present && pageSize !== 4096 && pageSize !== 2 ** 21 && pageSize !== 2 ** 30) {
    throw new GuestOutputError('pageSize is not 4 KiB, 2 MiB or 1 GiB');
  }
  return {
    pid: data.pid as number,
    addr: hexField(data.addr, 'addr'),
    levels,
    pgdPhys: hexField(data.pgdPhys, 'pgdPhys'),
    walk,
    present,
    phys: present ? hexField(data.phys, 'phys') : null,
    pageSize: present ? (pageSize as number) : null,
    stop: present ? null : typeof data.stop === 'string' ? data.stop : 'stopped',
  };
}

const MAPS_LINE =
  /^([0-9a-f]+)-([0-9a-f]+) ([r-][w-][x-][ps]) ([0-9a-f]+) ([0-9a-f]+:[0-9a-f]+) (\d+)\s*(.*)$/;

/** /proc/PID/maps as a table (the kernel's format, `show_map_vma`). */
export function parseMaps(text: string): Mapping[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const m = MAPS_LINE.exec(line);
      if (!m) throw new GuestOutputError(`not a /proc/PID/maps line: ${line.slice(0, 120)}`);
      return {
        start: `0x${m[1]}`,
        end: `0x${m[2]}`,
        perms: m[3]!,
        offset: `0x${m[4]}`,
        dev: m[5]!,
        inode: Number(m[6]),
        name: m[7]!,
      };
    });
}

/**
 * One /proc/PID/pagemap entry as `od -An -tx8` prints it (bit 63 present, bits 0..54 the pfn when
 * read as root), compared with the walk's frame.
 */
export function parsePagemap(odLine: string, walk: PageWalk): PagemapCheck {
  const digits = odLine.trim();
  if (!/^[0-9a-f]{16}$/i.test(digits)) throw new GuestOutputError(`not a pagemap entry: "${digits}"`);
  const entry = BigInt(`0x${digits}`);
  const present = (entry >> 63n) & 1n ? true : false;
  const frame = present ? (entry & ((1n << 55n) - 1n)) << 12n : null;
  const walkFrame = walk.phys === null ? null : BigInt(walk.phys) & ~0xfffn;
  return {
    entry: hex(entry),
    present,
    frame: frame === null ? null : hex(frame),
    agrees: frame === null && walkFrame === null ? null : frame === walkFrame,
  };
}
