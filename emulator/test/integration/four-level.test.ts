// A real 4-level machine: the guest booted with LA57 off in its CPU model (as KVM `-cpu host` is on
// most CPUs), walked through the backend's pageWalk query as the page-table panel walks it. The
// p4d is folded into the pgd: the walk has four levels and no p4d of its own, the host's re-walk
// of guest memory agrees, and the frame is /proc/PID/pagemap's, read by the test itself.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { LabApi, LabBackend } from '../../src/api.ts';
import { createBackend } from '../../src/backend.ts';
import { LabSession } from '../../src/session.ts';
import { consoleUntil } from './helpers.ts';

let session: LabSession;
let backend: LabBackend;
let api: LabApi;
let workspace: string;

before(async () => {
  workspace = mkdtempSync(path.join(os.tmpdir(), 'farfetchd-workspace-'));
  session = new LabSession({ workspace, fourLevelPaging: true });
  backend = createBackend({ session, workspace });
  api = backend.connect(() => undefined).api; // as a panel's client calls it
  await session.start();
});

after(async () => {
  await backend?.dispose();
  if (workspace) rmSync(workspace, { recursive: true, force: true });
});

/** pagemap's word for `addr` in `pid`, read as root in the guest (the independent oracle). */
async function pagemapEntry(pid: number, addr: bigint): Promise<bigint> {
  const out = await session.sh(
    `dd if=/proc/${pid}/pagemap bs=8 skip=${addr / 4096n} count=1 2>/dev/null | od -An -tx8 -v`,
  );
  return BigInt(`0x${out.trim()}`);
}

test('the guest runs 4-level paging: no la57 in its CPU flags', async () => {
  assert.equal(await session.sh('grep -c -w la57 /proc/cpuinfo || true'), '0\n');
});

test("a target's page on a 4-level machine: pgd → pud → pmd → pte, verified by the host, pagemap's frame", async () => {
  const seen = consoleUntil(session, /pid: (\d+)\r*\naddr: (0x[0-9a-f]+)\r*\n/);
  session.writeConsole('mmap\n');
  const [, pidText, addrText] = /pid: (\d+)\r*\naddr: (0x[0-9a-f]+)\r*\n/.exec(await seen)!;
  const pid = Number(pidText);
  const addr = BigInt(addrText!);

  const result = await api.pageWalk(pid, addrText!);
  assert.equal(result.guest.levels, 4);
  assert.deepEqual(
    result.guest.walk.map((l) => l.level),
    ['pgd', 'pud', 'pmd', 'pte'],
    'the p4d is folded: no level of its own',
  );
  // With 4 levels the pgd indexes bits 39..47, the pud 30..38.
  assert.deepEqual(
    result.guest.walk.map((l) => l.index),
    [39, 30, 21, 12].map((shift) => Number((addr >> BigInt(shift)) & 0x1ffn)),
  );
  assert.equal(result.guest.present, true);
  assert.equal(result.guest.stop, null);
  assert.equal(result.guest.pageSize, 4096);

  assert.deepEqual(
    [result.host.verified, result.host.disagreeAt, result.host.difference],
    [true, null, null],
  );
  assert.equal(result.host.walk.levels, 4);
  assert.deepEqual(result.host.walk.walk, result.guest.walk);

  const entry = await pagemapEntry(pid, addr);
  assert.equal(entry >> 63n, 1n, `pagemap says ${addrText} is not present`);
  const frame = (entry & ((1n << 55n) - 1n)) << 12n;
  assert.equal(BigInt(result.guest.phys!), frame | (addr & 0xfffn));
  assert.deepEqual([result.pagemap.frame, result.pagemap.agrees], [`0x${frame.toString(16)}`, true]);

  // An address in an empty top-level slot (index 32: bits 39..47 of 0x100000000000, far below
  // the program and its libraries at 0x55…/0x7f…): the walk stops at the pgd, never at an
  // invented p4d, and the host stops at the same entry.
  const empty = await api.pageWalk(pid, '0x100000000000');
  assert.deepEqual(
    empty.guest.walk.map((l) => [l.level, l.index, l.flags.P]),
    [['pgd', 32, false]],
  );
  assert.equal(empty.guest.stop, 'not present at pgd');
  assert.deepEqual([empty.host.verified, empty.host.walk.stop], [true, 'not present at pgd']);
  assert.deepEqual([empty.pagemap.present, empty.pagemap.agrees], [false, null]);

  session.writeConsole('\n'); // the target ends on a newline
});
