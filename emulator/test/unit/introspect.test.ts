// The panels' queries against a fake session: every query through the agent's file calls (no
// guest process; resolveKernelAddress aside, which runs faddr2line), xp output read back as memory,
// the host's re-walk compared with the guest's.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GuestModule } from '../../src/api.ts';
import { PTWALK_FILE } from '../../src/guest-files.ts';
import { DEVNODES_FILE, TASKS_FILE } from '../../src/guest-listings.ts';
import { createIntrospect, parseXp, xpReader, type IntrospectSession } from '../../src/introspect.ts';

const WALK =
  '{"pid":9,"addr":"0x1000","levels":4,"pgdPhys":"0x10000","walk":[' +
  '{"level":"pgd","index":0,"entryPhys":"0x10000","raw":"0x11067","flags":{},"nextPhys":"0x11000"},' +
  '{"level":"pud","index":0,"entryPhys":"0x11000","raw":"0x12067","flags":{},"nextPhys":"0x12000"},' +
  '{"level":"pmd","index":0,"entryPhys":"0x12000","raw":"0x13067","flags":{},"nextPhys":"0x13000"},' +
  '{"level":"pte","index":1,"entryPhys":"0x13008","raw":"0x8000000000abc067","flags":{},"nextPhys":null}],' +
  '"present":true,"phys":"0xabc000","pageSize":4096,"stop":null}\n';

/**
 * A guest agent's file calls: lab_introspect's ptwalk file (a write asks, a read answers), a
 * pagemap (seek, read 8 bytes) and plain files (a maps file unless `files` says otherwise);
 * `refuse` fails the walk's write, `missing` files cannot be opened.
 */
function fakeSession(
  memory: Map<bigint, bigint>,
  opts: {
    walk?: string;
    refuse?: string;
    files?: Record<string, string>;
    /** What the session's module view says of the farfetch modules. */
    view?: GuestModule[];
    /** Paths the agent cannot open (the module not loaded). */
    missing?: string[];
    /** What the one guest process (resolveKernelAddress's faddr2line) prints. */
    stdout?: string;
  } = {},
) {
  const runs: string[][] = [];
  const monitor: string[] = [];
  const agent: string[] = [];
  const open = new Map<number, { path: string; offset: number }>();
  let next = 1;
  const pagemap = Buffer.alloc(0x10 * 8);
  pagemap.writeBigUInt64LE(0x8100_0000_0000_0abcn, 8); // the page of 0x1000
  const session: IntrospectSession = {
    modules: { current: async () => opts.view ?? null },
    runFolder: undefined,
    runAfterOops: async (file, args) => {
      runs.push([file, ...args]);
      return { exitCode: 0, stdout: Buffer.from(opts.stdout ?? ''), stderr: Buffer.alloc(0) };
    },
    agentRequest: async <T>(command: string, args: Record<string, unknown>): Promise<T> => {
      const file = open.get(args.handle as number);
      agent.push(file ? `${command} ${file.path}` : `${command} ${String(args.path)}`);
      const reply = (value: unknown) => value as T;
      if (command === 'guest-file-open') {
        if (opts.missing?.includes(args.path as string))
          throw new Error(
            `failed to open file '${String(args.path)}' (mode: 'r'): No such file or directory`,
          );
        open.set(next, { path: args.path as string, offset: 0 });
        return reply(next++);
      }
      if (command === 'guest-file-close') return reply({});
      if (command === 'guest-file-seek') {
        file!.offset = args.offset as number;
        return reply({ position: file!.offset, eof: false });
      }
      if (command === 'guest-file-write') {
        assert.equal(Buffer.from(args['buf-b64'] as string, 'base64').toString(), '9 0x1000\n');
        if (opts.refuse) throw new Error(`failed to write to file: ${opts.refuse}`);
        return reply({ count: 9, eof: false });
      }
      const content =
        file!.path === PTWALK_FILE
          ? Buffer.from(opts.walk ?? WALK)
          : file!.path === '/proc/9/pagemap'
            ? pagemap
            : Buffer.from(opts.files?.[file!.path] ?? '00001000-00002000 rw-p 00000000 00:00 0 \n');
      const bytes = content.subarray(file!.offset, file!.offset + (args.count as number));
      file!.offset += bytes.length;
      return reply({ count: bytes.length, 'buf-b64': bytes.toString('base64'), eof: bytes.length === 0 });
    },
    monitor: async (command) => {
      monitor.push(command);
      const m = /^xp \/(\d+)gx (0x[0-9a-f]+)$/.exec(command)!;
      const addr = BigInt(m[2]!);
      const words = Array.from({ length: Number(m[1]) }, (_, i) => memory.get(addr + BigInt(i * 8)) ?? 0n);
      return `${addr.toString(16).padStart(16, '0')}: ${words.map((w) => `0x${w.toString(16).padStart(16, '0')}`).join(' ')}\r\n`;
    },
  };
  return { session, monitor, agent, runs };
}

