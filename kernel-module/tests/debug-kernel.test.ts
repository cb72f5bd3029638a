// The tests' debug kernel (build/kernel-debug.config: KASAN, DEBUG_PAGEALLOC, DEBUG_VM,
// lockdep, DEBUG_ATOMIC_SLEEP …), booted through the library's `kernel: 'debug'` option: the
// in-guest suite for every part, the fuzzer (100,000 random calls per part) and the stress run
// (target threads mapping, unmapping and exiting under callers and page walks), each with zero
// splats in the kernel log. The numbers go to test-results/debug-kernel.json.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { loadImage } from '../../emulator/src/image.ts';
import { LabSession } from '../../emulator/src/session.ts';
import {
  assertFuzzPassed,
  FUZZER,
  parseFuzz,
  parseSuite,
  recordResults,
  SUITE,
  type FuzzSummary,
} from './suite-output.ts';

const MINUTES = 60_000;
// What the debug options print when they find something (and any stack dump at all).
const SPLATS =
  'BUG:|WARNING:|KASAN|UBSAN|Oops|general protection fault|sleeping function called from invalid context|' +
  'refcount_t:|list_(add|del) corruption|INFO: task|Call Trace:';

let session: LabSession;
const results: { suites: Record<string, { passed: number; failed: number }>; runs: FuzzSummary[] } = {
  suites: {},
  runs: [],
};

before(async () => {
  session = new LabSession({ kernel: 'debug', bootTimeoutMs: 10 * MINUTES });
  await session.start();
});

after(async () => {
  recordResults('debug-kernel.json', results);
  await session?.stop();
});

/** The kernel log's splat lines since boot, minus user programs' faults ("traps:", "segfault at"). */
async function splats(): Promise<string> {
  return session.sh(`dmesg | grep -E '${SPLATS}' | grep -v -e ' traps: ' -e ' segfault at ' || true`);
}

test('the guest runs the debug kernel: its release, KASAN and lockdep are on', async () => {
  const release = loadImage().manifest.debugKernelRelease;
  assert.equal(release, `${loadImage().manifest.kernelRelease}-debug`);
  assert.equal(await session.sh('uname -r'), `${release}\n`);
  const log = await session.sh('dmesg');
  assert.match(log, /kasan: KernelAddressSanitizer initialized/);
  assert.match(log, /Lock dependency validator: Copyright/);
  assert.equal(await splats(), '');
});

for (const module of ['none', 'p1', 'p2', 'p3'] as const) {
  test(`in-guest suite passes against module ${module} on the debug kernel, no splat`, async () => {
    await session.loadModule(module);
    const r = await session.run(SUITE, ['--module', module], { timeoutMs: 15 * MINUTES });
    const stdout = r.stdout.toString();
    const { passed, failed } = parseSuite(stdout);
    results.suites[module] = { passed: passed.length, failed: failed.length };
    assert.deepEqual(failed, [], stdout + r.stderr.toString());
    assert.ok(passed.length >= (module === 'none' ? 2 : 10), `only ${passed.length} cases ran:\n${stdout}`);
    assert.equal(r.exitCode, 0);
    await session.loadModule('none');
    assert.equal(await splats(), '');
  });
}

for (const part of [1, 2, 3] as const) {
  test(`fuzzer: 100,000 random calls for p${part} on the debug kernel, only allowed errnos, no splat`, async () => {
    const r = await session.run(
      FUZZER,
      ['--part', String(part), '--calls', '100000', '--seed', String(part)],
      {
        timeoutMs: 30 * MINUTES,
      },
    );
    const stdout = r.stdout.toString();
    const summary = parseFuzz(stdout);
    results.runs.push(summary);
    process.stdout.write(stdout.replace(/^json: .*\n/m, ''));
    assertFuzzPassed(summary, part, stdout + r.stderr.toString());
    assert.equal(summary.calls, 100000);
    assert.equal(summary.kernel, loadImage().manifest.debugKernelRelease);
    assert.equal(r.exitCode, 0);
    assert.equal(await splats(), '');
  });
}

test('stress: target threads munmap/mmap/MADV_DONTNEED/exit under callers and page walks, a minute, no splat', async () => {
  // 20 s for each part: one minute in all.
  for (const part of [1, 2, 3] as const) {
    const r = await session.run(FUZZER, ['--part', String(part), '--stress', '20', '--seed', String(part)], {
      timeoutMs: 10 * MINUTES,
    });
    const stdout = r.stdout.toString();
    const summary = parseFuzz(stdout);
    results.runs.push(summary);
    process.stdout.write(stdout.replace(/^json: .*\n/m, ''));
    assertFuzzPassed(summary, part, stdout + r.stderr.toString());
    assert.equal(summary.mode, 'stress');
    assert.ok(summary.calls > 0 && summary.pageWalks > 0, stdout);
    assert.equal(r.exitCode, 0);
  }
  assert.equal(await splats(), '');
});
