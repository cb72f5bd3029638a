// The host-side walker on memory images with hand-built page tables, 5- and 4-level.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PageWalk } from '../../src/api.ts';
import {
  compareWalks,
  decodeFlags,
  effectiveAccess,
  flagNames,
  parseAddress,
  splitAddress,
  walkTables,
  type ReadPhys,
} from '../../src/pagewalk.ts';

/** A sparse guest memory of 8-byte words; unknown memory reads as zero. */
function memory(words: Record<string, bigint>): { read: ReadPhys; reads: bigint[] } {
  const reads: bigint[] = [];
  const map = new Map(Object.entries(words).map(([k, v]) => [BigInt(k), v]));
  const read: ReadPhys = async (addr, len) => {
    reads.push(addr);
    const bytes = new Uint8Array(len);
    new DataView(bytes.buffer).setBigUint64(0, map.get(addr) ?? 0n, true);
    return bytes;
  };
  return { read, reads };
}

const NX = 1n << 63n;
// A 5-level user address: pgd 3, p4d 5, pud 7, pmd 9, pte 11, offset 0xabc.
const ADDR5 = (3n << 48n) | (5n << 39n) | (7n << 30n) | (9n << 21n) | (11n << 12n) | 0xabcn;
const TABLES5 = {
  [String(0x1000 + 3 * 8)]: 0x2000n | 0x67n, // P RW US A D
  [String(0x2000 + 5 * 8)]: 0x3000n | 0x67n,
  [String(0x3000 + 7 * 8)]: 0x4000n | 0x67n,
  [String(0x4000 + 9 * 8)]: 0x5000n | 0x27n,
  [String(0x5000 + 11 * 8)]: NX | 0x1_2345_6000n | 0x80n | 0x25n, // P US A PAT NX, read-only
};

test('the address splits into five 9-bit indices and the 12-bit offset, or four with the p4d folded', () => {
  assert.deepEqual(
    splitAddress(ADDR5, 5).map((p) => [p.level, p.bits, p.value]),
    [
      ['pgd', [56, 48], 3],
      ['p4d', [47, 39], 5],
      ['pud', [38, 30], 7],
      ['pmd', [29, 21], 9],
      ['pte', [20, 12], 11],
      ['offset', [11, 0], 0xabc],
    ],
  );
  assert.deepEqual(
    splitAddress(0x7f12_3456_7abcn, 4).map((p) => [p.level, p.bits, p.value]),
    [
      ['pgd', [47, 39], 0xfe],
      ['pud', [38, 30], 0x48],
      ['pmd', [29, 21], 0x1a2],
      ['pte', [20, 12], 0x167],
      ['offset', [11, 0], 0xabc],
    ],
  );
});

test('bit 7 is PS above the pte and PAT at the pte; NX is bit 63', () => {
  assert.deepEqual(flagNames('pmd'), ['P', 'RW', 'US', 'PWT', 'PCD', 'A', 'D', 'PS', 'G', 'NX']);
  assert.deepEqual(flagNames('pte'), ['P', 'RW', 'US', 'PWT', 'PCD', 'A', 'D', 'PAT', 'G', 'NX']);
  assert.deepEqual(decodeFlags(NX | 0x1a5n, 'pte'), {
    P: true,
    RW: false,
    US: true,
    PWT: false,
    PCD: false,
    A: true,
    D: false,
    PAT: true,
    G: true,
    NX: true,
  });
  assert.equal(decodeFlags(0x80n, 'pud').PS, true);
  assert.equal('PAT' in decodeFlags(0x80n, 'pud'), false);
});

test('a 5-level walk reads one entry per level and ends at the 4 KiB frame', async () => {
  const { read, reads } = memory(TABLES5);
  const walk = await walkTables(read, { pid: 7, addr: ADDR5, pgdPhys: 0x1000n, levels: 5 });
  assert.deepEqual(reads, [0x1018n, 0x2028n, 0x3038n, 0x4048n, 0x5058n]);
  assert.deepEqual(
    walk.walk.map((l) => [l.level, l.index, l.entryPhys, l.nextPhys]),
    [
      ['pgd', 3, '0x1018', '0x2000'],
      ['p4d', 5, '0x2028', '0x3000'],
      ['pud', 7, '0x3038', '0x4000'],
      ['pmd', 9, '0x4048', '0x5000'],
      ['pte', 11, '0x5058', null],
    ],
  );
  assert.equal(walk.walk[4]!.raw, '0x80000001234560a5');
  assert.equal(walk.walk[4]!.flags.PAT, true);
  assert.equal(walk.phys, '0x123456abc');
  assert.equal(walk.pageSize, 4096);
  assert.equal(walk.stop, null);
  assert.equal(walk.present, true);
  assert.deepEqual(effectiveAccess(walk), { writable: false, user: true, executable: false });
});