const MEMORY = new Map([
  [0x10000n, 0x11067n],
  [0x11000n, 0x12067n],
  [0x12000n, 0x13067n],
  [0x13008n, 0x8000_0000_00ab_c067n],
]);

test('xp output is read as little-endian memory, word by word', async () => {
  assert.deepEqual(parseXp('0000000000010000: 0x0000000000011067 0x00000000000000ff\r\n'), [0x11067n, 0xffn]);
  const { session, monitor } = fakeSession(MEMORY);
  const bytes = await xpReader(session)(0x10000n, 8);
  assert.deepEqual([...bytes], [0x67, 0x10, 0x01, 0, 0, 0, 0, 0]);
  assert.deepEqual(monitor, ['xp /1gx 0x10000']);
});

test('pageWalk: no guest process, the debugfs file and pagemap through the agent, verified by the host', async () => {
  const { session, monitor, agent } = fakeSession(MEMORY);
  const r = await createIntrospect(session).pageWalk(9, '0x1000');
  assert.deepEqual(agent, [
    `guest-file-open ${PTWALK_FILE}`,
    `guest-file-write ${PTWALK_FILE}`,
    `guest-file-read ${PTWALK_FILE}`,
    `guest-file-close ${PTWALK_FILE}`,
    'guest-file-open /proc/9/pagemap',
    'guest-file-seek /proc/9/pagemap',
    'guest-file-read /proc/9/pagemap',
    'guest-file-close /proc/9/pagemap',
  ]);
  assert.deepEqual(monitor, ['xp /1gx 0x10000', 'xp /1gx 0x11000', 'xp /1gx 0x12000', 'xp /1gx 0x13008']);
  assert.deepEqual([r.host.verified, r.host.disagreeAt, r.host.method], [true, null, 'QMP xp']);
  assert.deepEqual(r.pagemap, {
    entry: '0x8100000000000abc',
    present: true,
    frame: '0xabc000',
    agrees: true,
  });
  assert.deepEqual(await createIntrospect(session).mappings(9), [
    {
      start: '0x00001000',
      end: '0x00002000',
      perms: 'rw-p',
      offset: '0x00000000',
      dev: '00:00',
      inode: 0,
      name: '',
    },
  ]);
});

test('pageWalk: a table the guest reported differently is where the host disagrees', async () => {
  const memory = new Map(MEMORY);
  memory.set(0x12000n, 0x14067n); // the pmd now points elsewhere
  const { session } = fakeSession(memory);
  const r = await createIntrospect(session).pageWalk(9, '0x1000');
  assert.deepEqual([r.host.verified, r.host.disagreeAt], [false, 'pmd']);
  assert.equal(r.host.difference, "entry 0x13067 in the guest's walk, 0x14067 in guest memory");
});

test("a refused walk is one line in lab-ptwalk's words", async () => {
  for (const [errno, message] of [
    ['No such process', 'lab-ptwalk: no process 9 with an address space'],
    ['Bad address', 'lab-ptwalk: 0x1000 is not a user-space address of process 9'],
  ]) {
    const { session } = fakeSession(MEMORY, { refuse: errno });
    await assert.rejects(createIntrospect(session).pageWalk(9, '0x1000'), { code: 'EGUEST', message });
  }
});

