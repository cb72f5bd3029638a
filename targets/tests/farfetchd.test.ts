// farfetchd and farfetchd_p3 end to end in the real guest, without a human: a target waits, the
// tool reads its bytes, an editor command (FARFETCHD_EDITOR, for scripts) changes them in the
// temporary file, the tool writes them back, and the target prints what it now holds.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { guestExec } from '../../emulator/test/integration/helpers.ts';

/**
 * A guest script: start TARGET in the background, read its pid/addr/len lines, run TOOL on them
 * with EDITOR, let the target go on (SIGUSR1), and print the tool's and the target's output.
 */
function scenario(target: string, tool: string, editor: string, pick = ''): string {
  return `
set -u
${target} > /tmp/target.out 2>&1 < /dev/null &
tpid=$!
for i in $(seq 100); do grep -q '^len:' /tmp/target.out && break; sleep 0.05; done
${pick || "pid=$(awk '/^pid:/ {print $2; exit}' /tmp/target.out)"}
addr=$(awk '/^addr:/ {print $2; exit}' /tmp/target.out)
len=$(awk '/^len:/ {print $2; exit}' /tmp/target.out)
FARFETCHD_EDITOR='${editor}' ${tool} "$pid" "$addr" "$len"
echo "tool-status: $?"
kill -USR1 "$pid"
wait "$tpid"
grep -E '^(now|child now|parent now):' /tmp/target.out
ls /tmp | grep -c '^farfetchd\\.' || true
`;
}

const sedHey = 'sed -i s/Hey/Bye/';

test('farfetchd (p2) changes a string in another process: the target sees the edit', async () => {
  const r = await guestExec('p2', ['bash', '-c', scenario('mmap', 'farfetchd', sedHey)]);
  assert.equal(r.stderr, '');
  assert.match(r.stdout, /^farfetchd: read 20 bytes from pid \d+ at 0x[0-9a-f]+\n/);
  assert.match(
    r.stdout,
    /\nfarfetchd: wrote 20 bytes to pid \d+ at 0x[0-9a-f]+\ntool-status: 0\nnow: Bye this is private!\n0\n$/,
  );
});

test('farfetchd (p2) writes a string literal in read-only memory, as ptrace does', async () => {
  const r = await guestExec('p2', ['bash', '-c', scenario('strlit', 'farfetchd', sedHey)]);
  assert.match(r.stdout, /tool-status: 0\nnow: Bye this is private!\n/);
});

test('farfetchd (p1) cannot write a string literal: EFAULT with strerror, and the target is unchanged', async () => {
  const r = await guestExec('p1', ['bash', '-c', scenario('strlit', 'farfetchd', sedHey)]);
  assert.match(r.stderr, /^farfetchd: FAR_WRITE of pid \d+ at 0x[0-9a-f]+ failed: Bad address\n$/);
  assert.match(r.stdout, /tool-status: 1\nnow: Hey this is private!\n0\n$/);
});

test('farfetchd with no change writes nothing', async () => {
  const r = await guestExec('p2', ['bash', '-c', scenario('malloc', 'farfetchd', 'true')]);
  assert.match(
    r.stdout,
    /farfetchd: no change; nothing written\ntool-status: 0\nnow: Hey this is private!\n/,
  );
});

test('farfetchd_p3 does the same through /dev/farfetch', async () => {
  const r = await guestExec('p3', ['bash', '-c', scenario('mmap', 'farfetchd_p3', sedHey)]);
  assert.equal(r.stderr, '');
  assert.match(r.stdout, /^farfetchd_p3: read 20 bytes from pid \d+ at 0x[0-9a-f]+\n/);
  assert.match(r.stdout, /tool-status: 0\nnow: Bye this is private!\n0\n$/);
});

test('after fork, writing into the child leaves the parent as it was (copy-on-write)', async () => {
  const pickChild = "pid=$(awk '/^child:/ {print $2; exit}' /tmp/target.out)";
  const r = await guestExec('p2', ['bash', '-c', scenario('fork', 'farfetchd', sedHey, pickChild)]);
  assert.match(
    r.stdout,
    /tool-status: 0\nchild now: Bye this is private!\nparent now: Hey this is private!\n/,
  );
});

test('farfetchd without a module reports ENOSYS; bad arguments print the usage and exit 2', async () => {
  const r = await guestExec('none', [
    'bash',
    '-c',
    'farfetchd 1 0x1000 8; echo "status $?"; farfetchd 1 0x1000 zero 2>&1 | head -1; farfetchd 1 2 0; echo "status ${PIPESTATUS[0]}"',
  ]);
  assert.equal(r.stdout, 'status 1\nusage: farfetchd <pid> <addr> <len>\nstatus 2\n');
  assert.match(r.stderr, /^farfetchd: FAR_READ of pid 1 at 0x1000 failed: Function not implemented\n/);
});

for (const [module, flag] of [
  ['p2', ''],
  ['p3', ' --p3'],
] as const) {
  test(`farfetchd_e2e.sh${flag} passes in the guest with ${module}`, async () => {
    const r = await guestExec(
      module,
      ['bash', '-c', `bash /usr/src/farfetch/targets/tests/farfetchd_e2e.sh${flag}`],
      ['--timeout', '300'],
    );
    const summary = /^(\d+) passed, (\d+) failed$/m.exec(r.stdout);
    assert.ok(summary, r.stdout + r.stderr);
    assert.equal(summary[2], '0', r.stdout);
    assert.ok(Number(summary[1]) >= 10, r.stdout);
    assert.equal(r.code, 0);
  });
}
