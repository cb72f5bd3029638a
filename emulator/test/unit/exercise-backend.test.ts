// The exercise's backend methods with a fake guest session and a fake grader (the real ones are
// the e2e test's): make's output turned into links, what is loaded after a build, grades and
// progress saved in the workspace, "open in my editor" in both modes, one grade at a time.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { CheckReport, ModuleName, VmStatus } from '../../src/api.ts';
import { parseDiagnostics } from '../../src/build-diagnostics.ts';
import { createExerciseApi, studentLoadScript } from '../../src/exercise-backend.ts';
import { ensureWorkspace } from '../../src/exercise-workspace.ts';
import type { RunResult } from '../../src/session.ts';

const MAKE_ERROR = [
  "make: Entering directory '/usr/src/linux-headers-6.12.117'",
  '  CC [M]  /root/work/farfetch_p3/farfetch_p3.c',
  "/root/work/farfetch_p3/farfetch_p3.c:72:42: error: 'argument' undeclared (first use in this function)",
  '   72 |         if (get_user(nr, (pid_t __user *)argument))',
  '/root/work/farfetch_p3/farfetch_p3.c:72:42: note: each undeclared identifier is reported only once',
  './include/linux/uaccess.h:10:3: warning: in a kernel header',
  "farfetch_gup.h:5: warning: relative: the kernel tree's, not ours",
  "/root/work/farfetch_p3/farfetch_p3.c:72:42: error: 'argument' undeclared (first use in this function)",
  'make[2]: *** [scripts/Makefile.build:229: /root/work/farfetch_p3/farfetch_p3.o] Error 1',
].join('\n');

test('compiler messages become workspace file:line links; kernel headers and repeats do not', () => {
  assert.deepEqual(parseDiagnostics(MAKE_ERROR), [
    {
      file: 'farfetch_p3/farfetch_p3.c',
      line: 72,
      column: 42,
      severity: 'error',
      message: "'argument' undeclared (first use in this function)",
    },
    {
      file: 'farfetch_p3/farfetch_p3.c',
      line: 72,
      column: 42,
      severity: 'note',
      message: 'each undeclared identifier is reported only once',
    },
  ]);
  assert.deepEqual(parseDiagnostics('/root/work/farfetch_p3/farfetch_gup.h:5: warning: no column'), [
    { file: 'farfetch_p3/farfetch_gup.h', line: 5, column: null, severity: 'warning', message: 'no column' },
  ]);
  assert.deepEqual(parseDiagnostics('/root/work/../etc/x.c:1:1: error: outside'), []);
  assert.deepEqual(parseDiagnostics('\x1b[01m\x1b[K/root/work/a.c:1:2: fatal error: x.h: No such file'), [
    { file: 'a.c', line: 1, column: 2, severity: 'error', message: 'x.h: No such file' },
  ]);
});

function result(exitCode: number, stdout: string, stderr = ''): RunResult {
  return { exitCode, stdout: Buffer.from(stdout), stderr: Buffer.from(stderr) };
}

async function setup(opts: { make: RunResult; load?: RunResult; openPath?: (p: string) => Promise<string> }) {
  const workspace = mkdtempSync(path.join(os.tmpdir(), 'exercise-ws-'));
  await ensureWorkspace(workspace);
  const runs: string[][] = [];
  let loaded: ModuleName = 'p3';
  const session = {
    run: async (file: string, args: string[]) => {
      runs.push([file, ...args]);
      return file === 'make' ? opts.make : (opts.load ?? result(0, 'insmod farfetch_p3.ko: loaded\n'));
    },
    status: () => ({ loadedModule: loaded }) as VmStatus,
    loadModule: async (m: ModuleName) => {
      runs.push(['loadModule', m]);
      loaded = m;
    },
    modules: { refresh: async () => void runs.push(['modules.refresh']) },
  };
  const report: CheckReport = {
    part: 3,
    score: 2,
    maxScore: 2,
    tests: [{ name: 'a', status: 'pass', points: 2, maxPoints: 2, message: '' }],
  };
  const grades: { part: number; src: string }[] = [];
  let release: () => void = () => undefined;
  const api = createExerciseApi(session as never, {
    workspace,
    openPath: opts.openPath,
    grade: async (o) => {
      grades.push(o);
      await new Promise<void>((r) => (release = r));
      return report;
    },
  });
  return { api, workspace, runs, grades, report, release: () => release() };
}

