// `farfetchd-lab serve --port N` as a user runs it: it prints the URL with its token on that port,
// the page answers only with the token, and SIGTERM stops it with exit 0. No guest is booted: the
// browser asks for that, and nobody does here.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../../src/image.ts';

const cliPath = path.join(repoRoot, 'emulator', 'bin', 'farfetchd-lab.js');

/** A port nobody listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

test(
  'serve --port N prints its URL, answers on that port, and stops on SIGTERM',
  { timeout: 60_000 },
  async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [cliPath, 'serve', '--port', String(port)], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const printed = new RegExp(
        `^Farfetch'd Lab is running at (http://127\\.0\\.0\\.1:${port}/\\?token=[0-9a-f]{48})\\n`,
      );
      while (!printed.test(stdout) && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
      const url = printed.exec(stdout)?.[1];
      assert.ok(url, `no URL printed; stdout:\n${stdout}\nstderr:\n${stderr}`);
      const built = existsSync(path.join(repoRoot, 'renderer', 'dist', 'index.html'));
      const page = await fetch(url);
      // Without a renderer build the page says how to make one; either way the token was accepted.
      assert.equal(page.status, built ? 200 : 404);
      if (!built)
        assert.equal(await page.text(), '404: the renderer is not built: run `npm run build:renderer`\n');
      assert.equal((await fetch(`http://127.0.0.1:${port}/?token=wrong`)).status, 403);
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, stderr);
  },
);
