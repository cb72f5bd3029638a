#!/usr/bin/env node
// `npm start`: the desktop app where Electron's binary is installed, else browser mode.
// (`prestart` has already installed what is needed and built the guest image and the renderer.)
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The Electron binary if it is really there; never triggers Electron's download. */
export function electronBinary() {
  const pkg = path.join(repo, 'node_modules', 'electron');
  const pathFile = path.join(pkg, 'path.txt');
  if (!existsSync(pathFile)) return null;
  const binary = path.join(pkg, 'dist', readFileSync(pathFile, 'utf8').trim());
  return existsSync(binary) ? binary : null;
}

function run(file, args) {
  const child = spawn(file, args, { cwd: repo, stdio: 'inherit' });
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

const electron = electronBinary();
if (electron) {
  const built = spawnSync(process.execPath, [path.join(repo, 'build', 'build-electron.js')], {
    stdio: 'inherit',
  });
  if (built.status !== 0) process.exit(built.status ?? 1);
  run(electron, [repo]);
} else {
  process.stderr.write(
    "Electron is not available here (its binary is not installed and can't be downloaded); " +
      'starting browser mode instead.\n',
  );
  run(process.execPath, [path.join(repo, 'emulator', 'bin', 'farfetchd-lab.js'), 'serve']);
}