test('drivers: /proc/devices, /proc/modules and the devnodes file read as files, then the chain', async () => {
  const { session, agent } = fakeSession(MEMORY, {
    files: {
      '/proc/devices': 'Character devices:\n  1 mem\n246 farfetch\n\nBlock devices:\n254 virtblk\n',
      '/proc/modules': 'farfetch_p3 16384 0 - Live 0xffffffffc0200000 (O)\n',
      [DEVNODES_FILE]: 'c 1 1 644 mem\nd 0 0 755 pts\nc 1 3 666 farfetch\nb 254 0 660 vda\n',
    },
    view: [
      { name: 'farfetch_p3', origin: 'student', state: 'Live', ko: '/root/work/farfetch_p3/farfetch_p3.ko' },
    ],
  });
  const r = await createIntrospect(session).drivers();
  // Whose build the module is, from the session's module view.
  assert.deepEqual(r.modules, [
    { name: 'farfetch_p3', size: 16384, refcount: 0, state: 'Live', origin: 'student' },
  ]);
  assert.equal(r.chain[0]!.detail, 'farfetch_p3 (your build, Live) in /proc/modules');
  assert.deepEqual(
    agent.filter((a) => a.startsWith('guest-file-open')),
    ['guest-file-open /proc/devices', 'guest-file-open /proc/modules', `guest-file-open ${DEVNODES_FILE}`],
  );
  assert.equal(r.farfetchMajor, 246);
  assert.deepEqual(
    r.nodes.map((n) => n.path),
    ['/dev/farfetch', '/dev/mem', '/dev/vda'],
  );
  assert.deepEqual(r.fix?.commands, ['rm /dev/farfetch', 'mknod -m 0666 /dev/farfetch c 246 0']);
});

test('processes: the tasks file and /etc/passwd read as files, no guest process', async () => {
  const { session, agent } = fakeSession(MEMORY, {
    files: {
      [TASKS_FILE]: '1 0 0 1 lab-init\n2 0 0 0 kthreadd\n212 1 1000 1 mmap\n',
      '/etc/passwd': 'root:x:0:0:root:/root:/bin/bash\nstudent:x:1000:1000::/home/student:/bin/bash\n',
    },
  });
  assert.deepEqual(await createIntrospect(session).processes(), [
    { pid: 212, user: 'student', command: 'mmap', target: true },
    { pid: 1, user: 'root', command: 'lab-init', target: false },
  ]);
  assert.deepEqual(
    agent.filter((a) => a.startsWith('guest-file-open')),
    [`guest-file-open ${TASKS_FILE}`, 'guest-file-open /etc/passwd'],
  );
});

test('a listing without lab_introspect says how to load it', async () => {
  const { session } = fakeSession(MEMORY, { missing: [TASKS_FILE] });
  await assert.rejects(createIntrospect(session).processes(), {
    code: 'EGUEST',
    message: 'lab_introspect is not loaded: modprobe lab_introspect',
  });
});

test("resolveKernelAddress: one fixed script, module and offset (without the length) as its arguments, run even after an oops; faddr2line's line read", async () => {
  const stdout =
    '/root/lab_crash/lab_crash.ko\nnull_write+0x5/0x12:\nnull_write at /root/lab_crash/lab_crash.c:24\n';
  const { session, runs } = fakeSession(MEMORY, { stdout });
  assert.deepEqual(await createIntrospect(session).resolveKernelAddress('lab_crash', 'null_write+0x5/0x20'), {
    function: 'null_write',
    file: '/root/lab_crash/lab_crash.c',
    line: 24,
    ko: '/root/lab_crash/lab_crash.ko',
  });
  assert.equal(runs.length, 1);
  const [file, dashC, script, ...args] = runs[0]!;
  assert.deepEqual([file, dashC, args], ['/bin/sh', '-c', ['lab-query', 'lab_crash', 'null_write+0x5']]);
  assert.match(script!, /scripts\/faddr2line/);
  assert.doesNotMatch(
    script!,
    /lab_crash|null_write/,
    'the parameters are arguments, never text in the script',
  );
});

test("resolveKernelAddress: no debug info is no line; faddr2line's other non-answers are its own words", async () => {
  const ko = '/lib/modules/6.12.117-farfetch/extra/farfetch_p3.ko\n';
  const none = fakeSession(MEMORY, { stdout: `${ko}far_read+0x9/0x40:\nfar_read at ??:0\n` });
  assert.equal(
    await createIntrospect(none.session).resolveKernelAddress('farfetch_p3', 'far_read+0x9'),
    null,
  );
  const other = fakeSession(MEMORY, { stdout: `${ko}no match for far_read+0x99\n` });
  await assert.rejects(createIntrospect(other.session).resolveKernelAddress('farfetch_p3', 'far_read+0x99'), {
    code: 'EGUEST',
    message: 'no match for far_read+0x99',
  });
});
