// A page-walk result as the backend returns it, built with the host walker over a hand-built
// memory image (5 levels, a present 4 KiB page), for the renderer's tests.
import type { PageWalkResult } from '../../emulator/src/api.ts';
import { compareWalks, walkTables } from '../../emulator/src/pagewalk.ts';

export const ADDR = (3n << 48n) | (5n << 39n) | (7n << 30n) | (9n << 21n) | (11n << 12n) | 0xabcn;

export function tables(pte = (1n << 63n) | 0x1_2345_6000n | 0x25n): Map<bigint, bigint> {
  return new Map([
    [0x1018n, 0x2067n],
    [0x2028n, 0x3067n],
    [0x3038n, 0x4067n],
    [0x4048n, 0x5067n],
    [0x5058n, pte],
  ]);
}

export async function walkResult(memory = tables()): Promise<PageWalkResult> {
  const walk = await walkTables(
    async (addr) => {
      const bytes = new Uint8Array(8);
      new DataView(bytes.buffer).setBigUint64(0, memory.get(addr) ?? 0n, true);
      return bytes;
    },
    { pid: 212, addr: ADDR, pgdPhys: 0x1000n, levels: 5 },
  );
  const frame = walk.phys === null ? null : `0x${(BigInt(walk.phys) & ~0xfffn).toString(16)}`;
  return {
    guest: walk,
    host: { walk, ...compareWalks(walk, walk), method: 'QMP xp', ms: 3.5 },
    pagemap: {
      entry: '0x8100000000123456',
      present: frame !== null,
      frame,
      agrees: frame === null ? null : true,
    },
    at: '2026-12-01T08:30:00.000Z',
    guestMs: 40,
  };
}
