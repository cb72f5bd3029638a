// `npm run image` and `npx farfetchd-lab image`, as the README and docs/guest-image.md show them: with
// the image already built (npm test's set-up builds it) they verify it and print its key and kernel.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { kernelOf, loadImage, repoRoot } from '../../src/image.ts';
import { runCli } from './helpers.ts';

const withoutNpmWarnings = (stderr: string) => stderr.replace(/^npm warn .*\n/gm, '');

function expectedSummary(): RegExp {
  const image = loadImage();
  const m = image.manifest;
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const debug = kernelOf(image, 'debug');
  return new RegExp(
    `^image ${m.key}\\n  kernel ${escape(m.kernelRelease)} \\(${escape(image.kernelPath)}\\)\\n` +
      `  debug kernel ${escape(debug.release)} \\(${escape(debug.path)}\\)\\n` +
      `  disk ${escape(image.diskPath)} \\(qcow2 [\\d.]+ MiB, rootfs \\d+ MiB\\)\\n$`,
  );
}

test('npx farfetchd-lab image verifies the built image and prints its key', async () => {
  const r = await runCli(['image'], { npx: true });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, expectedSummary());
});

test('npm run image does the same', () => {
  const r = spawnSync('npm', ['run', '-s', 'image'], { cwd: repoRoot, encoding: 'utf8' });
  assert.equal(r.status, 0, withoutNpmWarnings(r.stderr));
  assert.match(r.stdout, expectedSummary());
});
