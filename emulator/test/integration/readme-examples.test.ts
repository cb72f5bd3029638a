// The README's `exec` examples, exactly as written there (uname -r is exec.test.ts's first test).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { runCli } from './helpers.ts';

test('exec --module p3 -- grep farfetch /proc/devices shows the device major', async () => {
  const r = await runCli(['exec', '--module', 'p3', '--', 'grep', 'farfetch', '/proc/devices']);
  assert.equal(r.stderr, '');
  assert.match(r.stdout, /^\d+ farfetch\n$/);
  assert.equal(r.code, 0);
});

test('exec --module p2 --put ./a.out -- ./a.out runs a program that reads its own memory via 505', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'farfetchd-readme-'));
  writeFileSync(
    path.join(dir, 'a.c'),
    [
      '#include <stdio.h>',
      '#include <unistd.h>',
      '#include <sys/syscall.h>',
      'static char secret[] = "farfetched";',
      'int main(void) {',
      '  char buf[16] = {0};',
      '  long n = syscall(505, 0 /* FAR_READ */, buf, getpid(), (unsigned long)secret, sizeof(secret));',
      '  printf("%ld %s\\n", n, buf);',
      '  return n == (long)sizeof(secret) ? 0 : 1;',
      '}',
      '',
    ].join('\n'),
  );
  execFileSync('gcc', ['-static', '-O2', '-o', path.join(dir, 'a.out'), path.join(dir, 'a.c')]);
  const r = await runCli(['exec', '--module', 'p2', '--put', './a.out', '--', './a.out'], { cwd: dir });
  assert.equal(r.stderr, '');
  assert.equal(r.stdout, '11 farfetched\n');
  assert.equal(r.code, 0);
});