test('Build & load: make in the guest; a failure loads nothing; a success unloads the reference and insmods', async () => {
  const failing = await setup({ make: result(2, '', MAKE_ERROR) });
  const failed = await failing.api.buildAndLoad(3);
  assert.equal(failed.exitCode, 2);
  assert.equal(failed.loaded, false);
  assert.equal(failed.loadOutput, null);
  assert.equal(failed.diagnostics.length, 2);
  assert.deepEqual(failing.runs, [['make', '-C', '/root/work/farfetch_p3']]);

  const ok = await setup({ make: result(0, '  LD [M]  farfetch_p3.ko\n') });
  const built = await ok.api.buildAndLoad(3);
  assert.deepEqual(
    { ...built, output: undefined },
    {
      part: 3,
      exitCode: 0,
      output: undefined,
      diagnostics: [],
      loaded: true,
      loadOutput: 'insmod farfetch_p3.ko: loaded',
    },
  );
  assert.deepEqual(ok.runs, [
    ['make', '-C', '/root/work/farfetch_p3'],
    ['loadModule', 'none'],
    ['sh', '-c', studentLoadScript(3, '/root/work/farfetch_p3')],
    ['modules.refresh'],
  ]);
  assert.match(
    studentLoadScript(3, '/root/work/farfetch_p3'),
    /^set -e\nhad_device=.*\nfor m in \$\(awk '\$1 ~ \/farfetch\/ \{ print \$1 \}' \/proc\/modules\); do rmmod "\$m"; done\n/,
  );
  assert.match(
    studentLoadScript(3, '/root/work/farfetch_p3'),
    /\nmknod -m 0666 \/dev\/farfetch c "\$major" 0\n/,
  );
  assert.doesNotMatch(studentLoadScript(1, '/root/work/farfetch_p1'), /mknod/);
  const state = await ok.api.exercise();
  assert.equal(state.progress.part3!.build!.ok, true);
  assert.equal(state.progress.part3!.done, false);
});

test("Grade: the step part's folder, one at a time, the report saved with the step marked done", async () => {
  const lab = await setup({ make: result(0, '') });
  const first = lab.api.grade('part3');
  await new Promise((r) => setImmediate(r));
  await assert.rejects(lab.api.grade('part1'), {
    message: 'step "part3" is being graded: wait for it to finish',
  });
  lab.release();
  assert.deepEqual(await first, lab.report);
  assert.deepEqual(lab.grades, [{ part: 3, src: path.join(lab.workspace, 'farfetch_p3') }]);
  await assert.rejects(lab.api.grade('setup'), { message: 'step "setup" has nothing to grade' });
  await assert.rejects(lab.api.grade('nope'), { message: 'there is no step "nope"' });
  const saved = JSON.parse(readFileSync(path.join(lab.workspace, '.farfetchd-lab', 'progress.json'), 'utf8'));
  assert.equal(saved.steps.part3.done, true);
  assert.equal(saved.steps.part3.grade.score, 2);
  assert.equal(saved.welcomeSeen, false);
  const after = await lab.api.setWelcomeSeen(true);
  assert.equal(after.welcomeSeen, true);
  assert.equal((await lab.api.setStepDone('setup', true)).progress.setup!.done, true);
  assert.equal((await lab.api.setStepDone('part3', false)).progress.part3!.grade!.score, 2);
});

test('open in my editor: opened through the app, or only the host path in browser mode', async () => {
  const opened: string[] = [];
  const electron = await setup({ make: result(0, ''), openPath: async (p) => (opened.push(p), '') });
  const file = path.join(electron.workspace, 'farfetch_p3', 'farfetch_p3.c');
  assert.deepEqual(await electron.api.openInEditor('farfetch_p3/farfetch_p3.c'), {
    opened: true,
    hostPath: file,
  });
  assert.deepEqual(opened, [file]);
  const browser = await setup({ make: result(0, '') });
  assert.deepEqual(await browser.api.openInEditor('README.md').catch((e: Error) => e.message), {
    opened: false,
    hostPath: path.join(browser.workspace, 'README.md'),
    reason: 'browser mode: open this path in your editor',
  });
});
