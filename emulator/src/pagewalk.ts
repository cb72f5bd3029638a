// x86-64 page walks as data: the address split into its indices, entries decoded per level, and
// a walker of its own over a `readPhys` function, so the host can re-walk the guest's tables from
// guest physical memory and compare with what the guest's lab_introspect module reported.
// Pure (no Node imports): the renderer uses the same functions to draw the walk.
import type { HostVerification, PageWalk, WalkLevel, WalkLevelName } from './api.ts';

/** Bits 12..51 of an entry: the physical address of the next table or the 4 KiB frame. */
export const PHYS_MASK = 0x000f_ffff_ffff_f000n;
const PRESENT = 1n;
const PS = 1n << 7n;

/** The address bit where each level's 9-bit index starts (5-level numbering). */
const SHIFT: Record<WalkLevelName, number> = { pgd: 48, p4d: 39, pud: 30, pmd: 21, pte: 12 };

/** The levels a walk visits, top down: with 4 levels the pgd indexes bits 39..47 and the p4d is folded. */
export function levelNames(levels: 4 | 5): WalkLevelName[] {
  return levels === 5 ? ['pgd', 'p4d', 'pud', 'pmd', 'pte'] : ['pgd', 'pud', 'pmd', 'pte'];
}

/** Which address bits index a level's table: [high, low]. */
export function indexBits(level: WalkLevelName, levels: 4 | 5): [number, number] {
  const low = levels === 4 && level === 'pgd' ? SHIFT.p4d : SHIFT[level];
  return [low + 8, low];
}

export interface AddressPart {
  level: WalkLevelName | 'offset';
  /** [high bit, low bit] of the address this part is. */
  bits: [number, number];
  value: number;
}

/** The address split into its 9-bit indices (top down) and its 12-bit page offset. */
export function splitAddress(addr: bigint, levels: 4 | 5): AddressPart[] {
  const parts: AddressPart[] = levelNames(levels).map((level) => {
    const bits = indexBits(level, levels);
    return { level, bits, value: Number((addr >> BigInt(bits[1])) & 0x1ffn) };
  });
  parts.push({ level: 'offset', bits: [11, 0], value: Number(addr & 0xfffn) });
  return parts;
}

/** The bit names of an entry in the order the panel shows them; bit 7 is named per level. */
export function flagNames(level: WalkLevelName): string[] {
  return ['P', 'RW', 'US', 'PWT', 'PCD', 'A', 'D', level === 'pte' ? 'PAT' : 'PS', 'G', 'NX'];
}

const FLAG_BITS: Record<string, bigint> = {
  P: 0n,
  RW: 1n,
  US: 2n,
  PWT: 3n,
  PCD: 4n,
  A: 5n,
  D: 6n,
  PS: 7n,
  PAT: 7n,
  G: 8n,
  NX: 63n,
};

/** An entry's bits, named as the hardware names them at `level`. */
export function decodeFlags(raw: bigint, level: WalkLevelName): Record<string, boolean> {
  const flags: Record<string, boolean> = {};
  for (const name of flagNames(level)) flags[name] = ((raw >> FLAG_BITS[name]!) & 1n) === 1n;
  return flags;
}

export const hex = (value: bigint): string => `0x${value.toString(16)}`;

/**
 * "0x7f12…" or decimal → the address, or a one-line reason it is not one (user addresses are
 * below 2^64; the guest refuses those that are not its process's).
 */
export function parseAddress(text: string): bigint | string {
  const t = text.trim();
  if (!/^(0[xX][0-9a-fA-F]{1,16}|[0-9]{1,20})$/.test(t)) {
    return `"${text}" is not an address: type it in hex (0x7f12a4c00000) or in decimal`;
  }
  const value = BigInt(t);
  return value < 1n << 64n ? value : `${t} is beyond 64 bits`;
}

/** The leaf page sizes: a PS entry at the pud maps 1 GiB, at the pmd 2 MiB. */
const LEAF_SIZE: Partial<Record<WalkLevelName, number>> = { pud: 2 ** 30, pmd: 2 ** 21, pte: 4096 };

/** Reads `len` bytes of guest physical memory at `addr` (little-endian, as the guest stores them). */
export type ReadPhys = (addr: bigint, len: number) => Promise<Uint8Array>;

