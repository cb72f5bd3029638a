// The compiled-ahead CLI (emulator/bin/compiled-cli.js): a bundle is used only for the exact
// bytes it was compiled from; an edit, a new import or a deleted file compiles it again.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
// @ts-expect-error: plain JavaScript (it runs before anything is compiled), no declarations
import { bundleKey, compileBundle, compiledCli, currentBundle } from '../../bin/compiled-cli.js';

type Main = { main: () => string };

/** A repository shaped like this one: emulator/src/cli.ts importing a second file. */
async function fakeRepo(): Promise<string> {
  const repo = await mkdtemp(path.join(os.tmpdir(), 'farfetchd-compiled-cli-'));
  await mkdir(path.join(repo, 'emulator', 'src'), { recursive: true });
  await writeFile(path.join(repo, 'tsconfig.json'), '{"compilerOptions": {"target": "ES2022"}}\n');
  await writeFile(path.join(repo, 'package.json'), '{"type": "module"}\n');
  await writeFile(path.join(repo, 'emulator', 'src', 'word.ts'), "export const word: string = 'one';\n");
  await writeFile(
    path.join(repo, 'emulator', 'src', 'cli.ts'),
    "import { word } from './word.ts';\nexport function main(): string { return word; }\n",
  );
  return repo;
}

async function run(bundle: string): Promise<string> {
  return ((await import(`${bundle}?${Date.now()}`)) as Main).main();
}

test('bundleKey changes with any input byte and with the settings files', () => {
  const files: Record<string, string> = { 'a.ts': 'x', 'tsconfig.json': '{}', 'package.json': '{}' };
  const read = (f: string) => Buffer.from(files[f]!);
  const before = bundleKey(['a.ts'], read);
  assert.equal(bundleKey(['a.ts', 'a.ts'], read), before);
  files['a.ts'] = 'y';
  assert.notEqual(bundleKey(['a.ts'], read), before);
  files['a.ts'] = 'x';
  files['tsconfig.json'] = '{"x":1}';
  assert.notEqual(bundleKey(['a.ts'], read), before);
});

test('a bundle is reused while its sources are unchanged and compiled again after each edit', async (t) => {
  const repo = await fakeRepo();
  t.after(() => rm(repo, { recursive: true, force: true }));
  assert.equal(currentBundle(repo), null);
  const first = (await compiledCli(repo)) as string;
  assert.equal(await run(first), 'one');
  assert.equal(currentBundle(repo), first);

  await writeFile(path.join(repo, 'emulator', 'src', 'word.ts'), "export const word: string = 'two';\n");
  assert.equal(currentBundle(repo), null, 'an edit to an imported file makes the bundle stale');
  const second = (await compiledCli(repo)) as string;
  assert.notEqual(second, first);
  assert.equal(await run(second), 'two');
  assert.deepEqual(
    (await readdir(path.join(repo, 'emulator', 'dist'))).sort(),
    ['cli.json', path.basename(second)].sort(),
    'the older bundle is removed',
  );

  // A new file in the import graph: the importing file changed, and the new one is recorded.
  await writeFile(path.join(repo, 'emulator', 'src', 'more.ts'), "export const more = '+';\n");
  await writeFile(
    path.join(repo, 'emulator', 'src', 'cli.ts'),
    "import { word } from './word.ts';\nimport { more } from './more.ts';\nexport function main(): string { return word + more; }\n",
  );
  const third = (await compiledCli(repo)) as string;
  assert.equal(await run(third), 'two+');
  await writeFile(path.join(repo, 'emulator', 'src', 'more.ts'), "export const more = '!';\n");
  assert.equal(currentBundle(repo), null, 'the new file is one of the inputs');

  await rm(path.join(repo, 'emulator', 'src', 'more.ts'));
  assert.equal(currentBundle(repo), null, 'a deleted input makes the bundle stale');
  await assert.rejects(compileBundle(repo), 'a source that does not compile is an error, not a stale bundle');
});
