// An oops in a module, to its source line: the crash module (crash-module/, as in crash-spoof)
// built in the guest with debug info, made to oops, and the RIP line of the kernel's own log
// resolved through the backend's resolveKernelAddress (the Kernel log tab's query) with
// faddr2line on the .ko in the guest. The line must be the store through NULL in lab_crash.c.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { CrashInfo, LabApi, LabBackend } from '../../src/api.ts';
import { createBackend } from '../../src/backend.ts';
import { editCommand, moduleAddressOf } from '../../src/oops-address.ts';
import { LabSession } from '../../src/session.ts';

const moduleDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'crash-module');
const source = readFileSync(path.join(moduleDir, 'lab_crash.c'), 'utf8');
/** The faulting line: the store through the NULL pointer (1-based, as faddr2line counts). */
const faultLine = source.split('\n').indexOf('\t*target = 1;') + 1;
let session: LabSession;
let backend: LabBackend;
let api: LabApi;

before(async () => {
  assert.ok(faultLine > 0, 'lab_crash.c has its store through NULL');
  session = new LabSession({ cols: 160, rows: 40 });
  backend = createBackend({ session, workspace: moduleDir }); // never mounted: the session is given
  api = backend.connect(() => undefined).api;
  await session.start();
});

after(async () => {
  await backend?.dispose();
});

test("an oops in a module built with -g: its RIP line resolves to the faulting line of the module's source", async () => {
  await session.sh('mkdir -p /root/lab_crash');
  for (const file of ['lab_crash.c', 'Makefile']) {
    await session.putFile(`/root/lab_crash/${file}`, readFileSync(path.join(moduleDir, file)), 0o644);
  }
  // KCFLAGS=-g: the kernel is built without debug info, so a module gets it only when asked.
  await session.sh('make -s -C /root/lab_crash KCFLAGS=-g && insmod /root/lab_crash/lab_crash.ko', 600_000);

  const crashed = new Promise<CrashInfo>((resolve) => session.once('crash', resolve));
  session.writeConsole("sh -c 'echo 1 > /sys/kernel/debug/lab_crash/null_write'\n");
  const crash = await crashed;
  assert.equal(crash.kind, 'oops');
  const rip = session.kernelLogTail.split('\n').find((line) => /\] RIP: /.test(line));
  assert.ok(rip, 'the kernel log has the RIP line');
  const where = moduleAddressOf(rip);
  assert.deepEqual(where && { ...where, symbolOffset: where.symbolOffset.replace(/\+.*/, '') }, {
    module: 'lab_crash',
    symbolOffset: 'null_write',
  });

  const location = await api.resolveKernelAddress(where!.module, where!.symbolOffset);
  assert.deepEqual(location, {
    function: 'null_write',
    file: '/root/lab_crash/lab_crash.c',
    line: faultLine,
    ko: '/root/lab_crash/lab_crash.ko',
  });
  assert.equal(editCommand(location!), `nano +${faultLine} /root/lab_crash/lab_crash.c`);

  // A module that is nowhere in the guest: one line saying so.
  await assert.rejects(api.resolveKernelAddress('no_such_mod', 'f+0x1/0x2'), {
    message: 'no no_such_mod.ko under /root or in /lib/modules',
  });
});
