// lab-settle's --shells-back (build/guest/lab-settle.c), compiled and run on the host: the away
// file goes, each registered shell that lives gets SIGWINCH and a gone one's file is removed;
// after a failed --mount only the away file goes. (The guest runs it after a resume: the
// integration suite sees the shell back in /root/work.) No --clock or --winsize here: they
// would set the host's clock and console.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

const repo = path.resolve(import.meta.dirname, '../../..');
const scratch = await mkdtemp(path.join(os.tmpdir(), 'lab-unit-settle-'));
const binary = path.join(scratch, 'lab-settle');
/** A pid no process can have (above any pid_max): kill() says ESRCH. */
const GONE_PID = '2147483646';

before(() => {
  execFileSync('gcc', [
    '-O2',
    '-Wall',
    '-Wextra',
    '-Werror',
    '-o',
    binary,
    `${repo}/build/guest/lab-settle.c`,
  ]);
});
const shells: ReturnType<typeof spawn>[] = [];
after(async () => {
  for (const shell of shells) shell.kill('SIGKILL');
  await rm(scratch, { recursive: true, force: true });
});

/** A shell whose WINCH trap appends to `log`, registered in `dir` as the profile does. */
async function registeredShell(dir: string, log: string): Promise<number> {
  const shell = spawn('bash', [
    '-c',
    `trap 'echo winch >> ${log}' WINCH; echo up; while :; do sleep 0.02; done`,
  ]);
  shells.push(shell);
  await new Promise((resolve) => shell.stdout!.once('data', resolve));
  await writeFile(path.join(dir, String(shell.pid)), '');
  return shell.pid!;
}

async function layout(name: string) {
  const root = path.join(scratch, name);
  const away = path.join(root, 'away');
  const dir = path.join(root, 'shells');
  const log = path.join(root, 'winch.log');
  await mkdir(dir, { recursive: true });
  await writeFile(away, '');
  await writeFile(path.join(dir, GONE_PID), '');
  await writeFile(path.join(dir, 'notes'), '');
  return { root, away, dir, log, pid: await registeredShell(dir, log) };
}

const settle = (args: string[]) => spawnSync(binary, args, { encoding: 'utf8' });

async function winches(log: string, waitMs: number): Promise<string> {
  const until = Date.now() + waitMs;
  while (Date.now() < until && !existsSync(log)) await new Promise((resolve) => setTimeout(resolve, 20));
  return readFile(log, 'utf8').catch(() => '');
}

test('--shells-back: the away file goes, a living shell gets SIGWINCH, a gone one is forgotten', async () => {
  const l = await layout('back');
  const r = settle(['--shells-back', l.away, l.dir]);
  assert.equal(r.stderr, '');
  assert.equal(r.status, 0);
  assert.equal(existsSync(l.away), false);
  assert.equal(await winches(l.log, 3000), 'winch\n');
  assert.deepEqual((await readdir(l.dir)).sort(), [String(l.pid), 'notes'].sort());
  // Again, with nothing away and no shells folder at all: nothing to do, and no error.
  assert.equal(settle(['--shells-back', l.away, path.join(l.root, 'none')]).status, 0);
});

test('after a failed --mount, --shells-back only removes the away file: the shells stay out', async () => {
  const l = await layout('unmounted');
  const target = path.join(l.root, 'work');
  const r = settle(['--mount', 'nosuch', target, 'no-such-fs', '', '--shells-back', l.away, l.dir]);
  assert.equal(r.status, 2);
  assert.match(
    r.stderr,
    new RegExp(`^lab-settle: mounting nosuch on ${target}: (No such device|Operation not permitted)\n$`),
  );
  assert.equal(existsSync(l.away), false);
  assert.equal(await winches(l.log, 300), '');
  assert.deepEqual((await readdir(l.dir)).sort(), [GONE_PID, String(l.pid), 'notes'].sort());
});

test('--shells-back without both its arguments: usage, exit 2, and nothing done', async () => {
  const l = await layout('usage');
  const r = settle(['--shells-back', l.away]);
  assert.equal(r.status, 2);
  assert.equal(
    r.stderr,
    `lab-settle: --shells-back: unknown, or missing its arguments\n` +
      'Usage: lab-settle [--clock SECONDS[.FRACTION]] [--mount SOURCE TARGET FSTYPE OPTIONS]\n' +
      '                  [--shells-back AWAY SHELLS] [--winsize ROWS COLS] [--cd DIR]\n' +
      '                  [-- PROGRAM [ARGUMENT...]]\n',
  );
  assert.equal(existsSync(l.away), true);
});

test('--cd DIR -- PROGRAM ARGS: the program runs in DIR with its arguments, as the shell would', async () => {
  const dir = await mkdtemp(path.join(scratch, 'cd-'));
  const r = settle(['--cd', dir, '--', 'sh', '-c', 'echo "$(pwd) $0 $1"', 'one', 'two words']);
  assert.equal(r.stderr, '');
  assert.equal(r.stdout, `${dir} one two words\n`);
  assert.equal(r.status, 0);
  // Its exit status is the program's; a program that is not found is 127, one that is not
  // executable 126; a step that failed before it is 125 and the program never runs.
  assert.equal(settle(['--', 'sh', '-c', 'exit 7']).status, 7);
  const missing = settle(['--cd', dir, '--', 'no-such-program']);
  assert.deepEqual(
    [missing.status, missing.stderr],
    [127, 'lab-settle: no-such-program: No such file or directory\n'],
  );
  const plain = path.join(dir, 'not-a-program');
  await writeFile(plain, 'data\n');
  const refused = settle(['--', plain]);
  assert.deepEqual([refused.status, refused.stderr], [126, `lab-settle: ${plain}: Permission denied\n`]);
  const marker = path.join(dir, 'ran');
  const failed = settle(['--cd', path.join(dir, 'none'), '--', 'touch', marker]);
  assert.equal(failed.status, 125);
  assert.equal(
    failed.stderr,
    `lab-settle: --cd ${path.join(dir, 'none')}: No such file or directory\nlab-settle: touch not run: a step before it failed\n`,
  );
  assert.equal(existsSync(marker), false);
  assert.equal(settle(['--cd', dir, '--']).status, 2);
});
