// The panels' parsers: lab-ptwalk's JSON, /proc/PID/maps, pagemap entries, /proc/devices,
// /proc/modules, the farfetch chain and the ioctl decoder (the listings: guest-listings.test.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeIoctl, mknodLine, parseDevices, parseModules, registrationChain } from '../../src/drivers.ts';
import { parseMaps, parsePagemap, parseWalkJson } from '../../src/guest-parse.ts';

const flags = (p: boolean) =>
  `{"P":${p},"RW":true,"US":true,"PWT":false,"PCD":false,"A":true,"D":true,"PS":false,"G":false,"NX":false}`;
const level = (name: string, index: number, entry: string, raw: string, next: string | null) =>
  `{"level":"${name}","index":${index},"entryPhys":"${entry}","raw":"${raw}","flags":${flags(true)},"nextPhys":${next ? `"${next}"` : 'null'}}`;
// What lab_introspect prints for a present 4 KiB page (5 levels).
const WALK_JSON =
  '{"pid":212,"addr":"0x7f3a2b1c0000","levels":5,"pgdPhys":"0x2a4c000","walk":[' +
  [
    level('pgd', 0, '0x2a4c000', '0x3b01067', '0x3b01000'),
    level('p4d', 254, '0x3b017f0', '0x3b02067', '0x3b02000'),
    level('pud', 232, '0x3b02740', '0x3b03067', '0x3b03000'),
    level('pmd', 345, '0x3b03ac8', '0x3b04067', '0x3b04000'),
    level('pte', 448, '0x3b04e00', '0x80000000049c60e7', null),
  ].join(',') +
  '],"present":true,"phys":"0x49c6000","pageSize":4096,"stop":null}\n';

test("lab-ptwalk's JSON is checked and its bits named per level (bit 7 at the pte is PAT)", () => {
  const walk = parseWalkJson(WALK_JSON);
  assert.equal(walk.levels, 5);
  assert.deepEqual(
    walk.walk.map((l) => [l.level, l.index]),
    [
      ['pgd', 0],
      ['p4d', 254],
      ['pud', 232],
      ['pmd', 345],
      ['pte', 448],
    ],
  );
  const pte = walk.walk[4]!;
  assert.equal(pte.flags.PAT, true);
  assert.equal(pte.flags.NX, true);
  assert.equal('PS' in pte.flags, false);
  assert.equal(walk.walk[3]!.flags.PS, false);
  assert.deepEqual([walk.present, walk.phys, walk.pageSize, walk.stop], [true, '0x49c6000', 4096, null]);

  const stopped = parseWalkJson(
    '{"pid":1,"addr":"0x0","levels":4,"pgdPhys":"0x1000","walk":[' +
      level('pgd', 0, '0x1000', '0x0', null) +
      '],"present":false,"phys":null,"pageSize":null,"stop":"not present at pgd"}',
  );
  assert.deepEqual(
    [stopped.levels, stopped.present, stopped.stop, stopped.phys],
    [4, false, 'not present at pgd', null],
  );
  assert.throws(() => parseWalkJson(WALK_JSON.replace('"p4d"', '"pud"')), /walk\[1\] is pud, not p4d/);
  assert.throws(() => parseWalkJson('lab-ptwalk: boom'), /lab-ptwalk printed no JSON: lab-ptwalk: boom/);
  assert.throws(() => parseWalkJson(WALK_JSON.replace('"levels":5', '"levels":3')), /levels must be 4 or 5/);
  assert.throws(() => parseWalkJson(WALK_JSON.replace('"0x3b01067"', '"3b01067"')), /walk\[0\].raw is not/);
});

test('/proc/PID/maps becomes a table with permissions and names', () => {
  const maps = parseMaps(
    '55d0c0a00000-55d0c0a01000 r--p 00000000 fe:00 1311   /usr/local/bin/mmap\n' +
      '7f3a2b1c0000-7f3a2b1c1000 rw-p 00000000 00:00 0 \n' +
      '7ffd1e6f0000-7ffd1e711000 rw-p 00000000 00:00 0                          [stack]\n',
  );
  assert.deepEqual(maps[0], {
    start: '0x55d0c0a00000',
    end: '0x55d0c0a01000',
    perms: 'r--p',
    offset: '0x00000000',
    dev: 'fe:00',
    inode: 1311,
    name: '/usr/local/bin/mmap',
  });
  assert.equal(maps[1]!.name, '');
  assert.equal(maps[2]!.name, '[stack]');
  assert.throws(() => parseMaps('garbage'), /not a \/proc\/PID\/maps line: garbage/);
});