test('a 4-level walk has no p4d: the pgd indexes bits 39..47', async () => {
  const addr = 0x7f12_3456_7abcn;
  const { read } = memory({
    [String(0x1000 + 0xfe * 8)]: 0x3000n | 0x67n,
    [String(0x3000 + 0x48 * 8)]: 0x4000n | 0x67n,
    [String(0x4000 + 0x1a2 * 8)]: 0x5000n | 0x67n,
    [String(0x5000 + 0x167 * 8)]: 0x9000n | 0x67n,
  });
  const walk = await walkTables(read, { pid: 1, addr, pgdPhys: 0x1000n, levels: 4 });
  assert.deepEqual(
    walk.walk.map((l) => l.level),
    ['pgd', 'pud', 'pmd', 'pte'],
  );
  assert.equal(walk.phys, '0x9abc');
});

test('PS leaves: 2 MiB at the pmd, 1 GiB at the pud; the offset is the rest of the address', async () => {
  const pmdLeaf = memory({ ...TABLES5, [String(0x4000 + 9 * 8)]: 0x4060_0000n | 0xe7n });
  const two = await walkTables(pmdLeaf.read, { pid: 1, addr: ADDR5, pgdPhys: 0x1000n, levels: 5 });
  assert.equal(two.walk.length, 4);
  assert.equal(two.walk[3]!.nextPhys, null);
  assert.equal(two.pageSize, 2 ** 21);
  assert.equal(two.phys, `0x${(0x4060_0000n | (ADDR5 & 0x1f_ffffn)).toString(16)}`);
  const pudLeaf = memory({ ...TABLES5, [String(0x3000 + 7 * 8)]: 0x8000_0000n | 0xe7n });
  const one = await walkTables(pudLeaf.read, { pid: 1, addr: ADDR5, pgdPhys: 0x1000n, levels: 5 });
  assert.equal(one.walk.length, 3);
  assert.equal(one.pageSize, 2 ** 30);
  assert.equal(one.phys, `0x${(0x8000_0000n | (ADDR5 & 0x3fff_ffffn)).toString(16)}`);
});

test('the walk stops where an entry is not present, and at a PS bit where none may be', async () => {
  const missing = memory({ ...TABLES5, [String(0x5000 + 11 * 8)]: 0n });
  const notPresent = await walkTables(missing.read, { pid: 1, addr: ADDR5, pgdPhys: 0x1000n, levels: 5 });
  assert.deepEqual(
    [notPresent.present, notPresent.phys, notPresent.stop],
    [false, null, 'not present at pte'],
  );
  assert.equal(notPresent.walk.length, 5);
  const empty = memory({});
  const top = await walkTables(empty.read, { pid: 1, addr: ADDR5, pgdPhys: 0x1000n, levels: 5 });
  assert.deepEqual([top.walk.length, top.stop], [1, 'not present at pgd']);
  const bad = memory({ ...TABLES5, [String(0x1000 + 3 * 8)]: 0x2000n | 0xe7n });
  const reserved = await walkTables(bad.read, { pid: 1, addr: ADDR5, pgdPhys: 0x1000n, levels: 5 });
  assert.equal(reserved.stop, 'reserved PS bit at pgd');
});

test('two walks agree, or the first level where they differ is named', async () => {
  const { read } = memory(TABLES5);
  const a = await walkTables(read, { pid: 1, addr: ADDR5, pgdPhys: 0x1000n, levels: 5 });
  assert.deepEqual(compareWalks(a, structuredClone(a)), {
    verified: true,
    disagreeAt: null,
    difference: null,
  });
  const changed: PageWalk = structuredClone(a);
  changed.walk[3]!.raw = '0x5067';
  assert.deepEqual(compareWalks(changed, a), {
    verified: false,
    disagreeAt: 'pmd',
    difference: "entry 0x5067 in the guest's walk, 0x5027 in guest memory",
  });
  const shorter: PageWalk = { ...structuredClone(a), walk: a.walk.slice(0, 3) };
  assert.equal(compareWalks(shorter, a).disagreeAt, 'pmd');
  assert.equal(compareWalks({ ...a, levels: 4 }, a).disagreeAt, 'levels');
  assert.equal(compareWalks({ ...a, phys: '0x1' }, a).disagreeAt, 'phys');
});

test('addresses are typed in hex or decimal; anything else gets a reason', () => {
  assert.equal(parseAddress('0x7F00'), 0x7f00n);
  assert.equal(parseAddress(' 4096 '), 4096n);
  assert.equal(parseAddress('0xffffffffffffffff'), (1n << 64n) - 1n);
  assert.equal(
    parseAddress('7f00'),
    '"7f00" is not an address: type it in hex (0x7f12a4c00000) or in decimal',
  );
  assert.equal(parseAddress('18446744073709551616'), '18446744073709551616 is beyond 64 bits');
});
