// The page-table panel's wording: the text export, the diff of two walks, the verdicts, and the
// terminal's address links.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LabApi } from '../../emulator/src/api.ts';
import { usePageTables } from '../src/composables/usePageTables.ts';
import {
  diffWalks,
  findHexLinks,
  nearestPid,
  pagemapText,
  pageSizeText,
  verificationText,
  walkToText,
} from '../src/composables/walkView.ts';
import { tables, walkResult } from './walk-fixture.ts';

test('a walk as text for a lab report: every level, the frame and both checks', async () => {
  const text = walkToText(await walkResult());
  assert.equal(
    text,
    [
      'Page walk of 0x30281c120babc in pid 212 (5-level paging), 2026-12-01T08:30:00.000Z',
      'pgd physical address (CR3): 0x1000',
      'address: PGD 3 (bits 56..48) | P4D 5 (bits 47..39) | PUD 7 (bits 38..30) | PMD 9 (bits 29..21) | PTE 11 (bits 20..12) | offset 0xabc (bits 11..0)',
      'PGD [  3] entry at 0x1018 = 0x2067  P RW US A D -> table 0x2000',
      'P4D [  5] entry at 0x2028 = 0x3067  P RW US A D -> table 0x3000',
      'PUD [  7] entry at 0x3038 = 0x4067  P RW US A D -> table 0x4000',
      'PMD [  9] entry at 0x4048 = 0x5067  P RW US A D -> table 0x5000',
      'PTE [ 11] entry at 0x5058 = 0x8000000123456025  P US A NX',
      'Physical address 0x123456abc (4 KiB page)',
      'Host re-walk (QMP xp): verified by the host',
      "pagemap: frame 0x123456000, the same as the walk's",
      '',
    ].join('\n'),
  );
});

test('a re-walk after a write: the new frame, the D bit and the pte are what changed', async () => {
  const before = await walkResult();
  const after = await walkResult(tables((1n << 63n) | 0x7_7777_7000n | 0x67n));
  const diff = diffWalks(before, after);
  assert.deepEqual(Object.keys(diff.levels), ['pte']);
  assert.deepEqual(diff.levels.pte, {
    raw: { before: '0x8000000123456025', after: '0x8000000777777067' },
    bits: ['+RW', '+D'],
  });
  assert.deepEqual(diff.phys, { before: '0x123456abc', after: '0x777777abc' });
  const unmapped = await walkResult(new Map([...tables()].filter(([a]) => a !== 0x5058n)));
  assert.deepEqual(diffWalks(before, unmapped).levels.pte?.bits, ['−P', '−US', '−A', '−NX']);
  assert.deepEqual(diffWalks(before, before), { levels: {}, phys: null });
});

test('the verdicts are said as they are, a disagreement or a pagemap mismatch never hidden', async () => {
  const r = await walkResult();
  assert.equal(verificationText(r), 'verified by the host');
  const bad = {
    ...r,
    host: { ...r.host, verified: false, disagreeAt: 'pmd' as const, difference: 'entry 0x1 in the guest' },
  };
  assert.equal(verificationText(bad), 'the host disagrees at PMD: entry 0x1 in the guest');
  const mismatch = { ...r, pagemap: { ...r.pagemap, frame: '0x5000', agrees: false } };
  assert.equal(
    pagemapText(mismatch),
    'pagemap MISMATCH: pagemap says frame 0x5000 (entry 0x8100000000123456), the walk 0x123456abc',
  );
  assert.equal(pageSizeText(2 ** 21), '2 MiB page');
  assert.equal(pageSizeText(2 ** 30), '1 GiB page');
});

test('hex addresses in the terminal become links, opened with the pid printed nearest', () => {
  assert.deepEqual(findHexLinks('addr: 0x7fbe075ed000'), [{ start: 6, length: 14, addr: '0x7fbe075ed000' }]);
  assert.deepEqual(findHexLinks('# change it with: farfetchd 64 0x7FBE075ED000 20, not x0x1234 or 0x12'), [
    { start: 31, length: 14, addr: '0x7fbe075ed000' },
  ]);
  const lines = ['pid: 10', 'addr: 0x1000', '', 'parent: 11', 'pid: 12', 'addr: 0x2000', 'junk'];
  assert.equal(nearestPid(lines, 1), 10);
  assert.equal(nearestPid(lines, 5), 12);
  assert.equal(nearestPid(lines, 6), 12);
  assert.equal(nearestPid(['addr: 0x1000'], 0), null);
});

test('the panel store: typed input checked first, a re-walk keeps the one before for the diff', async () => {
  const first = await walkResult();
  const second = await walkResult(tables((1n << 63n) | 0x7_7777_7000n | 0x67n));
  const asked: [number, string][] = [];
  const answers = [first, second];
  const api = {
    pageWalk: async (pid: number, addr: string) => {
      asked.push([pid, addr]);
      return answers.shift()!;
    },
    mappings: async () => [],
    processes: async () => [{ pid: 212, user: 'root', command: 'mmap', target: true }],
  } as unknown as LabApi;
  const tablesStore = usePageTables(api);
  tablesStore.state.pidText = 'abc';
  tablesStore.state.addrText = '0x1000';
  await tablesStore.walk();
  assert.equal(tablesStore.state.error, '"abc" is not a pid: type a process number, e.g. 212');
  assert.deepEqual(asked, []);
  await tablesStore.open(212, '0x30281C120BABC');
  assert.deepEqual(asked, [[212, '0x30281c120babc']]);
  assert.deepEqual(tablesStore.state.result, first);
  assert.equal(tablesStore.state.previous, null);
  assert.deepEqual(
    tablesStore.state.processes.map((p) => p.pid),
    [212],
  );
  await tablesStore.rewalk();
  assert.deepEqual(asked[1], [212, '0x30281c120babc']);
  assert.deepEqual(tablesStore.state.result, second);
  assert.deepEqual(tablesStore.state.previous, first);
  assert.match(tablesStore.exportText(), /^Page walk of 0x30281c120babc in pid 212/);
  assert.equal(JSON.parse(tablesStore.exportJson()).guest.phys, '0x777777abc');
});
