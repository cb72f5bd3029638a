#!/usr/bin/env node
// Entry point of the `farfetchd-lab` command. The library is TypeScript; a checkout works right
// after `npm install` with no build step: the first run compiles the sources into a bundle
// (compiled-cli.js), and every run after it checks the bundle against the sources' bytes and
// compiles again when they changed. Without esbuild, the sources run through tsx.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileBundle, compiledCli } from './compiled-cli.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

async function loadMain() {
  if (!process.env.FARFETCHD_LAB_NO_BUNDLE) {
    const bundle = await compiledCli(repo);
    if (bundle) {
      // A run at the same time may have replaced it after an edit: compile once more.
      const loaded = await import(bundle).catch(() =>
        compileBundle(repo).then(
          (again) => import(again),
          () => null,
        ),
      );
      if (loaded) return loaded.main;
    }
  }
  const { register } = await import('tsx/esm/api');
  register();
  return (await import('../src/cli.ts')).main;
}

const main = await loadMain();
process.exitCode = await main(process.argv.slice(2));
