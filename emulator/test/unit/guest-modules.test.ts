// Whose build a loaded farfetch module is: build ids from ELF notes (sysfs's notes file, a .ko's
// note sections), the classification against the reference and the workspace, and the status
// bar's words. Pure; the .ko here is made byte by byte (a real one is read in the integration test).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GuestModule } from '../../src/api.ts';
import {
  buildIdFile,
  classifyModule,
  describeModules,
  elfBuildId,
  isFarfetchModule,
  noteBuildId,
  referenceKo,
  referenceLoaded,
  sameModules,
} from '../../src/guest-modules.ts';

/** One ELF note: namesz, descsz, type, the name and the desc each padded to 4 bytes. */
function note(name: string, type: number, desc: Buffer): Buffer {
  const pad = (b: Buffer) => Buffer.concat([b, Buffer.alloc((4 - (b.length % 4)) % 4)]);
  const head = Buffer.alloc(12);
  head.writeUInt32LE(name.length + 1, 0);
  head.writeUInt32LE(desc.length, 4);
  head.writeUInt32LE(type, 8);
  return Buffer.concat([head, pad(Buffer.from(`${name}\0`, 'latin1')), pad(desc)]);
}

const ID = Buffer.from('752c4e949cee756c3f3471999991ffc3e72409e6', 'hex');
const GNU_PROPERTY = note('GNU', 5, Buffer.alloc(16, 1));
const BUILD_ID = note('GNU', 3, ID);
const LINUX = note('Linux', 3, Buffer.from('6.12.117-farfetch\0\0\0', 'latin1'));

/** A 64-bit little-endian relocatable ELF: the null section, `sections` (type, bytes), and their headers last, as ld writes a .ko. */
function elf(sections: [number, Buffer][]): Buffer {
  const header = Buffer.alloc(64);
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]).copy(header);
  const bodies = Buffer.concat(sections.map(([, b]) => b));
  const shoff = 64 + bodies.length;
  header.writeBigUInt64LE(BigInt(shoff), 0x28);
  header.writeUInt16LE(64, 0x3a);
  header.writeUInt16LE(sections.length + 1, 0x3c);
  const table = Buffer.alloc(64 * (sections.length + 1));
  let offset = 64;
  sections.forEach(([type, body], i) => {
    const sh = 64 * (i + 1);
    table.writeUInt32LE(type, sh + 4);
    table.writeBigUInt64LE(BigInt(offset), sh + 24);
    table.writeBigUInt64LE(BigInt(body.length), sh + 32);
    offset += body.length;
  });
  return Buffer.concat([header, bodies, table]);
}

test('the build id from a notes file: the GNU note of type 3, not Linux type 3 or another GNU note', () => {
  assert.equal(noteBuildId(BUILD_ID), ID.toString('hex'));
  assert.equal(noteBuildId(Buffer.concat([GNU_PROPERTY, LINUX, BUILD_ID])), ID.toString('hex'));
  assert.equal(noteBuildId(Buffer.concat([GNU_PROPERTY, LINUX])), null);
  assert.equal(noteBuildId(Buffer.alloc(0)), null);
  assert.equal(noteBuildId(BUILD_ID.subarray(0, BUILD_ID.length - 1)), null, 'cut short');
});

test("a .ko's build id: its note sections searched in order; anything else is null", () => {
  const progbits = Buffer.from('not a note, but it holds GNU\0 bytes');
  const ko = elf([
    [1, progbits],
    [7, GNU_PROPERTY],
    [7, BUILD_ID],
    [7, LINUX],
  ]);
  assert.equal(elfBuildId(ko), ID.toString('hex'));
  assert.equal(
    elfBuildId(
      elf([
        [7, GNU_PROPERTY],
        [1, BUILD_ID],
      ]),
    ),
    null,
    'a build id outside a note section',
  );
  assert.equal(
    elfBuildId(ko.subarray(0, ko.length - 64 - 10)),
    null,
    "the build id's section header cut short",
  );
  const big = Buffer.from(ko);
  big[5] = 2;
  assert.equal(elfBuildId(big), null, 'big-endian');
  assert.equal(elfBuildId(Buffer.from('#!/bin/sh\n'.padEnd(80))), null, 'not ELF');
});

