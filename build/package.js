#!/usr/bin/env node
// The installers, from a checkout whose guest image is built (`farfetchd-lab image`):
//   node build/package.js --linux|--mac|--win [--dir] [--arch x64|arm64]
// (`npm run package:linux` is `--linux --dir`: a runnable unpacked build in dist/installers.)
// Every tool comes from build/package's lockfile (`npm run package:install`): Electron,
// electron-builder and @electron/rebuild, which need Node >= 22.12. Each missing precondition
// is one line saying what to do, and exit status 1; nothing is downloaded but the Electron zip
// electron-builder itself fetches (or ELECTRON_DIST, a folder holding an unpacked Electron).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const toolchain = path.join(repo, 'build', 'package');
const MIN_NODE = [22, 12];

/** Where the lab finds its image (as emulator/src/image.ts imageDir does). */
function labImageDir(env) {
  if (env.FARFETCHD_LAB_IMAGE) return path.resolve(env.FARFETCHD_LAB_IMAGE);
  return path.join(
    env.FARFETCHD_LAB_OUT ? path.resolve(env.FARFETCHD_LAB_OUT) : path.join(repo, 'build', 'out'),
    'image',
  );
}

/** The Electron version the installers ship: build/package's exact pin. */
export function electronVersion(root = repo) {
  const pkg = JSON.parse(readFileSync(path.join(root, 'build', 'package', 'package.json'), 'utf8'));
  return pkg.devDependencies.electron;
}

/** Parses the command line; throws a one-line Error for a bad one. */
export function parsePackageArgs(argv) {
  const targets = argv.filter((a) => ['--linux', '--mac', '--win'].includes(a));
  if (targets.length !== 1) throw new Error('say which installer: --linux, --mac or --win');
  const opts = { target: targets[0], dir: false, arch: undefined };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === targets[0]) continue;
    if (arg === '--dir') opts.dir = true;
    else if (arg === '--arch' && ['x64', 'arm64'].includes(argv[i + 1] ?? '')) opts.arch = argv[++i];
    else throw new Error(`unknown argument ${arg} (known: --linux --mac --win --dir --arch x64|arm64)`);
  }
  return opts;
}

/**
 * Why packaging cannot run here, or null. `probe` says whether the Electron zip can be had
 * (electron-builder's cache, or the network); ELECTRON_DIST names a local unpacked Electron.
 */
export function packagingBlocker({ env, nodeVersion, exists, imageDir, version, probe }) {
  if (!exists(path.join(toolchain, 'node_modules', 'electron-builder', 'package.json'))) {
    return 'the packaging toolchain is not installed: npm run package:install (Node >= 22.12)';
  }
  if (tooOld(nodeVersion)) {
    return `packaging needs Node >= ${MIN_NODE.join('.')} (Electron ${version}, electron-builder, @electron/rebuild); this is Node ${nodeVersion}`;
  }
  if (!exists(path.join(imageDir, 'manifest.json'))) {
    return `no guest image in ${imageDir}: build it first (npx farfetchd-lab image)`;
  }
  for (const built of ['electron/dist/main.cjs', 'electron/dist/preload.cjs', 'renderer/dist/index.html']) {
    if (!exists(path.join(repo, built)))
      return `${built} is missing: npm run build:renderer && npm run build:electron`;
  }
  if (env.ELECTRON_DIST) {
    return exists(env.ELECTRON_DIST) ? null : `ELECTRON_DIST=${env.ELECTRON_DIST} does not exist`;
  }
  const why = probe(version);
  return why
    ? `the Electron ${version} binary is not available here (${why}); set ELECTRON_DIST to an unpacked Electron ${version}`
    : null;
}

