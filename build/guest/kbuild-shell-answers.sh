#!/bin/sh
# ---- Farfetch'd Lab: the kit's start-up answers remembered (build/guest/kbuild-shell-answers.sh) ----
# Usage (by build/build-guest.sh, inside the image's root with chroot): kbuild-shell-answers.sh KIT
#
# Every `make` of an external module parses the kit's top Makefile, which asks the system the
# same questions each time with $(shell): `getconf LFS_*` three times, `uname -m` twice, and
# `gcc --version` twice (CC_VERSION_TEXT is a recursive variable). Under TCG each is a fork and
# an exec or two, tens of ms: a good part of kbuild's start-up before it compiles anything.
# The answers depend only on the image's own libc, machine and compiler, which is where this
# runs, so they are written into the kit as constants. Not the compiler's for another CC:
# CC_VERSION_TEXT keeps asking when CC is not the image's `gcc`.
set -eu
kit=$1

# replace FILE EXPECTED_LINE NEW_LINE: the upstream line must be there exactly once.
replace() {
	n=$(grep -cxF -- "$2" "$1" || true)
	[ "$n" = 1 ] || { echo "kbuild-shell-answers: $1: expected one line '$2', found $n" >&2; exit 1; }
	# Through the environment, not awk -v, which reads backslashes as escapes (the SUBARCH line
	# ends in one); then checked: the new line must be there, as given.
	old=$2 new=$3 awk '$0 == ENVIRON["old"] { print ENVIRON["new"]; next } { print }' "$1" >"$1.tmp"
	mv "$1.tmp" "$1"
	grep -qxF -- "$3" "$1" || { echo "kbuild-shell-answers: $1: '$3' was not written" >&2; exit 1; }
}

# A value make reads back as it is: no $, #, comma, backslash or unbalanced parentheses.
plain() {
	case $1 in *'$'* | *'#'* | *,* | *'\'*) return 1 ;; esac
	opens=$(printf '%s' "$1" | tr -cd '(' | wc -c)
	closes=$(printf '%s' "$1" | tr -cd ')' | wc -c)
	[ "$opens" = "$closes" ]
}

for v in LFS_CFLAGS LFS_LDFLAGS LFS_LIBS; do
	answer=$(getconf "$v" 2>/dev/null || true)
	plain "$answer" || { echo "kbuild-shell-answers: getconf $v: '$answer' cannot be kept" >&2; exit 1; }
	replace "$kit/Makefile" "HOST_$v := \$(shell getconf $v 2>/dev/null)" "HOST_$v := $answer"
done

machine=$(uname -m)
subarch=$(echo "$machine" | sed -e s/i.86/x86/ -e s/x86_64/x86/)
[ "$subarch" = x86 ] || { echo "kbuild-shell-answers: uname -m is '$machine', not x86" >&2; exit 1; }
replace "$kit/scripts/subarch.include" \
	'SUBARCH := $(shell uname -m | sed -e s/i.86/x86/ -e s/x86_64/x86/ \' \
	'SUBARCH := x86# uname -m, recorded by the image build (build/guest/kbuild-shell-answers.sh)'
# The rest of that assignment's continued lines go with it.
awk '/^SUBARCH := x86#/ { print; skip = 1; next } skip && /^\t/ { next } { skip = 0; print }' \
	"$kit/scripts/subarch.include" >"$kit/scripts/subarch.include.tmp"
mv "$kit/scripts/subarch.include.tmp" "$kit/scripts/subarch.include"
replace "$kit/arch/x86/Makefile" \
	"  ifeq (\$(shell uname -m | sed -e 's/i.86/i386/'),i386)" \
	"  ifeq ($(echo "$machine" | sed -e 's/i.86/i386/'),i386)"

cc=$(LC_ALL=C gcc --version 2>/dev/null | head -n 1 | tr -d '#')
plain "$cc" || { echo "kbuild-shell-answers: gcc --version: '$cc' cannot be kept" >&2; exit 1; }
replace "$kit/Makefile" \
	'CC_VERSION_TEXT = $(subst $(pound),,$(shell LC_ALL=C $(CC) --version 2>/dev/null | head -n 1))' \
	"CC_VERSION_TEXT = \$(if \$(filter gcc,\$(CC)),$cc,\$(subst \$(pound),,\$(shell LC_ALL=C \$(CC) --version 2>/dev/null | head -n 1)))"
