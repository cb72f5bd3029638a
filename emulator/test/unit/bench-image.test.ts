import assert from 'node:assert/strict';
import { test } from 'node:test';
import { imageBuildTimes } from '../../src/bench-image.ts';
import { fakeImage } from './fake-process.ts';

const manifest = fakeImage.manifest;

test('the clean image build: kernel + rootfs + image, and with the debug kernel; ccache hits summed', () => {
  const buildSeconds = { kernel: 578, kernelDebug: 707, rootfs: 56, image: 33 };
  assert.deepEqual(
    imageBuildTimes({ ...manifest, buildSeconds, kernelCcacheHits: { kernel: 0, kernelDebug: 125 } }),
    { lab: 667, withDebugKernel: 1374, ccacheHits: 125 },
  );
  // A kernel built before its hits were counted: the times stand, the hits are unknown.
  assert.deepEqual(
    imageBuildTimes({ ...manifest, buildSeconds, kernelCcacheHits: { kernel: null, kernelDebug: 3 } }),
    { lab: 667, withDebugKernel: 1374, ccacheHits: null },
  );
  assert.deepEqual(imageBuildTimes({ ...manifest, buildSeconds }), {
    lab: 667,
    withDebugKernel: 1374,
    ccacheHits: null,
  });
});

test('no figure from an image whose stages were not all timed, and the reason says what to do', () => {
  assert.equal(
    imageBuildTimes(manifest),
    'the image manifest has no build times (an image built before they were recorded)',
  );
  assert.equal(
    imageBuildTimes({
      ...manifest,
      buildSeconds: { kernel: 578, kernelDebug: null, rootfs: null, image: 33 },
    }),
    'no build time recorded for kernelDebug, rootfs: cached from a build before times were kept (`npx farfetchd-lab image --rebuild` records them)',
  );
});