test('the guest paths: sysfs notes of a loaded module, the reference .ko of a release', () => {
  assert.equal(buildIdFile('farfetch_p3'), '/sys/module/farfetch_p3/notes/.note.gnu.build-id');
  assert.equal(
    referenceKo('6.12.117-farfetch', 'farfetch_p1'),
    '/lib/modules/6.12.117-farfetch/extra/farfetch_p1.ko',
  );
  assert.deepEqual(['farfetch_p1', 'my_farfetch', 'lab_introspect', 'handout_hook_a'].map(isFarfetchModule), [
    true,
    true,
    false,
    false,
  ]);
});

const LIVE = { name: 'farfetch_p3', size: 16384, refcount: 0, state: 'Live' };
const REF = { ko: '/lib/modules/6.12.117-farfetch/extra/farfetch_p3.ko', buildId: 'aa' };
const WORKSPACE = [
  { ko: '/root/work/farfetch_p1/farfetch_p1.ko', buildId: 'cc' },
  { ko: '/root/work/farfetch_p3/farfetch_p3.ko', buildId: 'bb' },
];

test("classification: the reference's build id is the reference; any other build is the student's", () => {
  assert.deepEqual(
    classifyModule({ module: LIVE, buildId: 'aa', reference: REF, labLoaded: false }, WORKSPACE),
    {
      name: 'farfetch_p3',
      state: 'Live',
      origin: 'reference',
      ko: REF.ko,
    },
  );
  // The workspace's build: which .ko it is.
  assert.deepEqual(
    classifyModule({ module: LIVE, buildId: 'bb', reference: REF, labLoaded: false }, WORKSPACE),
    {
      name: 'farfetch_p3',
      state: 'Live',
      origin: 'student',
      ko: '/root/work/farfetch_p3/farfetch_p3.ko',
    },
  );
  // Rebuilt since it was loaded (or built elsewhere): the student's, from no .ko the lab knows.
  assert.deepEqual(
    classifyModule({ module: LIVE, buildId: 'dd', reference: REF, labLoaded: false }, WORKSPACE),
    {
      name: 'farfetch_p3',
      state: 'Live',
      origin: 'student',
    },
  );
  // The reference's source built in the guest is the same build: the lab's own loading decides.
  const same = [{ ko: '/root/work/farfetch_p3/farfetch_p3.ko', buildId: 'aa' }];
  assert.deepEqual(classifyModule({ module: LIVE, buildId: 'aa', reference: REF, labLoaded: false }, same), {
    name: 'farfetch_p3',
    state: 'Live',
    origin: 'student',
    ko: '/root/work/farfetch_p3/farfetch_p3.ko',
  });
  assert.deepEqual(classifyModule({ module: LIVE, buildId: 'aa', reference: REF, labLoaded: true }, same), {
    name: 'farfetch_p3',
    state: 'Live',
    origin: 'reference',
    ko: REF.ko,
  });
  // A name the image has no reference of, and a module whose build id cannot be read.
  const mine = { ...LIVE, name: 'farfetch' };
  assert.equal(
    classifyModule({ module: mine, buildId: 'aa', reference: null, labLoaded: false }, []).origin,
    'student',
  );
  const loading = { ...LIVE, state: 'Loading' };
  assert.deepEqual(
    classifyModule(
      { module: loading, buildId: null, reference: { ...REF, buildId: null }, labLoaded: false },
      [],
    ),
    {
      name: 'farfetch_p3',
      state: 'Loading',
      origin: 'student',
    },
  );
});

test("the buttons' module from the view, and the status bar's words", () => {
  const ref: GuestModule = { name: 'farfetch_p2', origin: 'reference', state: 'Live' };
  const own: GuestModule = { name: 'farfetch_p3', origin: 'student', state: 'Live' };
  assert.equal(referenceLoaded([]), 'none');
  assert.equal(referenceLoaded([own]), 'none');
  assert.equal(referenceLoaded([own, ref]), 'p2');
  assert.equal(referenceLoaded([{ ...own, name: 'farfetch_p1' }]), 'none');
  assert.equal(describeModules([]), 'none');
  assert.equal(describeModules([ref]), 'p2 (reference)');
  assert.equal(describeModules([own]), 'farfetch_p3 (yours)');
  assert.equal(describeModules([own, ref]), 'farfetch_p3 (yours), p2 (reference)');
  assert.equal(sameModules([own], [{ ...own }]), true);
  assert.equal(sameModules([own], [{ ...own, state: 'Unloading' }]), false);
  assert.equal(sameModules(null, []), false);
});
