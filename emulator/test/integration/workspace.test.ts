// A student workspace against the real guest: the generated reference folders pass every check of
// their part and each skeleton builds, loads and fails its part (`farfetchd-lab check --json`); the
// workspace shared at /root/work sees host edits at once and lands guest writes at once; and
// QEMU killed during an in-guest `make` and during a `dd` into /root/work loses no byte the
// guest had written, leaves the workspace consistent, and a new session builds it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import type { CheckReport } from '../../src/api.ts';
import { LabSession } from '../../src/session.ts';
import { initWorkspace } from '../../src/workspace.ts';
import { runCli, untilState } from './helpers.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'workspace-guest-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** `farfetchd-lab check --part N --src DIR --json`: its exit status and its report. */
async function check(part: 1 | 2 | 3, src: string): Promise<{ code: number | null; report: CheckReport }> {
  const r = await runCli(['check', '--part', String(part), '--src', src, '--json']);
  assert.ok(r.code === 0 || r.code === 1, `check exited ${r.code}: ${r.stderr}`);
  return { code: r.code, report: JSON.parse(r.stdout) as CheckReport };
}

const statusOf = (report: CheckReport, name: string) => report.tests.find((t) => t.name === name)?.status;

for (const part of [1, 2, 3] as const) {
  test(`part ${part}: the generated reference passes every check; the skeleton builds, loads and fails`, async () => {
    const reference = path.join(tmp, `reference-${part}`);
    const skeleton = path.join(tmp, `skeleton-${part}`);
    await initWorkspace(reference, { mode: 'solution' });
    await initWorkspace(skeleton);

    const pass = await check(part, path.join(reference, `farfetch_p${part}`));
    const failures = pass.report.tests.filter((t) => t.status !== 'pass');
    assert.deepEqual(failures, [], 'the reference fails checks');
    assert.equal(pass.report.score, pass.report.maxScore);
    assert.equal(pass.code, 0);

    const fail = await check(part, path.join(skeleton, `farfetch_p${part}`));
    assert.equal(fail.code, 1);
    assert.equal(fail.report.maxScore, pass.report.maxScore);
    assert.ok(fail.report.score < fail.report.maxScore, `the skeleton scored ${fail.report.score}`);
    // It builds and loads: what fails are the part's own checks, each with a message.
    assert.equal(statusOf(fail.report, 'module_builds'), 'pass');
    assert.equal(statusOf(fail.report, 'module_loads'), 'pass');
    if (part === 3) assert.equal(statusOf(fail.report, 'device_registered'), 'fail');
    const failed = fail.report.tests.filter((t) => t.status === 'fail');
    assert.ok(failed.length > 0);
    assert.deepEqual(
      failed.filter((t) => t.message.trim() === ''),
      [],
      'a failed check without a message',
    );
    assert.equal(statusOf(fail.report, 'checkpatch'), statusOf(pass.report, 'checkpatch'));
  });
}

/** sha256 of every file under `dir` (its .git too), by relative path. */
function fingerprints(dir: string): Map<string, string> {
  const sums = new Map<string, string>();
  for (const rel of readdirSync(dir, { recursive: true }).map(String)) {
    const full = path.join(dir, rel);
    if (statSync(full).isFile()) sums.set(rel, createHash('sha256').update(readFileSync(full)).digest('hex'));
  }
  return sums;
}

function assertUnchanged(dir: string, before: Map<string, string>): void {
  const now = fingerprints(dir);
  const changed = [...before].filter(([rel, sum]) => now.get(rel) !== sum).map(([rel]) => rel);
  assert.deepEqual(changed, [], 'files written before the kill changed or went missing');
}

const git = (dir: string, ...args: string[]) => execFileSync('git', args, { cwd: dir, encoding: 'utf8' });

/** The pid of this process's QEMU that shares `workspace` (its -fsdev names the folder). */
function qemuSharing(workspace: string): number {
  const children = execFileSync('pgrep', ['-P', String(process.pid)], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .map(Number);
  const found = children.filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`path=${workspace},`);
    } catch {
      return false;
    }
  });
  assert.equal(found.length, 1, `QEMU processes sharing ${workspace}: ${found.join(' ')}`);
  return found[0]!;
}

