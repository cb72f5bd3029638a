// The installers' configuration, checked where the installers cannot be built: the release
// workflow (one pinned Node in every job, every tool from a lockfile, a smoke test per runner,
// checksums), the engines of every locked package against the Node the project says it runs
// on, build/electron-builder.yml against electron-builder's own schema and the paths it names,
// and build/package.js's preconditions.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import semver from 'semver';
import { parse } from 'yaml';
// @ts-expect-error -- plain JavaScript (build/), no types
import { electronVersion, packagingBlocker, parsePackageArgs } from '../../../build/package.js';
import { imageDir, repoRoot } from '../../src/image.ts';
import { labDataFiles } from '../../src/lab-data.ts';

const read = (file: string) => readFileSync(path.join(repoRoot, file), 'utf8');
const json = (file: string) => JSON.parse(read(file)) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const toolchain = path.join(repoRoot, 'build', 'package', 'node_modules');

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
}
interface Job {
  'runs-on': string;
  container?: unknown;
  steps: Step[];
  strategy?: { matrix: { include: Record<string, string>[] } };
}
const workflow = parse(read('.github/workflows/release.yml')) as {
  env: Record<string, string>;
  jobs: Record<string, Job>;
};

test('release workflow: one Node, pinned, set up in every job; no Debian nodejs', () => {
  const node = workflow.env.NODE_VERSION!;
  assert.match(node, /^\d+\.\d+\.\d+$/, 'an exact Node version');
  assert.ok(semver.satisfies(node, json('package.json').engines.node), `${node} vs the lab's engines`);
  assert.ok(semver.satisfies(node, json('build/package/package.json').engines.node), `${node} vs packaging`);
  for (const [name, job] of Object.entries(workflow.jobs)) {
    const setups = job.steps.filter((s) => s.uses?.startsWith('actions/setup-node@'));
    assert.equal(setups.length, 1, `${name}: one actions/setup-node step`);
    assert.equal(setups[0]!.with?.['node-version'], '${{ env.NODE_VERSION }}', name);
    for (const step of job.steps) {
      assert.doesNotMatch(
        step.run ?? '',
        /\bnodejs\b|\bnpm\b.*apt|apt-get install[^\n]*\bnpm\b/,
        `${name}: ${step.run}`,
      );
    }
  }
  // The guest job runs in Debian 12, whose nodejs is Node 18: it must not be installed there.
  assert.ok(workflow.jobs.guest!.container);
});

test('release workflow: every tool from a lockfile (npm ci, npm run), never npx pkg@version', () => {
  for (const [name, job] of Object.entries(workflow.jobs)) {
    for (const step of job.steps) {
      const run = step.run ?? '';
      assert.doesNotMatch(run, /\bnpx\b/, `${name}: ${run}`);
      assert.doesNotMatch(run, /npm (install|i) /, `${name}: ${run}`);
      assert.doesNotMatch(run, /electron-builder@|@electron\/rebuild@/, `${name}: ${run}`);
    }
  }
  const installers = workflow.jobs.installers!.steps.map((s) => s.run ?? '');
  assert.ok(installers.includes('npm ci --no-audit --no-fund'));
  assert.ok(installers.includes('npm run package:install'));
  assert.ok(
    installers.some((r) => r.startsWith('npm run package -- ${{ matrix.target }} --arch ${{ matrix.arch }}')),
  );
  // Exact pins, in package.json and the lockfile alike.
  const pkg = json('build/package/package.json');
  const lock = json('build/package/package-lock.json');
  for (const name of ['electron', 'electron-builder', '@electron/rebuild', 'node']) {
    const pinned = pkg.devDependencies[name] as string;
    assert.match(pinned, /^\d+\.\d+\.\d+$/, `${name} is pinned exactly`);
    assert.equal(lock.packages[`node_modules/${name}`].version, pinned, `${name} in the lockfile`);
  }
});

