// The panels' queries against a fake session: the fixed guest scripts get the parameters as
// arguments, xp output is read back as memory, the host's re-walk is compared with the guest's.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createIntrospect, parseXp, xpReader, type IntrospectSession } from '../../src/introspect.ts';

const WALK =
  '{"pid":9,"addr":"0x1000","levels":4,"pgdPhys":"0x10000","walk":[' +
  '{"level":"pgd","index":0,"entryPhys":"0x10000","raw":"0x11067","flags":{},"nextPhys":"0x11000"},' +
  '{"level":"pud","index":0,"entryPhys":"0x11000","raw":"0x12067","flags":{},"nextPhys":"0x12000"},' +
  '{"level":"pmd","index":0,"entryPhys":"0x12000","raw":"0x13067","flags":{},"nextPhys":"0x13000"},' +
  '{"level":"pte","index":1,"entryPhys":"0x13008","raw":"0x8000000000abc067","flags":{},"nextPhys":null}],' +
  '"present":true,"phys":"0xabc000","pageSize":4096,"stop":null}\n';

function fakeSession(memory: Map<bigint, bigint>, stdout: string | Buffer, exitCode = 0, stderr = '') {
  const runs: string[][] = [];
  const monitor: string[] = [];
  const session: IntrospectSession = {
    runFolder: undefined,
    run: async (file, args) => {
      runs.push([file, ...args]);
      return {
        exitCode,
        stdout: typeof stdout === 'string' ? Buffer.from(stdout) : stdout,
        stderr: Buffer.from(stderr),
      };
    },
    monitor: async (command) => {
      monitor.push(command);
      const m = /^xp \/(\d+)gx (0x[0-9a-f]+)$/.exec(command)!;
      const addr = BigInt(m[2]!);
      const words = Array.from({ length: Number(m[1]) }, (_, i) => memory.get(addr + BigInt(i * 8)) ?? 0n);
      return `${addr.toString(16).padStart(16, '0')}: ${words.map((w) => `0x${w.toString(16).padStart(16, '0')}`).join(' ')}\r\n`;
    },
  };
  return { session, runs, monitor };
}

/** What the walk's guest command prints: pagemap's 8 raw bytes (little-endian), then the JSON. */
function pagemapThen(json: string): Buffer {
  const entry = Buffer.alloc(8);
  entry.writeBigUInt64LE(0x8100_0000_0000_0abcn);
  return Buffer.concat([entry, Buffer.from(json)]);
}

const MEMORY = new Map([
  [0x10000n, 0x11067n],
  [0x11000n, 0x12067n],
  [0x12000n, 0x13067n],
  [0x13008n, 0x8000_0000_00ab_c067n],
]);

test('xp output is read as little-endian memory, word by word', async () => {
  assert.deepEqual(parseXp('0000000000010000: 0x0000000000011067 0x00000000000000ff\r\n'), [0x11067n, 0xffn]);
  const { session, monitor } = fakeSession(MEMORY, '');
  const bytes = await xpReader(session)(0x10000n, 8);
  assert.deepEqual([...bytes], [0x67, 0x10, 0x01, 0, 0, 0, 0, 0]);
  assert.deepEqual(monitor, ['xp /1gx 0x10000']);
});

test('pageWalk: one guest command with pid and address as arguments, verified by the host walk', async () => {
  const { session, runs, monitor } = fakeSession(MEMORY, pagemapThen(WALK));
  const r = await createIntrospect(session).pageWalk(9, '0x1000');
  assert.deepEqual(runs[0]!.slice(0, 2), ['/bin/sh', '-c']);
  assert.deepEqual(runs[0]!.slice(3), ['lab-query', '9', '0x1000']);
  assert.deepEqual(monitor, ['xp /1gx 0x10000', 'xp /1gx 0x11000', 'xp /1gx 0x12000', 'xp /1gx 0x13008']);
  assert.deepEqual([r.host.verified, r.host.disagreeAt, r.host.method], [true, null, 'QMP xp']);
  assert.deepEqual(r.pagemap, {
    entry: '0x8100000000000abc',
    present: true,
    frame: '0xabc000',
    agrees: true,
  });
});

test('pageWalk: a table the guest reported differently is where the host disagrees', async () => {
  const memory = new Map(MEMORY);
  memory.set(0x12000n, 0x14067n); // the pmd now points elsewhere
  const { session } = fakeSession(memory, pagemapThen(WALK));
  const r = await createIntrospect(session).pageWalk(9, '0x1000');
  assert.deepEqual([r.host.verified, r.host.disagreeAt], [false, 'pmd']);
  assert.equal(r.host.difference, "entry 0x13067 in the guest's walk, 0x14067 in guest memory");
});

test("a failing guest command is one line: lab-ptwalk's own reason", async () => {
  const { session } = fakeSession(MEMORY, '', 1, 'lab-ptwalk: no process 9 with an address space\n');
  await assert.rejects(createIntrospect(session).pageWalk(9, '0x1000'), {
    code: 'EGUEST',
    message: 'lab-ptwalk: no process 9 with an address space',
  });
});

test('drivers: the four parts of one guest command become the report and the chain', async () => {
  const out =
    'Character devices:\n  1 mem\n246 farfetch\n\nBlock devices:\n254 virtblk\n@@\n' +
    'farfetch_p3 16384 0 - Live 0xffffffffc0200000 (O)\n@@\n' +
    'character special file|1|3|644|/dev/mem\ncharacter special file|1|3|666|/dev/farfetch\n@@\n' +
    'character special file|1|3|666|/dev/farfetch\n';
  const { session } = fakeSession(MEMORY, out);
  const r = await createIntrospect(session).drivers();
  assert.equal(r.farfetchMajor, 246);
  assert.deepEqual(
    r.nodes.map((n) => n.path),
    ['/dev/farfetch', '/dev/mem'],
  );
  assert.deepEqual(r.fix?.commands, ['rm /dev/farfetch', 'mknod -m 0666 /dev/farfetch c 246 0']);
});
