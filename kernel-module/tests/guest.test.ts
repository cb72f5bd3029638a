// The in-guest C suite (farfetch_tests, built from this folder and installed in the image) run
// in the real guest against each reference module, and the lab's page walk against pagemap.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { guestExec } from '../../emulator/test/integration/helpers.ts';
import { assertFuzzPassed, FUZZER, parseFuzz, parseSuite, recordResults, SUITE } from './suite-output.ts';

for (const module of ['none', 'p1', 'p2', 'p3'] as const) {
  test(`in-guest suite passes against module ${module}`, async () => {
    const r = await guestExec(module, [SUITE, '--module', module], ['--timeout', '300']);
    const { passed, failed } = parseSuite(r.stdout);
    assert.deepEqual(failed, [], r.stdout + r.stderr);
    assert.ok(passed.length >= (module === 'none' ? 2 : 10), `only ${passed.length} cases ran:\n${r.stdout}`);
    assert.equal(r.code, 0);
  });
}

test('the fuzzer passes on the lab kernel: 100,000 random calls for each of p1, p2 and p3', async () => {
  // One guest for the three runs; the fuzzer loads and unloads each module itself.
  const script = [1, 2, 3].map((p) => `${FUZZER} --part ${p} --calls 100000 --seed ${p}`).join('; ');
  const r = await guestExec('none', ['sh', '-c', script], ['--timeout', '900']);
  const runs = r.stdout.split(/^(?=farfetch_fuzz: part )/m).filter((s) => s.trim());
  assert.equal(runs.length, 3, r.stdout + r.stderr);
  const summaries = runs.map(parseFuzz);
  recordResults('fuzz-lab-kernel.json', summaries);
  summaries.forEach((s, i) => {
    assertFuzzPassed(s, (i + 1) as 1 | 2 | 3, runs[i]!);
    assert.equal(s.calls, 100000);
    assert.equal(s.kernel.endsWith('-farfetch'), true, s.kernel);
  });
  assert.equal(r.code, 0, r.stderr);
});

test('a leftover /dev/farfetch fails with ENXIO after farfetch_p3 is unloaded', async () => {
  const r = await guestExec('p3', ['sh', '-c', `rmmod farfetch_p3 && ${SUITE} --module p3 --unloaded`]);
  const { passed, failed } = parseSuite(r.stdout);
  assert.deepEqual(failed, []);
  assert.ok(passed.length >= 1);
  assert.equal(r.code, 0);
});

test('insmod p1, insmod p2, rmmod p1, rmmod p2 (issue 10): p2 refuses to load, then -ENOSYS and no oops', async () => {
  const script = String.raw`
insmod /lib/modules/$(uname -r)/extra/farfetch_p1.ko; echo "insmod p1: $?"
insmod /lib/modules/$(uname -r)/extra/farfetch_p2.ko 2>/dev/null; echo "insmod p2: $?"
rmmod farfetch_p1; echo "rmmod p1: $?"
rmmod farfetch_p2 2>/dev/null; echo "rmmod p2: $?"
${SUITE} --module none --case none_read_is_enosys | grep '^ok'
dmesg | grep -o 'farfetch_p2: farfetch() is already implemented by p1_farfetch \[farfetch_p1\]'
echo "oopses: $(dmesg | grep -c -e 'Oops' -e 'BUG:')"`;
  const r = await guestExec('none', ['bash', '-c', script]);
  assert.equal(
    r.stdout,
    [
      'insmod p1: 0',
      'insmod p2: 1',
      'rmmod p1: 0',
      'rmmod p2: 1',
      'ok 1 - none_read_is_enosys',
      'farfetch_p2: farfetch() is already implemented by p1_farfetch [farfetch_p1]',
      'oopses: 0',
      '',
    ].join('\n'),
    r.stderr,
  );
});

test('without a module the system call is -ENOSYS (errno 38) as seen from C', async () => {
  const prog = `#include <stdio.h>
#include <errno.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/farfetch.h>
int main(void) { char b[8]; long r = syscall(__NR_farfetch, FAR_READ, b, getpid(), (unsigned long)b, 8UL);
printf("%d %ld %d\\n", __NR_farfetch, r, errno); return 0; }`;
  const r = await guestExec('none', [
    'sh',
    '-c',
    `cat > t.c <<'EOF'\n${prog}\nEOF\ngcc -Wall -Wextra -Werror -o t t.c && ./t`,
  ]);
  assert.equal(r.stderr, '');
  assert.equal(r.stdout, '505 -1 38\n');
});

test('lab-ptwalk agrees with /proc/PID/pagemap on every present page of a process', async () => {
  // For each mapped page of a running process: the frame from pagemap (bits 0-54, root only)
  // and the walk's final physical address from lab-ptwalk.
  const script = String.raw`
sleep 100000 & pid=$!
sleep 0.2
cat /proc/$pid/maps > /tmp/maps
n=0
while read -r range perms rest; do
  start=$((0x$(echo $range | cut -d- -f1))); end=$((0x$(echo $range | cut -d- -f2)))
  [ $start -ge $((1 << 47)) ] && continue
  a=$start
  while [ $a -lt $end ] && [ $n -lt 150 ]; do
    pm=$(dd if=/proc/$pid/pagemap bs=8 skip=$((a / 4096)) count=1 2>/dev/null | od -An -tx8 | tr -d ' ')
    printf '%x %s ' $a "$pm"
    lab-ptwalk $pid $(printf '0x%x' $((a + 0x123))) | tr -d '\n'
    echo
    n=$((n + 1)); a=$((a + 4096))
  done
done < /tmp/maps
kill $pid`;
  const r = await guestExec('none', ['bash', '-c', script], ['--timeout', '300']);
  assert.equal(r.code, 0, r.stderr);
  let present = 0;
  let absent = 0;
  for (const line of r.stdout.trim().split('\n')) {
    const [addrHex, pagemapHex, ...json] = line.split(' ');
    const walk = JSON.parse(json.join(' ')) as {
      present: boolean;
      phys: string | null;
      levels: number;
      walk: unknown[];
    };
    const pagemap = BigInt('0x' + pagemapHex);
    const pagemapPresent = (pagemap >> 63n) & 1n;
    assert.equal(walk.levels, 5, 'the guest must use 5-level paging');
    if (pagemapPresent === 1n) {
      present++;
      const frame = pagemap & ((1n << 55n) - 1n);
      assert.equal(walk.present, true, `0x${addrHex}: pagemap says present, walk says not`);
      assert.equal(BigInt(walk.phys!), (frame << 12n) + 0x123n, `0x${addrHex}: physical addresses differ`);
    } else {
      absent++;
      assert.equal(walk.present, false, `0x${addrHex}: pagemap says not present, walk says present`);
      assert.equal(walk.phys, null);
    }
  }
  assert.ok(present >= 20, `only ${present} present pages compared`);
  assert.ok(absent >= 1, 'no absent page compared');
});
