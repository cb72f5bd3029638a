import assert from 'node:assert/strict';
import { test } from 'node:test';
import { imageBuildTimes } from '../../src/bench-image.ts';
import type { ImageManifest } from '../../src/image.ts';
import { fakeImage } from './fake-process.ts';

const manifest = fakeImage.manifest;
const buildSeconds = { kernel: 578, kernelDebug: 707, rootfs: 56, image: 33 };

test('the image build: both kernels + rootfs + image, and without the debug kernel; ccache per kernel', () => {
  assert.deepEqual(
    imageBuildTimes({ ...manifest, buildSeconds, kernelCcacheHits: { kernel: 0, kernelDebug: 125 } }),
    { all: 1374, labOnly: 667, ccacheHits: { kernel: 0, kernelDebug: 125 } },
  );
  // A kernel built before its hits were counted: the times stand, its hits are unknown.
  assert.deepEqual(
    imageBuildTimes({ ...manifest, buildSeconds, kernelCcacheHits: { kernel: null, kernelDebug: 3 } }),
    { all: 1374, labOnly: 667, ccacheHits: { kernel: null, kernelDebug: 3 } },
  );
  assert.deepEqual(imageBuildTimes({ ...manifest, buildSeconds }), {
    all: 1374,
    labOnly: 667,
    ccacheHits: { kernel: null, kernelDebug: null },
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
  // A manifest is JSON read without a schema: a field that is missing or not a number counts as unrecorded.
  const odd = {
    ...manifest,
    buildSeconds: { kernel: 578, kernelDebug: '707', image: 33 },
  } as unknown as ImageManifest;
  assert.equal(
    imageBuildTimes(odd),
    'no build time recorded for kernelDebug, rootfs: cached from a build before times were kept (`npx farfetchd-lab image --rebuild` records them)',
  );
});
