#!/usr/bin/env node
// Bundles Electron's main process and preload (TypeScript) into electron/dist/*.cjs with esbuild,
// which tsx already brings. Electron itself and the native node-pty stay external.
import { build } from 'esbuild';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// The library finds the repository from import.meta.url; in a CommonJS bundle that is the bundle's
// own file (electron/dist/main.cjs, two levels below the root, as emulator/src/image.ts is).
const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
};
await build({
  ...common,
  entryPoints: [path.join(repo, 'electron', 'main.ts')],
  outfile: path.join(repo, 'electron', 'dist', 'main.cjs'),
  external: ['electron', 'node-pty'],
  define: { 'import.meta.url': '__bundleUrl' },
  banner: { js: "const __bundleUrl = require('node:url').pathToFileURL(__filename).href;" },
});
// The sandboxed preload may require only 'electron' (no Node modules at all): everything else is
// bundled in, and the build fails if anything else would be required.
const preload = await build({
  ...common,
  entryPoints: [path.join(repo, 'electron', 'preload.ts')],
  outfile: path.join(repo, 'electron', 'dist', 'preload.cjs'),
  external: ['electron'],
  metafile: true,
});
const imports = Object.values(preload.metafile.outputs).flatMap((o) => o.imports.map((i) => i.path));
const foreign = imports.filter((name) => name !== 'electron');
if (foreign.length) {
  process.stderr.write(`build-electron: the sandboxed preload would require ${foreign.join(', ')}\n`);
  process.exit(1);
}