test("pagemap's entry: present bit 63, pfn bits 0..54, compared with the walk's frame", () => {
  const walk = parseWalkJson(WALK_JSON);
  assert.deepEqual(parsePagemap(' 81800000000049c6\n', walk), {
    entry: '0x81800000000049c6',
    present: true,
    frame: '0x49c6000',
    agrees: true,
  });
  assert.equal(parsePagemap('81800000000049c7', walk).agrees, false);
  assert.deepEqual(parsePagemap('0000000000000000', { ...walk, phys: null }), {
    entry: '0x0',
    present: false,
    frame: null,
    agrees: null,
  });
  assert.equal(parsePagemap('0000000000000000', walk).agrees, false);
  assert.throws(() => parsePagemap('', walk), /not a pagemap entry/);
});

const DEVICES = 'Character devices:\n  1 mem\n  4 /dev/vc/0\n 246 farfetch\n\nBlock devices:\n254 virtblk\n';
const MODULES =
  'farfetch_p3 16384 0 - Live 0xffffffffc0200000 (O)\nlab_introspect 12288 0 - Live 0xffffffffc0000000 (O)\n';

test('/proc/devices and /proc/modules are parsed', () => {
  assert.deepEqual(parseDevices(DEVICES), [
    { kind: 'char', major: 1, name: 'mem' },
    { kind: 'char', major: 4, name: '/dev/vc/0' },
    { kind: 'char', major: 246, name: 'farfetch' },
    { kind: 'block', major: 254, name: 'virtblk' },
  ]);
  assert.deepEqual(parseModules(MODULES)[0], {
    name: 'farfetch_p3',
    size: 16384,
    refcount: 0,
    state: 'Live',
  });
});

test('the farfetch chain: all ✔, a missing node, a stale node, a wrong mode, no module', () => {
  const majors = parseDevices(DEVICES);
  const modules = parseModules(MODULES);
  const good = { path: '/dev/farfetch', type: 'char', major: 246, minor: 0, mode: '0666' };
  const ok = registrationChain(majors, modules, good);
  assert.deepEqual(
    ok.chain.map((s) => [s.name, s.ok]),
    [
      ['module loaded', true],
      ['major in /proc/devices', true],
      ['/dev/farfetch exists', true],
      ['character node with major 246', true],
      ['mode 0666', true],
    ],
  );
  assert.deepEqual([ok.farfetchMajor, ok.fix], [246, null]);

  const missing = registrationChain(majors, modules, null);
  assert.deepEqual(missing.fix, {
    explanation: '/dev/farfetch is missing: create it',
    commands: ['mknod -m 0666 /dev/farfetch c 246 0'],
  });
  const stale = registrationChain(majors, modules, { ...good, major: 1, minor: 3 });
  assert.deepEqual(
    stale.chain.map((s) => s.ok),
    [true, true, true, false, true],
  );
  assert.equal(
    stale.chain[3]!.detail,
    'stale: c 1:3, but farfetch has major 246 (left from an earlier load?)',
  );
  assert.deepEqual(stale.fix?.commands, ['rm /dev/farfetch', 'mknod -m 0666 /dev/farfetch c 246 0']);
  assert.deepEqual(registrationChain(majors, modules, { ...good, mode: '0600' }).fix?.commands, [
    'chmod 0666 /dev/farfetch',
  ]);
  const none = registrationChain(parseDevices('Character devices:\n  1 mem\n'), [], null);
  assert.deepEqual(
    none.chain.map((s) => s.ok),
    [false, false, false, false, false],
  );
  assert.deepEqual([none.farfetchMajor, none.fix], [null, null]);
  assert.equal(mknodLine(511), 'mknod -m 0666 /dev/farfetch c 511 0');
});

test('ioctl numbers decode into _IOC direction, type, number and size', () => {
  assert.deepEqual(decodeIoctl('0xc0186601'), {
    direction: 'read/write',
    type: 0x66,
    typeChar: 'f',
    nr: 1,
    size: 24,
    macro: "_IOWR('f', 1, 24 bytes)",
  });
  // TCGETS is _IO('T', 1) = 0x5401.
  assert.deepEqual(decodeIoctl('21505'), {
    direction: 'none',
    type: 0x54,
    typeChar: 'T',
    nr: 1,
    size: 0,
    macro: "_IO('T', 1)",
  });
  assert.equal((decodeIoctl('0x40086602') as { direction: string }).direction, 'write');
  assert.equal((decodeIoctl('0x80046603') as { macro: string }).macro, "_IOR('f', 3, 4 bytes)");
  assert.deepEqual(decodeIoctl('0x1ff'), decodeIoctl('511'));
  assert.equal(decodeIoctl('zz'), '"zz" is not a request number: type it in hex (0xc0186601) or decimal');
  assert.equal(decodeIoctl('4294967296'), '4294967296 is beyond 32 bits: ioctl request numbers are 32-bit');
});