/** Whether electron-builder can get the Electron zip: in its cache, or from GitHub. Null: yes. */
function probeElectronZip(version) {
  const cache = process.env.ELECTRON_CACHE ?? path.join(os.homedir(), '.cache', 'electron');
  const zip = `electron-v${version}-${process.platform}-${process.arch}.zip`;
  if (existsSync(path.join(cache, zip))) return null;
  const url = `https://github.com/electron/electron/releases/download/v${version}/${zip}`;
  const head = spawnSync(
    process.execPath,
    [
      '-e',
      `fetch(${JSON.stringify(url)},{method:'HEAD',signal:AbortSignal.timeout(10000)}).then(r=>process.exit(r.ok?0:3),e=>{console.error(e.cause?.message??e.message);process.exit(2)})`,
    ],
    { encoding: 'utf8' },
  );
  if (head.status === 0) return null;
  return head.status === 3
    ? `${url} is not there`
    : `cannot download it: ${head.stderr.trim() || 'fetch failed'}`;
}

function run(file, args) {
  const result = spawnSync(file, args, { cwd: repo, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

/** Node from build/package's lockfile (the npm `node` package), for a host Node that is too old. */
export function toolchainNode(root = repo) {
  const file = path.join(
    root,
    'build',
    'package',
    'node_modules',
    'node',
    'bin',
    process.platform === 'win32' ? 'node.exe' : 'node',
  );
  return existsSync(file) ? file : undefined;
}

function tooOld(version) {
  const [major, minor] = version.replace(/^v/, '').split('.').map(Number);
  return major < MIN_NODE[0] || (major === MIN_NODE[0] && minor < MIN_NODE[1]);
}

function main() {
  // The packaging tools want Node >= 22.12: run them under the lockfile's Node 22 when this
  // one is older (the lab itself runs on Node 20; only packaging needs 22).
  const node22 = toolchainNode();
  if (tooOld(process.version) && node22 && !process.env.FARFETCHD_LAB_PACKAGE_REEXEC) {
    const again = spawnSync(node22, process.argv.slice(1), {
      stdio: 'inherit',
      env: { ...process.env, FARFETCHD_LAB_PACKAGE_REEXEC: '1' },
    });
    process.exit(again.status ?? 1);
  }
  let opts;
  try {
    opts = parsePackageArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`package: ${err.message}\n`);
    process.exit(2);
  }
  const version = electronVersion();
  // electron-builder.yml takes the guest from build/out/image; an image built elsewhere
  // (FARFETCHD_LAB_OUT, FARFETCHD_LAB_IMAGE) is linked there.
  const imageDir = path.join(repo, 'build', 'out', 'image');
  const built = labImageDir(process.env);
  if (!existsSync(imageDir) && built !== imageDir && existsSync(path.join(built, 'manifest.json'))) {
    mkdirSync(path.dirname(imageDir), { recursive: true });
    symlinkSync(built, imageDir, 'junction');
    process.stderr.write(`package: linked build/out/image to ${built}\n`);
  }
  const blocker = packagingBlocker({
    env: process.env,
    nodeVersion: process.version,
    exists: existsSync,
    imageDir,
    version,
    probe: probeElectronZip,
  });
  if (blocker) {
    process.stderr.write(`package: ${blocker}\n`);
    process.exit(1);
  }
  // The tools' own entry points, run by this Node (no .cmd shims: Windows cannot spawn those
  // without a shell).
  const cli = (file) => path.join(toolchain, 'node_modules', file);
  // The image's SHA256SUMS, which the app checks at start (emulator/src/image-verify.ts).
  const sums = `import { writeImageSums } from ${JSON.stringify(path.join(repo, 'emulator', 'src', 'image-verify.ts'))};
    await writeImageSums(${JSON.stringify(imageDir)});`;
  run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', sums]);
  // node-pty is native: rebuilt against this Electron's ABI, once (electron-builder's own is off).
  const arch = opts.arch ? ['--arch', opts.arch] : [];
  run(process.execPath, [
    cli('@electron/rebuild/lib/cli.js'),
    ...['--version', version, '--module-dir', repo, '--only', 'node-pty', '--force', ...arch],
  ]);
  const builder = [
    opts.target,
    '--config',
    'build/electron-builder.yml',
    '--publish',
    'never',
    `-c.electronVersion=${version}`,
  ];
  if (opts.dir) builder.push('--dir');
  if (opts.arch) builder.push(`--${opts.arch}`);
  if (process.env.ELECTRON_DIST) builder.push(`-c.electronDist=${process.env.ELECTRON_DIST}`);
  run(process.execPath, [cli('electron-builder/cli.js'), ...builder]);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
