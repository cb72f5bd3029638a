// The session's view of the guest's farfetch modules, against a fake agent (files by path) and a
// real workspace folder on the host: the reference's build and the student's told apart by build
// id, one read at a time with a late read shared, a read of a machine that has gone dropped.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ModuleView } from '../../src/module-view.ts';

function note(id: string): Buffer {
  const desc = Buffer.from(id, 'hex');
  const head = Buffer.alloc(12);
  head.writeUInt32LE(4, 0);
  head.writeUInt32LE(desc.length, 4);
  head.writeUInt32LE(3, 8);
  return Buffer.concat([head, Buffer.from('GNU\0', 'latin1'), desc]);
}

/** A .ko whose one section is the build id note. */
function ko(id: string): Buffer {
  const body = note(id);
  const header = Buffer.alloc(64);
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]).copy(header);
  header.writeBigUInt64LE(BigInt(64 + body.length), 0x28);
  header.writeUInt16LE(64, 0x3a);
  header.writeUInt16LE(2, 0x3c);
  const table = Buffer.alloc(128);
  table.writeUInt32LE(7, 64 + 4);
  table.writeBigUInt64LE(64n, 64 + 24);
  table.writeBigUInt64LE(BigInt(body.length), 64 + 32);
  return Buffer.concat([header, body, table]);
}

const RELEASE = '6.12.117-farfetch';
const REF_KO = `/lib/modules/${RELEASE}/extra/farfetch_p3.ko`;
const NOTES = '/sys/module/farfetch_p3/notes/.note.gnu.build-id';
const line = (name: string) => `${name} 16384 0 - Live 0xffffffffc0200000 (O)\n`;

function setup() {
  const files = new Map<string, Buffer>([
    ['/proc/modules', Buffer.from('')],
    ['/proc/sys/kernel/osrelease', Buffer.from(`${RELEASE}\n`)],
    [REF_KO, ko('aa11')],
  ]);
  const opened: string[] = [];
  let gate: Promise<void> | null = null;
  let failing = false;
  const handles = new Map<number, { path: string; offset: number }>();
  let next = 1;
  const session = {
    agentRequest: async <T>(command: string, args: Record<string, unknown>): Promise<T> => {
      if (failing) throw new Error('the guest is not running');
      if (command === 'guest-file-open') {
        const file = args.path as string;
        opened.push(file);
        if (gate && file === '/proc/modules') await gate;
        if (!files.has(file)) throw new Error(`failed to open file '${file}': No such file or directory`);
        handles.set(next, { path: file, offset: 0 });
        return next++ as T;
      }
      if (command === 'guest-file-close') return {} as T;
      const h = handles.get(args.handle as number)!;
      const bytes = files.get(h.path)!.subarray(h.offset, h.offset + (args.count as number));
      h.offset += bytes.length;
      return { count: bytes.length, 'buf-b64': bytes.toString('base64'), eof: bytes.length === 0 } as T;
    },
  };
  const workspace = mkdtempSync(path.join(os.tmpdir(), 'module-view-'));
  mkdirSync(path.join(workspace, 'farfetch_p3'));
  let changes = 0;
  const view = new ModuleView(session, { workspace: () => workspace, changed: () => void changes++ });
  return {
    view,
    files,
    opened,
    workspace,
    changes: () => changes,
    hold: () => {
      let release!: () => void;
      gate = new Promise((r) => (release = r));
      return () => {
        gate = null;
        release();
      };
    },
    fail: (on: boolean) => (failing = on),
    dispose: () => rmSync(workspace, { recursive: true }),
  };
}

test('the lab loads the reference: its words at once, then the read confirms it from the build id', async () => {
  const lab = setup();
  try {
    assert.deepEqual(lab.view.status(), { loadedModule: 'none' });
    lab.files.set('/proc/modules', Buffer.from(line('farfetch_p3') + line('lab_introspect')));
    lab.files.set(NOTES, note('aa11'));
    await lab.view.loaded('p3');
    assert.deepEqual(lab.view.status(), {
      loadedModule: 'p3',
      farfetchModules: [{ name: 'farfetch_p3', state: 'Live', origin: 'reference', ko: REF_KO }],
    });
    assert.equal(lab.changes(), 2, 'the belief, then the read');
  } finally {
    lab.dispose();
  }
});