function u64(bytes: Uint8Array): bigint {
  let value = 0n;
  for (let i = 7; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i] ?? 0);
  return value;
}

/**
 * Walks `addr` the way the MMU does, from the top table at `pgdPhys`, reading one entry per level
 * through `readPhys`. Stops at an entry that is not present, at a PS leaf at the pud or pmd (the
 * page size then says which), or at the pte.
 */
export async function walkTables(
  readPhys: ReadPhys,
  opts: { pid: number; addr: bigint; pgdPhys: bigint; levels: 4 | 5 },
): Promise<PageWalk> {
  const { addr, levels } = opts;
  const walk: WalkLevel[] = [];
  let table = opts.pgdPhys & PHYS_MASK;
  const done = (phys: bigint | null, pageSize: number | null, stop: string | null): PageWalk => ({
    pid: opts.pid,
    addr: hex(addr),
    levels,
    pgdPhys: hex(opts.pgdPhys),
    walk,
    present: phys !== null,
    phys: phys === null ? null : hex(phys),
    pageSize,
    stop,
  });
  for (const level of levelNames(levels)) {
    const [, low] = indexBits(level, levels);
    const index = Number((addr >> BigInt(low)) & 0x1ffn);
    const entryPhys = table + BigInt(index * 8);
    const raw = u64(await readPhys(entryPhys, 8));
    const present = (raw & PRESENT) !== 0n;
    const leafSize = level === 'pte' || (raw & PS) !== 0n ? LEAF_SIZE[level] : undefined;
    const next = present && leafSize === undefined ? raw & PHYS_MASK : null;
    walk.push({
      level,
      index,
      entryPhys: hex(entryPhys),
      raw: hex(raw),
      flags: decodeFlags(raw, level),
      nextPhys: next === null ? null : hex(next),
    });
    if (!present) return done(null, null, `not present at ${level}`);
    if ((raw & PS) !== 0n && level !== 'pte' && leafSize === undefined) {
      return done(null, null, `reserved PS bit at ${level}`);
    }
    if (leafSize !== undefined) {
      const size = BigInt(leafSize);
      return done((raw & PHYS_MASK & ~(size - 1n)) | (addr & (size - 1n)), leafSize, null);
    }
    table = next!;
  }
  throw new Error('unreachable: the pte level always ends the walk');
}

/** Where two walks of the same address first differ, or that they agree. */
export function compareWalks(
  guest: PageWalk,
  host: PageWalk,
): Pick<HostVerification, 'verified' | 'disagreeAt' | 'difference'> {
  const differ = (disagreeAt: HostVerification['disagreeAt'], difference: string) => ({
    verified: false,
    disagreeAt,
    difference,
  });
  if (guest.levels !== host.levels) {
    return differ('levels', `the guest walked ${guest.levels} levels, the host ${host.levels}`);
  }
  const count = Math.max(guest.walk.length, host.walk.length);
  for (let i = 0; i < count; i++) {
    const g = guest.walk[i];
    const h = host.walk[i];
    const level = (g ?? h)!.level;
    if (!g || !h) {
      return differ(level, `${g ? 'only the guest' : 'only the host'} walked on to the ${level}`);
    }
    if (g.level !== h.level) return differ(g.level, `the guest's level ${g.level} is the host's ${h.level}`);
    if (BigInt(g.entryPhys) !== BigInt(h.entryPhys)) {
      return differ(level, `entry at ${g.entryPhys} in the guest's walk, ${h.entryPhys} in the host's`);
    }
    if (BigInt(g.raw) !== BigInt(h.raw)) {
      return differ(level, `entry ${g.raw} in the guest's walk, ${h.raw} in guest memory`);
    }
  }
  if ((guest.phys ?? '') !== (host.phys ?? '')) {
    return differ('phys', `physical address ${guest.phys ?? 'none'} (guest), ${host.phys ?? 'none'} (host)`);
  }
  return { verified: true, disagreeAt: null, difference: null };
}

/** Where the walk leaves a page read-only, user-inaccessible or not executable (all levels count). */
export function effectiveAccess(walk: PageWalk): { writable: boolean; user: boolean; executable: boolean } {
  const all = (flag: string) => walk.walk.every((l) => l.flags[flag]);
  return { writable: all('RW'), user: all('US'), executable: !walk.walk.some((l) => l.flags.NX) };
}
