#!/usr/bin/env node
// `npm start`: the desktop app where Electron's binary is installed, else browser mode.
// (`prestart` has already installed what is needed and built the guest image; this builds the
// renderer itself if it is missing or older than its sources, and installs nothing.)
//   node build/start.js [--browser] [--port N]    --browser (or FARFETCHD_LAB_BROWSER=1): no Electron
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Where `require('electron')` would say the binary is, without calling it: when the binary is
 * missing, that require starts a download (which cannot work offline). Returns the path only if
 * the binary is really there, else why not.
 */
export function electronBinary(env = process.env, root = repo) {
  // Electron comes with the packaging toolchain (build/package: Node >= 22.12), not with the
  // lab's own dependencies, which install on Node 20 without a warning.
  const pkg = path.join(root, 'build', 'package', 'node_modules', 'electron');
  if (!existsSync(path.join(pkg, 'package.json'))) {
    return { reason: 'the electron package is not installed (npm run package:install, with Node >= 22.12)' };
  }
  const pathFile = path.join(pkg, 'path.txt');
  const name = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : null;
  const dist = env.ELECTRON_OVERRIDE_DIST_PATH || path.join(pkg, 'dist');
  const binary = name
    ? path.join(dist, name)
    : env.ELECTRON_OVERRIDE_DIST_PATH
      ? path.join(dist, 'electron')
      : null;
  if (!binary) return { reason: 'its binary was never downloaded' };
  if (!existsSync(binary)) return { reason: `${binary} does not exist` };
  return { binary };
}

/** Why a window cannot be shown here, or null. */
export function noDisplay(env = process.env, platform = process.platform) {
  if (platform !== 'linux') return null;
  return env.DISPLAY || env.WAYLAND_DISPLAY
    ? null
    : 'there is no display (DISPLAY and WAYLAND_DISPLAY are unset)';
}

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'dist' || entry.name === 'node_modules') continue;
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : statSync(full).mtimeMs);
  }
  return newest;
}

function buildRendererIfNeeded() {
  const renderer = path.join(repo, 'renderer');
  const bundle = path.join(renderer, 'dist', 'index.html');
  if (existsSync(bundle) && statSync(bundle).mtimeMs >= newestMtime(renderer)) return;
  process.stderr.write('Building the renderer (renderer/dist)…\n');
  const built = spawnSync('npm', ['run', '--silent', 'build:renderer'], { cwd: repo, stdio: 'inherit' });
  if (built.status !== 0) process.exit(built.status ?? 1);
}

function run(file, args) {
  const child = spawn(file, args, { cwd: repo, stdio: 'inherit' });
  // The child gets Ctrl-C from the terminal itself; SIGTERM is passed on. Both stop QEMU cleanly.
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

function main(argv) {
  const browser = argv.includes('--browser') || process.env.FARFETCHD_LAB_BROWSER === '1';
  const portAt = argv.indexOf('--port');
  const serveArgs = portAt >= 0 && argv[portAt + 1] ? ['--port', argv[portAt + 1]] : [];
  buildRendererIfNeeded();
  const electron = browser ? { reason: 'browser mode was asked for' } : electronBinary();
  const why = electron.binary ? noDisplay() : electron.reason;
  if (electron.binary && !why) {
    const built = spawnSync(process.execPath, [path.join(repo, 'build', 'build-electron.js')], {
      stdio: 'inherit',
    });
    if (built.status !== 0) process.exit(built.status ?? 1);
    run(electron.binary, [repo]);
    return;
  }
  process.stderr.write(
    `Electron is not available here (${why}); starting browser mode: open the address below in a browser.\n`,
  );
  // `serve` prints the URL (with its token) and keeps running until Ctrl-C.
  run(process.execPath, [path.join(repo, 'emulator', 'bin', 'farfetchd-lab.js'), 'serve', ...serveArgs]);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2));
}
