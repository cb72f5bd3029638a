// The CLI compiled ahead: emulator/src bundled by esbuild into emulator/dist/cli-<hash>.mjs, so
// that a command does not load tsx and transpile every source again (≈ 0.3 s of each run).
// The bundle is keyed by the exact bytes it was compiled from (every input esbuild read, plus
// tsconfig.json and package.json): any edit, added or deleted import changes the key, and the
// next run compiles again. When esbuild is missing or the folder is not writable, the caller
// runs the sources through tsx, as before.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, renameSync, rmSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Files that change how the sources compile without being imported by them. */
const SETTINGS = ['tsconfig.json', 'package.json'];

/** The key of a bundle compiled from `inputs` (repo-relative paths) whose bytes are `read(path)`. */
export function bundleKey(inputs, read) {
  const hash = createHash('sha256');
  for (const file of [...new Set([...inputs, ...SETTINGS])].sort()) {
    const bytes = read(file);
    hash.update(`${file}\0${bytes.length}\0`).update(bytes);
  }
  return hash.digest('hex').slice(0, 16);
}

function manifestPath(repo) {
  return path.join(repo, 'emulator', 'dist', 'cli.json');
}

/** The bundle for the sources as they are now, or null if they changed since it was compiled. */
export function currentBundle(repo) {
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(manifestPath(repo), 'utf8'));
    const key = bundleKey(manifest.inputs, (file) => readFileSync(path.join(repo, file)));
    if (key !== manifest.key) return null;
  } catch {
    return null; // no manifest yet, or an input is gone: compile again
  }
  return path.join(repo, 'emulator', 'dist', `cli-${manifest.key}.mjs`);
}

/**
 * Compiles emulator/src/cli.ts into a bundle and records what it was compiled from. The key
 * is taken from the bytes esbuild compiled (read by this plugin), not from a second read of the
 * files, so an edit made while compiling is never recorded as compiled.
 */
export async function compileBundle(repo) {
  const { build } = await import('esbuild');
  const compiled = new Map();
  const record = {
    name: 'record-inputs',
    setup(b) {
      b.onLoad({ filter: /\.[cm]?[jt]s$|\.json$/ }, (args) => {
        const bytes = readFileSync(args.path);
        compiled.set(path.relative(repo, args.path), bytes);
        const loader = args.path.endsWith('.json') ? 'json' : args.path.endsWith('ts') ? 'ts' : 'js';
        return { contents: bytes, loader };
      });
    },
  };
  const result = await build({
    absWorkingDir: repo,
    entryPoints: ['emulator/src/cli.ts'],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    tsconfig: path.join(repo, 'tsconfig.json'),
    plugins: [record],
    write: false,
    logLevel: 'silent',
  });
  const key = bundleKey(
    [...compiled.keys()],
    (file) => compiled.get(file) ?? readFileSync(path.join(repo, file)),
  );
  const dist = path.join(repo, 'emulator', 'dist');
  mkdirSync(dist, { recursive: true });
  const bundle = path.join(dist, `cli-${key}.mjs`);
  const tmp = `.${process.pid}-${Date.now()}.tmp`;
  // Bundle first, then the manifest naming it, each renamed into place whole: a run started at
  // the same time sees either the old pair or the new one.
  writeFileSync(bundle + tmp, result.outputFiles[0].contents);
  renameSync(bundle + tmp, bundle);
  const manifest = manifestPath(repo);
  writeFileSync(manifest + tmp, JSON.stringify({ key, inputs: [...compiled.keys()].sort() }) + '\n');
  renameSync(manifest + tmp, manifest);
  for (const old of readdirSync(dist)) {
    // Older bundles go; a run still importing one has read it already.
    if (/^cli-[0-9a-f]{16}\.mjs$/.test(old) && old !== path.basename(bundle)) {
      rmSync(path.join(dist, old), { force: true });
    }
  }
  return bundle;
}

/** The compiled CLI for the sources as they are now, compiled first if needed; null if it cannot be. */
export async function compiledCli(repo) {
  const bundle = currentBundle(repo);
  if (bundle) return bundle;
  try {
    return await compileBundle(repo);
  } catch {
    return null;
  }
}
