// What build/electron-builder.yml really packs: electron-builder (from build/package's lockfile,
// under its Node) makes an unpacked Linux build with a stand-in Electron (the real binary cannot
// be downloaded here), and the app.asar it makes holds the bundles `files` names and no source,
// with main.cjs byte for byte the one electron/test/main.test.ts starts under a stand-in Electron,
// and every file the exercise and the grader read at run time (emulator/src/lab-data.ts) where
// the code reads it; the guest is in resources/guest.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { imageDir, repoRoot } from '../../src/image.ts';
import { labDataFiles } from '../../src/lab-data.ts';

const toolchain = path.join(repoRoot, 'build', 'package', 'node_modules');
const node22 = path.join(toolchain, 'node', 'bin', 'node');
const bundles = ['electron/dist/main.cjs', 'electron/dist/preload.cjs', 'renderer/dist/index.html'];
const why = !existsSync(path.join(toolchain, 'electron-builder'))
  ? 'the packaging toolchain is not installed (npm run package:install)'
  : !bundles.every((f) => existsSync(path.join(repoRoot, f)))
    ? 'the bundles are not built (npm run build:renderer && npm run build:electron)'
    : !existsSync(path.join(repoRoot, 'build', 'out', 'image', 'manifest.json'))
      ? 'build/out/image is not there (the package script links it)'
      : false;

test(
  'the --dir build: app.asar holds the bundles, package.json and the lab data only, the guest is in resources',
  { skip: why },
  async () => {
    const fake = mkdtempSync(path.join(os.tmpdir(), 'fake-electron-'));
    const out = mkdtempSync(path.join(os.tmpdir(), 'packaged-'));
    try {
      writeFileSync(path.join(fake, 'electron'), '#!/bin/sh\nexit 0\n');
      chmodSync(path.join(fake, 'electron'), 0o755);
      const built = spawnSync(
        existsSync(node22) ? node22 : process.execPath,
        [
          path.join(toolchain, 'electron-builder', 'cli.js'),
          ...['--linux', '--dir', '--config', 'build/electron-builder.yml', '--publish', 'never'],
          `-c.electronDist=${fake}`,
          `-c.directories.output=${out}`,
        ],
        { cwd: repoRoot, encoding: 'utf8' },
      );
      assert.equal(built.status, 0, built.stdout + built.stderr);
      const resources = path.join(out, 'linux-unpacked', 'resources');
      const asar = createRequire(import.meta.url)(path.join(toolchain, '@electron', 'asar')) as {
        listPackage(file: string, opts: object): string[];
        extractFile(file: string, name: string): Buffer;
      };
      const file = path.join(resources, 'app.asar');
      const entries = asar.listPackage(file, {}).map((e) => e.replace(/\\/g, '/'));
      // What the exercise and the grader read at run time, each where the code reads it
      // (repoRoot is app.asar: main.cjs is two folders below it), byte for byte; and nothing
      // else from those folders.
      const data = await labDataFiles();
      const dataDirs = new Set(
        data.flatMap((f) => f.split('/').map((_, i, all) => `/${all.slice(0, i).join('/')}`)),
      );
      const isData = (e: string) => dataDirs.has(e) || data.includes(e.slice(1));
      assert.deepEqual(
        entries.filter((e) => /^\/(emulator|kernel-module|targets)(\/|$)/.test(e) && !isData(e)),
        [],
        'packed beside the lab data',
      );
      for (const name of data) {
        assert.deepEqual(asar.extractFile(file, name), readFileSync(path.join(repoRoot, name)), name);
      }
      const top = [
        ...new Set(entries.filter((e) => !isData(e)).map((e) => e.split('/').slice(0, 3).join('/'))),
      ].sort();
      assert.deepEqual(top, [
        '/electron',
        '/electron/dist',
        '/node_modules',
        '/node_modules/node-addon-api',
        '/node_modules/node-pty',
        '/package.json',
        '/renderer',
        '/renderer/dist',
      ]);
      assert.deepEqual(
        entries.filter((e) => e.startsWith('/electron/dist/')),
        ['/electron/dist/main.cjs', '/electron/dist/preload.cjs'],
      );
      // No source maps nor sources of our own (node-pty's typings are its business).
      const ours = entries.filter((e) => !e.startsWith('/node_modules/'));
      assert.deepEqual(
        ours.filter((e) => e.endsWith('.map') || e.endsWith('.ts')),
        [],
      );
      assert.deepEqual(
        asar.extractFile(file, 'electron/dist/main.cjs'),
        readFileSync(path.join(repoRoot, 'electron', 'dist', 'main.cjs')),
      );
      assert.equal(
        JSON.parse(asar.extractFile(file, 'package.json').toString()).main,
        'electron/dist/main.cjs',
      );
      // node-pty's native part is outside the archive (asarUnpack), where a process can load it.
      assert.ok(
        existsSync(path.join(resources, 'app.asar.unpacked', 'node_modules', 'node-pty', 'package.json')),
      );
      const image = imageDir(process.env);
      for (const name of ['manifest.json', 'bzImage', 'rootfs.qcow2']) {
        assert.deepEqual(
          readFileSync(path.join(resources, 'guest', name)).subarray(0, 4096),
          readFileSync(path.join(image, name)).subarray(0, 4096),
          name,
        );
      }
    } finally {
      rmSync(fake, { recursive: true, force: true });
      rmSync(out, { recursive: true, force: true });
    }
  },
);
