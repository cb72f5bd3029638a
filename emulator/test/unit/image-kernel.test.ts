// Which bzImage a session boots: the image's own kernel, or the tests' debug kernel beside it.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { kernelOf, type GuestImage, type ImageManifest, type KernelChoice } from '../../src/image.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'farfetchd-image-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function image(manifest: Partial<ImageManifest>): GuestImage {
  return {
    dir,
    kernelPath: path.join(dir, 'bzImage'),
    diskPath: path.join(dir, 'rootfs.qcow2'),
    manifest: { kernelRelease: '6.12.117-farfetch', kernel: 'bzImage', ...manifest } as ImageManifest,
  };
}

test('main is the default kernel: the image bzImage and release', () => {
  const img = image({});
  assert.deepEqual(kernelOf(img), { path: path.join(dir, 'bzImage'), release: '6.12.117-farfetch' });
  assert.deepEqual(kernelOf(img, 'main'), kernelOf(img));
});

test('debug is the manifest debugKernel, with its own release string', () => {
  writeFileSync(path.join(dir, 'bzImage-debug'), '');
  const img = image({ debugKernel: 'bzImage-debug', debugKernelRelease: '6.12.117-farfetch-debug' });
  assert.deepEqual(kernelOf(img, 'debug'), {
    path: path.join(dir, 'bzImage-debug'),
    release: '6.12.117-farfetch-debug',
  });
});

test('an image without a debug kernel says how to get one', () => {
  const message = `the image at ${dir} has no debug kernel: rebuild it with \`npx farfetchd-lab image\` (build/build-guest.sh builds both kernels)`;
  assert.throws(() => kernelOf(image({}), 'debug'), { message });
  // Named in the manifest, but the file is missing.
  assert.throws(
    () => kernelOf(image({ debugKernel: 'gone', debugKernelRelease: '6.12.117-farfetch-debug' }), 'debug'),
    { message },
  );
});

test('an unknown kernel name is a one-line error', () => {
  assert.throws(() => kernelOf(image({}), 'kasan' as KernelChoice), {
    message: "unknown kernel 'kasan': use 'main' or 'debug'",
  });
});
