// A student's edit is never lost and never silently not rebuilt (issue 12): in the real guest,
// the p3 sources are edited three times in a row (the pr_info at load), then a header it
// includes twice, then once while a make runs, and after each `make` the module loaded prints
// the new text; a `make` with nothing changed starts no kbuild and leaves the .ko alone. This
// guards the module-build kit's speed-ups (try-run and start-up answers remembered in the image,
// `make -j` and the up-to-date check in the module's Makefile).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { guestExec } from '../../emulator/test/integration/helpers.ts';

const script = String.raw`
set -e
cp -r /usr/src/farfetch /root/e
cd /root/e/farfetch_p3
# The load message starts with a macro from a header it includes: the header's rounds below
# change only the header.
echo '#define LAB_HEADER_TEXT ""' >>../common/farfetch_gup.h
sed -i 's/pr_info("registered with major/pr_info(LAB_HEADER_TEXT "registered with major/' farfetch_p3.c
make -s >/dev/null
for i in 1 2 3; do
	sed -i -E "s/\"(edit [0-9]+: )?registered with major/\"edit $i: registered with major/" farfetch_p3.c
	make -s >/dev/null
	insmod farfetch_p3.ko
	echo "round $i: $(dmesg | grep -c "edit $i: registered with major") load(s) with the new text"
	rmmod farfetch_p3
done
for i in 1 2; do
	sed -i "s/^#define LAB_HEADER_TEXT .*/#define LAB_HEADER_TEXT \"header $i: \"/" ../common/farfetch_gup.h
	make -s >/dev/null
	insmod farfetch_p3.ko
	echo "header $i: $(dmesg | grep -c "header $i: edit 3: registered with major") load(s) with the new text"
	rmmod farfetch_p3
done
# Saved while make runs, after the compiler read the file (its object is then newer than the
# source): the next make still builds it.
sed -i -E "s/\"edit [0-9]+: registered with major/\"edit 4: registered with major/" farfetch_p3.c
make -s >/dev/null &
building=$!
for i in $(seq 3000); do pgrep -f 'cc1 .*farfetch_p3\.c' >/dev/null && break; sleep 0.1; done
sleep 1
sed -i -E "s/\"edit 4: registered with major/\"edit 5: registered with major/" farfetch_p3.c
kill -0 "$building" 2>/dev/null && echo "saved while make was compiling"
wait "$building"
make -s >/dev/null
insmod farfetch_p3.ko
echo "saved during a build: $(dmesg | grep -c "edit 5: registered with major") load(s) with the new text"
rmmod farfetch_p3
before=$(stat -c %Y.%y farfetch_p3.ko)
[ "$(make)" = "make: Nothing to be done for 'all'." ] && echo "nothing changed: kbuild not started"
[ "$(stat -c %Y.%y farfetch_p3.ko)" = "$before" ] && echo "nothing changed: farfetch_p3.ko untouched"
`;

test('edit, make, insmod three times in a row, a header twice, a save during make: each load runs the edited source', async () => {
  const r = await guestExec('none', ['bash', '-c', script], ['--timeout', '2400']);
  assert.equal(
    r.stdout,
    [
      'round 1: 1 load(s) with the new text',
      'round 2: 1 load(s) with the new text',
      'round 3: 1 load(s) with the new text',
      'header 1: 1 load(s) with the new text',
      'header 2: 1 load(s) with the new text',
      'saved while make was compiling',
      'saved during a build: 1 load(s) with the new text',
      'nothing changed: kbuild not started',
      'nothing changed: farfetch_p3.ko untouched',
      '',
    ].join('\n'),
    r.stderr,
  );
  assert.equal(r.code, 0);
});