/** Resolves once `probe` holds (checked every 50 ms); rejects after `timeoutMs`. */
async function until(probe: () => boolean, what: string, timeoutMs = 300_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > end) throw new Error(`never happened: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** SIGKILLs the session's QEMU and waits for the session to see it gone. */
async function killQemu(session: LabSession, workspace: string): Promise<void> {
  const gone = untilState(session, 'crashed');
  process.kill(qemuSharing(workspace), 'SIGKILL');
  await gone;
}

const PATTERN = 'farfetch\n';
/** What `yes farfetch | head -c N` writes. */
const patternBytes = (n: number) => Buffer.from(PATTERN.repeat(Math.ceil(n / PATTERN.length))).subarray(0, n);

test('the share at /root/work: host edits seen at once, guest writes on the host once write() returns', async () => {
  const ws = path.join(tmp, 'share');
  await initWorkspace(ws, { mode: 'solution' });
  const session = new LabSession({ workspace: ws });
  try {
    await session.start();
    assert.match(
      await session.sh('grep " /root/work " /proc/mounts'),
      /^workspace \/root\/work 9p \S*trans=virtio/m,
    );
    writeFileSync(path.join(ws, 'from-host.txt'), 'first\n');
    assert.equal(await session.sh('cat /root/work/from-host.txt'), 'first\n');
    writeFileSync(path.join(ws, 'from-host.txt'), 'second, longer\n');
    assert.equal(await session.sh('cat /root/work/from-host.txt'), 'second, longer\n');
    // No sync in the guest: the write itself reaches the host.
    await session.sh("printf 'edited in the guest\\n' > /root/work/farfetch_p1/notes.txt");
    assert.equal(readFileSync(path.join(ws, 'farfetch_p1', 'notes.txt'), 'utf8'), 'edited in the guest\n');
    // The workspace's run_checkpatch.sh finds the kernel kit's checkpatch.pl in the guest (one
    // part: perl under TCG takes a minute or more per part).
    const style = await session.run('/root/work/run_checkpatch.sh', ['farfetch_p3'], { timeoutMs: 600_000 });
    assert.equal(
      style.stdout.toString(),
      'checkpatch: 3 files: 0 errors, 0 warnings\n',
      style.stderr.toString(),
    );
    assert.equal(style.exitCode, 0);
  } finally {
    await session.stop();
  }
});

test('QEMU killed during a make in /root/work, then during a dd into it: no byte lost, and it builds', async () => {
  const ws = path.join(tmp, 'crash');
  await initWorkspace(ws, { mode: 'solution' });
  const before = fingerprints(ws);
  const part = path.join(ws, 'farfetch_p1');
  const sources = new Set(readdirSync(part));

  // 1. A kill while make writes its objects into the shared folder.
  let session = new LabSession({ workspace: ws });
  try {
    await session.start();
    let makeEnded = false;
    const make = session
      .run('make', ['-C', '/root/work/farfetch_p1'], { timeoutMs: 600_000 })
      .then(() => (makeEnded = true))
      .catch(() => undefined);
    await until(() => readdirSync(part).some((name) => !sources.has(name)), 'make wrote into farfetch_p1');
    assert.equal(makeEnded, false, 'make ended before the kill');
    await killQemu(session, ws);
    await make;
  } finally {
    await session.stop();
  }
  assertUnchanged(ws, before);
  assert.equal(git(ws, 'status', '--porcelain'), '', 'the build left something git sees');
  git(ws, 'fsck', '--strict', '--no-progress');

  // 2. A new session builds what the killed make left half done; then a kill during a dd.
  session = new LabSession({ workspace: ws });
  const a = 4 << 20;
  try {
    await session.start();
    const build = await session.run('make', ['-C', '/root/work/farfetch_p1'], { timeoutMs: 600_000 });
    assert.equal(build.exitCode, 0, build.stdout.toString() + build.stderr.toString());
    assert.ok(statSync(path.join(part, 'farfetch_p1.ko')).size > 0);
    await session.sh(`yes farfetch | head -c ${a} > /root/work/a.bin`);
    const dd = session
      .sh('yes farfetch | dd of=/root/work/b.bin bs=4096 count=262144 iflag=fullblock status=none', 600_000)
      .catch(() => undefined);
    const b = path.join(ws, 'b.bin');
    await until(() => existsSync(b) && statSync(b).size >= 256 << 10, 'dd wrote 256 KiB of b.bin');
    await killQemu(session, ws);
    await dd;
  } finally {
    await session.stop();
  }
  assertUnchanged(ws, before);
  assert.ok(readFileSync(path.join(ws, 'a.bin')).equals(patternBytes(a)), 'a.bin, written before the kill');
  const written = readFileSync(path.join(ws, 'b.bin'));
  assert.ok(written.length >= 256 << 10 && written.length < 1 << 30, `b.bin is ${written.length} bytes`);
  assert.ok(written.equals(patternBytes(written.length)), 'b.bin holds exactly what dd wrote, in order');
  assert.equal(git(ws, 'status', '--porcelain'), '?? a.bin\n?? b.bin\n');
  git(ws, 'fsck', '--strict', '--no-progress');

  // 3. And once more from a fresh guest: the folder builds as it is.
  session = new LabSession({ workspace: ws });
  try {
    await session.start();
    const rebuild = await session.run(
      'sh',
      ['-c', 'make -C /root/work/farfetch_p1 && insmod /root/work/farfetch_p1/farfetch_p1.ko'],
      {
        timeoutMs: 600_000,
      },
    );
    assert.equal(rebuild.exitCode, 0, rebuild.stdout.toString() + rebuild.stderr.toString());
    assert.match(await session.sh('cat /proc/modules'), /^farfetch_p1 /m);
  } finally {
    await session.stop();
  }
});