test('release workflow: installers for Windows, macOS x64 and arm64, Linux; a smoke test and checksums', () => {
  const matrix = workflow.jobs.installers!.strategy!.matrix.include;
  assert.deepEqual(
    matrix.map((m) => `${m.target} ${m.arch} ${m.name}`),
    ['--linux x64 linux-x64', '--mac x64 mac-x64', '--mac arm64 mac-arm64', '--win x64 win-x64'],
  );
  const runs = workflow.jobs.installers!.steps.map((s) => s.run ?? '').join('\n');
  assert.match(runs, /xvfb-run -a dist\/installers\/linux-unpacked\/farfetchd-lab --smoke-test/);
  assert.match(runs, /Contents\/MacOS\/Farfetch'd Lab" --smoke-test/);
  assert.match(runs, /win-unpacked\/farfetchd-lab\.exe --smoke-test/);
  assert.match(runs, /farfetchd-lab-\$\{version\}-\$\{\{ matrix\.name \}\}/);
  // The folders electron-builder.yml takes each OS's QEMU from are made by the workflow.
  assert.match(runs, /mkdir -p build\/qemu\/mac\/bin/);
  assert.match(runs, /New-Item -ItemType Directory -Force build\/qemu\/win\/bin/);
  const sums = workflow.jobs.checksums!.steps.map((s) => s.run ?? '').join('\n');
  assert.match(sums, /sha256sum farfetchd-lab-\* > SHA256SUMS/);
});

test("every locked package's engines accept every Node the project's engines allow", () => {
  for (const [dir, range] of [
    ['', json('package.json').engines.node as string],
    ['build/package/', json('build/package/package.json').engines.node as string],
  ] as const) {
    const lock = json(`${dir}package-lock.json`);
    const refused = Object.entries(lock.packages as Record<string, { engines?: { node?: string } }>)
      .filter(([name, info]) => name !== '' && info.engines?.node && !semver.subset(range, info.engines.node))
      .map(([name, info]) => `${name} wants ${info.engines!.node}`);
    assert.deepEqual(refused, [], `${dir || 'the lab'}: engines ${range}`);
  }
  // This machine's Node is one the lab supports (so `npm ci` prints no EBADENGINE here).
  assert.ok(semver.satisfies(process.version, json('package.json').engines.node), process.version);
  // The lab's own dependencies carry no Electron: it wants Node >= 22.12 (build/package has it).
  assert.equal(json('package.json').devDependencies.electron, undefined);
});

const builderConfig = parse(read('build/electron-builder.yml')) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

test('electron-builder.yml: the Electron pinned by build/package, per-user NSIS, the targets', () => {
  assert.equal(builderConfig.electronVersion, electronVersion());
  assert.equal(builderConfig.electronVersion, json('build/package/package.json').devDependencies.electron);
  assert.deepEqual(builderConfig.nsis, {
    oneClick: false,
    perMachine: false,
    allowElevation: false,
    allowToChangeInstallationDirectory: true,
  });
  assert.deepEqual(builderConfig.linux.target, ['AppImage', 'deb']);
  assert.deepEqual(builderConfig.mac.target, ['dmg']);
  assert.deepEqual(builderConfig.win.target, ['nsis']);
  assert.equal(builderConfig.npmRebuild, false);
});

test(
  "electron-builder.yml matches electron-builder's own schema",
  { skip: !existsSync(path.join(toolchain, 'app-builder-lib')) && 'npm run package:install first' },
  async () => {
    const schema = JSON.parse(readFileSync(path.join(toolchain, 'app-builder-lib', 'scheme.json'), 'utf8'));
    const { default: Ajv } = (await import(path.join(toolchain, 'ajv', 'dist', 'ajv.js'))) as {
      default: new (opts: object) => { validate(schema: object, data: unknown): boolean; errors: unknown };
    };
    const ajv = new Ajv({ allErrors: true, strict: false });
    assert.ok(ajv.validate(schema, builderConfig), JSON.stringify(ajv.errors));
    // And the schema is not a pushover: a misspelt key fails.
    assert.equal(ajv.validate(schema, { ...builderConfig, nsiss: {} }), false);
  },
);

test('electron-builder.yml: every path it takes files from exists (the guest after `farfetchd-lab image`)', () => {
  const resources = [
    ...builderConfig.extraResources,
    ...builderConfig.mac.extraResources,
    ...builderConfig.win.extraResources,
  ] as { from: string; to: string }[];
  assert.deepEqual(
    resources.map((r) => `${r.from} -> ${r.to}`),
    ['build/out/image/ -> guest', 'build/qemu/mac/ -> qemu', 'build/qemu/win/ -> qemu'],
  );
  // build/out/image is the image `farfetchd-lab image` builds (or FARFETCHD_LAB_OUT's).
  const image = imageDir(process.env);
  for (const file of ['manifest.json', 'bzImage', 'rootfs.qcow2']) {
    assert.ok(existsSync(path.join(image, file)), `${image}/${file}: run npx farfetchd-lab image`);
  }
  // What `files` keeps comes from the builds: package.json's main is one of them.
  assert.equal(json('package.json').main, 'electron/dist/main.cjs');
  assert.deepEqual(builderConfig.files.slice(0, 3), [
    'package.json',
    'electron/dist/*.cjs',
    'renderer/dist/**',
  ]);
});

/** Whether electron-builder's `files` take `file` (relative to the app folder): a pattern, and no `!` one after it. */
function packs(patterns: string[], file: string): boolean {
  let taken = false;
  for (const p of patterns) {
    if (p.startsWith('!')) {
      if (path.matchesGlob(file, p.slice(1))) taken = false;
    } else if (path.matchesGlob(file, p)) taken = true;
  }
  return taken;
}

test('electron-builder.yml: `files` packs every file the exercise and the grader read at run time, and no other source', async () => {
  const wanted = await labDataFiles();
  // What the code reads: the steps, the checks, the template, the part folders' sources, the targets.
  for (const file of [
    'emulator/exercise/5-part3.md',
    'emulator/grader/checks.json',
    'emulator/workspace-template/run_checkpatch.sh',
    'emulator/workspace-template/gitignore',
    'kernel-module/farfetch_p3/farfetch_p3.c',
    'kernel-module/farfetch_p1/Makefile',
    'kernel-module/common/farfetch_common.h',
    'kernel-module/common/module.mk',
    'targets/Makefile',
    'targets/farfetchd.c',
  ]) {
    assert.ok(wanted.includes(file), file);
  }
  assert.deepEqual(
    wanted.filter((f) => !packs(builderConfig.files, f)),
    [],
    'read at run time but not packed',
  );
  // Found in app.asar where a checkout has them: main.cjs is two folders below the root, as
  // emulator/src/image.ts is (so repoRoot is app.asar).
  assert.equal(path.relative(path.join(repoRoot, 'electron', 'dist'), repoRoot), path.join('..', '..'));
  for (const other of [
    'kernel-module/tests/grader-p1.test.ts',
    'kernel-module/tests/farfetch_tests.c',
    'kernel-module/lab_introspect/lab_introspect.c',
    'kernel-module/farfetch_p3/farfetch_p3.mod.c',
    'targets/tests/targets.test.ts',
    'emulator/src/grader.ts',
  ]) {
    assert.equal(packs(builderConfig.files, other), false, other);
  }
});

test('package.js: arguments and the first missing precondition, each one line', () => {
  assert.deepEqual(parsePackageArgs(['--linux', '--dir']), { target: '--linux', dir: true, arch: undefined });
  assert.deepEqual(parsePackageArgs(['--mac', '--arch', 'arm64']), {
    target: '--mac',
    dir: false,
    arch: 'arm64',
  });
  assert.throws(() => parsePackageArgs([]), { message: 'say which installer: --linux, --mac or --win' });
  assert.throws(() => parsePackageArgs(['--win', '--x']), { message: /^unknown argument --x / });

  const base = {
    env: {},
    nodeVersion: 'v22.23.3',
    exists: (_: string) => true,
    imageDir: '/img',
    version: '45.5.0',
    probe: () => null as string | null,
  };
  assert.equal(packagingBlocker(base), null);
  assert.equal(
    packagingBlocker({ ...base, exists: (p: string) => !p.includes('electron-builder') }),
    'the packaging toolchain is not installed: npm run package:install (Node >= 22.12)',
  );
  assert.equal(
    packagingBlocker({ ...base, nodeVersion: 'v20.20.2' }),
    'packaging needs Node >= 22.12 (Electron 45.5.0, electron-builder, @electron/rebuild); this is Node v20.20.2',
  );
  assert.equal(
    packagingBlocker({ ...base, exists: (p: string) => !p.startsWith('/img') }),
    'no guest image in /img: build it first (npx farfetchd-lab image)',
  );
  assert.equal(
    packagingBlocker({ ...base, probe: () => 'cannot download it: getaddrinfo ENOTFOUND github.com' }),
    'the Electron 45.5.0 binary is not available here (cannot download it: getaddrinfo ENOTFOUND github.com); set ELECTRON_DIST to an unpacked Electron 45.5.0',
  );
  assert.equal(packagingBlocker({ ...base, env: { ELECTRON_DIST: '/e' }, probe: () => 'unused' }), null);
});
