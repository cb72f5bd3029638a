#!/usr/bin/env node
// Installs what `npm start` and `npm test` need on a Debian machine, then builds the guest:
//   1. Debian packages from build/host-packages.txt (QEMU, debootstrap, linux-source-6.12, chromium…)
//   2. npm packages, if node_modules is missing or older than package-lock.json
//   3. the guest image (build/build-guest.sh; cached, so an unchanged checkout costs a second)
//   4. the renderer bundle (renderer/dist), if the renderer exists and is newer than its bundle
// Uses only Node's built-in modules, because it runs before `npm install` has.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const say = (msg) => process.stderr.write(`setup: ${msg}\n`);

function run(cmd, args, opts = {}) {
  const result = spawnSync(cmd, args, { stdio: 'inherit', cwd: repo, ...opts });
  if (result.status !== 0) {
    say(`'${cmd} ${args.join(' ')}' failed (exit ${result.status ?? result.signal})`);
    process.exit(1);
  }
}

function missingDebianPackages() {
  const wanted = readFileSync(path.join(repo, 'build', 'host-packages.txt'), 'utf8')
    .split(/\s+/)
    .filter((p) => p && !p.startsWith('#'));
  return wanted.filter((pkg) => {
    try {
      const status = execFileSync('dpkg-query', ['-W', '-f=${Status}', pkg], {
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      return !status.toString().includes('install ok installed');
    } catch {
      return true;
    }
  });
}

function installDebianPackages() {
  if (!existsSync('/usr/bin/dpkg-query')) {
    say(
      'not a Debian machine: install QEMU (qemu-system-x86_64, qemu-img) yourself; the guest image must be built on Debian',
    );
    return;
  }
  const missing = missingDebianPackages();
  if (missing.length === 0) return;
  const asRoot = process.getuid?.() === 0;
  const prefix = asRoot ? [] : ['sudo'];
  if (!asRoot && spawnSync('sudo', ['-n', 'true']).status !== 0) {
    say(`these Debian packages are missing: ${missing.join(' ')}`);
    say(`install them with: sudo apt-get install -y --no-install-recommends ${missing.join(' ')}`);
    process.exit(1);
  }
  say(`installing Debian packages: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  run(prefix[0] ?? 'apt-get', [...prefix.slice(1), ...(asRoot ? [] : ['apt-get']), 'update', '-q'], { env });
  run(
    prefix[0] ?? 'apt-get',
    [
      ...prefix.slice(1),
      ...(asRoot ? [] : ['apt-get']),
      'install',
      '-y',
      '-q',
      '--no-install-recommends',
      ...missing,
    ],
    { env },
  );
}

function mtime(file) {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

function installNpmPackages() {
  const marker = path.join(repo, 'node_modules', '.package-lock.json');
  if (
    mtime(marker) >= mtime(path.join(repo, 'package-lock.json')) &&
    existsSync(path.join(repo, 'node_modules', 'tsx'))
  )
    return;
  say('installing npm packages (npm ci)');
  run('npm', ['ci', '--no-audit', '--no-fund']);
}

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'dist') continue;
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : mtime(full));
  }
  return newest;
}

function buildRenderer() {
  const renderer = path.join(repo, 'renderer');
  if (!existsSync(path.join(renderer, 'index.html'))) return;
  const bundle = path.join(renderer, 'dist', 'index.html');
  if (mtime(bundle) > newestMtime(renderer)) return;
  say('building the renderer (renderer/dist)');
  run('npm', ['run', '--silent', 'build:renderer']);
}

const only = process.argv[2];
installDebianPackages();
installNpmPackages();
if (only !== '--no-image') {
  say('guest image (cached when unchanged)');
  run('bash', [path.join(repo, 'build', 'build-guest.sh')]);
}
buildRenderer();