test("the student's insmod from the terminal: their build, the workspace .ko named; no news is no event", async () => {
  const lab = setup();
  try {
    await lab.view.refresh();
    assert.deepEqual(lab.view.status(), { loadedModule: 'none', farfetchModules: [] });
    writeFileSync(path.join(lab.workspace, 'farfetch_p3', 'farfetch_p3.ko'), ko('bb22'));
    lab.files.set('/proc/modules', Buffer.from(line('farfetch_p3')));
    lab.files.set(NOTES, note('bb22'));
    await lab.view.refresh();
    const yours = { name: 'farfetch_p3', state: 'Live', origin: 'student' };
    assert.deepEqual(lab.view.status(), {
      loadedModule: 'none',
      farfetchModules: [{ ...yours, ko: '/root/work/farfetch_p3/farfetch_p3.ko' }],
    });
    const events = lab.changes();
    await lab.view.refresh();
    assert.equal(lab.changes(), events);
    // Rebuilt since: still the student's module, but no longer the .ko in the folder.
    writeFileSync(path.join(lab.workspace, 'farfetch_p3', 'farfetch_p3.ko'), ko('cc33'));
    await lab.view.refresh();
    assert.deepEqual(lab.view.status().farfetchModules, [yours]);
    // The reference .ko was read once on this machine.
    assert.equal(lab.opened.filter((f) => f === REF_KO).length, 1);
  } finally {
    lab.dispose();
  }
});

test("the solution built in the workspace is the reference's build: the lab's own loading decides; an rmmod ends it", async () => {
  const lab = setup();
  try {
    writeFileSync(path.join(lab.workspace, 'farfetch_p3', 'farfetch_p3.ko'), ko('aa11'));
    lab.files.set('/proc/modules', Buffer.from(line('farfetch_p3')));
    lab.files.set(NOTES, note('aa11'));
    await lab.view.loaded('p3');
    assert.equal(lab.view.status().farfetchModules?.[0]?.origin, 'reference', 'the p3 button');
    // rmmod in the terminal, then insmod of the workspace's identical build.
    lab.files.set('/proc/modules', Buffer.from(''));
    await lab.view.refresh();
    lab.files.set('/proc/modules', Buffer.from(line('farfetch_p3')));
    await lab.view.refresh();
    assert.deepEqual(lab.view.status(), {
      loadedModule: 'none',
      farfetchModules: [
        {
          name: 'farfetch_p3',
          state: 'Live',
          origin: 'student',
          ko: '/root/work/farfetch_p3/farfetch_p3.ko',
        },
      ],
    });
  } finally {
    lab.dispose();
  }
});

test('reads queue: one runs, the next waits and is shared; a read of a machine that has gone is dropped', async () => {
  const lab = setup();
  try {
    lab.files.set('/proc/modules', Buffer.from(line('farfetch_p3')));
    lab.files.set(NOTES, note('aa11'));
    const release = lab.hold();
    const first = lab.view.refresh();
    await new Promise((r) => setImmediate(r));
    const second = lab.view.refresh();
    const third = lab.view.refresh();
    assert.equal(second, third, 'asked while one runs: one read after it, shared');
    lab.view.forget(); // the machine went while the first read was in flight
    release();
    await Promise.all([first, second]);
    assert.equal(lab.opened.filter((f) => f === '/proc/modules').length, 2);
    // The first read (of the old machine) was dropped; the second, of the new one, counts.
    assert.equal(lab.view.status().loadedModule, 'p3');
    lab.view.forget();
    assert.deepEqual(lab.view.status(), { loadedModule: 'none' });
  } finally {
    lab.dispose();
  }
});

test('a guest that cannot be read (stopped, crashed) changes nothing and throws nothing', async () => {
  const lab = setup();
  try {
    await lab.view.refresh();
    const before = lab.changes();
    lab.fail(true);
    await lab.view.refresh();
    assert.deepEqual(lab.view.status(), { loadedModule: 'none', farfetchModules: [] });
    assert.equal(lab.changes(), before);
  } finally {
    lab.dispose();
  }
});
