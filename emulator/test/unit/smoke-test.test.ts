// The packaged app's --smoke-test logic (emulator/src/smoke-test.ts) with a fake session, and the
// bundled image's check (image-verify.ts) against real copies of the image's files, one of them
// corrupted: a one-line error with the fix, never a boot.
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { formatSums, parseSums, verifyImage, writeImageSums } from '../../src/image-verify.ts';
import { runSmokeTest, type SmokeSession } from '../../src/smoke-test.ts';

let image: string;

/** A small image folder of the real layout (the files' contents do not matter to the checks). */
async function makeImage(kernelRelease = '6.12.117-farfetch'): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'smoke-image-'));
  const manifest = { key: 'abc', kernelRelease, kernel: 'bzImage', disk: 'rootfs.qcow2' };
  await writeFile(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
  await writeFile(path.join(dir, 'bzImage'), Buffer.alloc(4096, 1));
  await writeFile(path.join(dir, 'rootfs.qcow2'), Buffer.alloc(65536, 2));
  await writeImageSums(dir);
  return dir;
}

before(async () => {
  image = await makeImage();
});

after(async () => {
  await rm(image, { recursive: true, force: true });
});

function fakeSession(opts: { release?: string; exitCode?: number; startError?: Error } = {}) {
  const calls: string[] = [];
  const session: SmokeSession = {
    start: async () => {
      calls.push('start');
      if (opts.startError) throw opts.startError;
    },
    run: async (file, args) => {
      calls.push(`run ${file} ${args.join(' ')}`);
      return {
        exitCode: opts.exitCode ?? 0,
        stdout: Buffer.from(`${opts.release ?? '6.12.117-farfetch'}\n`),
        stderr: Buffer.alloc(0),
      };
    },
    status: () => ({ accelerator: { accel: 'tcg' } }),
    stop: async () => void calls.push('stop'),
  };
  return { session, calls };
}

async function smoke(session: SmokeSession, dir = image) {
  const lines: string[] = [];
  const code = await runSmokeTest({
    env: { FARFETCHD_LAB_IMAGE: dir },
    log: (line) => lines.push(line),
    createSession: () => session,
  });
  return { code, lines };
}

test('the smoke test passes when the guest runs the kernel the image names, and stops it', async () => {
  const { session, calls } = fakeSession();
  assert.deepEqual(await smoke(session), {
    code: 0,
    lines: ['smoke test: ok: the guest runs 6.12.117-farfetch (accelerator tcg)'],
  });
  assert.deepEqual(calls, ['start', 'run uname -r', 'stop']);
});

test('another kernel, a failed uname or a failed boot: exit 1, one line, the guest stopped', async () => {
  const other = fakeSession({ release: '6.1.0-13-amd64' });
  assert.deepEqual(await smoke(other.session), {
    code: 1,
    lines: [
      'smoke test: failed: uname -r in the guest gave "6.1.0-13-amd64" (exit 0), expected 6.12.117-farfetch',
    ],
  });
  assert.deepEqual(other.calls, ['start', 'run uname -r', 'stop']);
  const failing = fakeSession({ exitCode: 127, release: '' });
  assert.equal((await smoke(failing.session)).code, 1);
  const unbootable = fakeSession({ startError: new Error('the guest did not boot: QEMU exited (code 1)') });
  assert.deepEqual(await smoke(unbootable.session), {
    code: 1,
    lines: ['smoke test: failed: the guest did not boot: QEMU exited (code 1)'],
  });
  assert.deepEqual(unbootable.calls, ['start', 'stop']);
});

test('a corrupted or incomplete image is refused before any boot, in one line with the fix', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'smoke-corrupt-'));
  try {
    for (const name of ['manifest.json', 'bzImage', 'rootfs.qcow2', 'SHA256SUMS']) {
      await copyFile(path.join(image, name), path.join(dir, name));
    }
    await verifyImage(dir);
    // A disk cut short (an interrupted copy): damaged.
    await truncate(path.join(dir, 'rootfs.qcow2'), 1000);
    const { session, calls } = fakeSession();
    assert.deepEqual(await smoke(session, dir), {
      code: 1,
      lines: [
        `smoke test: failed: the guest image in ${dir} is damaged (rootfs.qcow2 does not match its checksum): reinstall Farfetch'd Lab`,
      ],
    });
    assert.deepEqual(calls, [], 'no boot of a damaged image');
    await unlink(path.join(dir, 'bzImage'));
    await assert.rejects(verifyImage(dir), {
      message: `the guest image in ${dir} is missing bzImage: reinstall Farfetch'd Lab`,
    });
    await unlink(path.join(dir, 'SHA256SUMS'));
    await assert.rejects(verifyImage(dir), {
      message: `the guest image in ${dir} is missing (no SHA256SUMS): reinstall Farfetch'd Lab`,
    });
    await writeFile(path.join(dir, 'SHA256SUMS'), formatSums({ bzImage: 'a'.repeat(64) }));
    await assert.rejects(verifyImage(dir), {
      message: `the guest image in ${dir} is incomplete (SHA256SUMS lacks manifest.json): reinstall Farfetch'd Lab`,
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('SHA256SUMS is the format sha256sum prints and checks', () => {
  const sums = { bzImage: 'ab'.repeat(32), 'rootfs.qcow2': 'cd'.repeat(32) };
  const text = formatSums(sums);
  assert.equal(text, `${'ab'.repeat(32)}  bzImage\n${'cd'.repeat(32)}  rootfs.qcow2\n`);
  assert.deepEqual(parseSums(text), sums);
  assert.throws(() => parseSums('xyz  bzImage\n'), {
    message: 'SHA256SUMS has a line that is not "hash  name": xyz  bzImage',
  });
});
