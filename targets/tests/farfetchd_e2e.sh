#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# farfetchd_e2e.sh [--p3] [--bindir DIR]
#
# End-to-end check of the tools against the targets, run as root inside the guest:
#   default  farfetch_p2 loaded; drives farfetchd (system call 505)
#   --p3     farfetch_p3 loaded and /dev/farfetch made (mknod -m 0666); drives farfetchd_p3
# --bindir DIR looks for the tools and targets in DIR first (default: $PATH).
#
# Each case starts a target with stdin at end of file, reads its "pid:", "addr:" and "len:"
# lines, runs the tool with FARFETCHD_EDITOR set to a script that rewrites "private" as
# "fetched" in the temporary file, lets the target go on with SIGUSR1 and checks its "now:"
# line. Output: "ok N - name" / "not ok N - name # why", then "N passed, N failed";
# the exit status is 0 only if nothing failed (2: bad arguments).
set -u
export LC_ALL=C

usage() {
	echo "usage: $0 [--p3] [--bindir DIR]"
	echo "  run as root in the guest with farfetch_p2 loaded (farfetchd),"
	echo "  or with --p3: farfetch_p3 loaded and /dev/farfetch made (farfetchd_p3)"
}

tool=farfetchd
while [ $# -gt 0 ]; do
	case $1 in
	--p3) tool=farfetchd_p3 ;;
	--bindir)
		[ $# -ge 2 ] || { usage >&2; exit 2; }
		PATH=$2:$PATH
		shift
		;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
	shift
done

work=$(mktemp -d /tmp/farfetchd_e2e.XXXXXX) || exit 1
bg=
cleanup() {
	[ -n "$bg" ] && kill -9 "$bg" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

n=0
passed=0
failed=0
ok() {
	n=$((n + 1)); passed=$((passed + 1))
	echo "ok $n - $1"
}
not_ok() {
	n=$((n + 1)); failed=$((failed + 1))
	echo "not ok $n - $1 # $2"
}

# The "editor": remembers the file it was given and what it held, then edits it in place.
cat >"$work/edit.sh" <<EOF
#!/bin/sh
echo "\$1" >"$work/edited-path"
cp "\$1" "$work/edited-before"
sed -i 's/private/fetched/' "\$1"
EOF
chmod +x "$work/edit.sh"
edit=$work/edit.sh

# field KEY FILE: the value of the first "KEY: value" line.
field() {
	sed -n "s/^$1: //p" "$2" | head -n 1
}

# wait_for REGEX FILE: up to 10 s for a line to appear.
wait_for() {
	i=0
	until grep -q "$1" "$2" 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt 100 ] && return 1
		sleep 0.1
	done
}

# start INPUT TARGET [ARG...]: starts a target reading INPUT; sets bg, out, tpid, taddr, tlen.
# Each start gets fresh output files ($work/TARGET.N.out), so none is read before it is new.
starts=0
start() {
	input=$1
	shift
	starts=$((starts + 1))
	out=$work/$1.$starts.out
	"$@" <"$input" >"$out" 2>"$work/$1.$starts.err" &
	bg=$!
	if ! wait_for '^# press Enter' "$out"; then
		why="$1 did not get ready: $(cat "$out" "$work/$1.$starts.err" | tr '\n' ' ')"
		kill -9 "$bg" 2>/dev/null
		wait "$bg" 2>/dev/null
		bg=
		return 1
	fi
	tpid=$(field pid "$out")
	taddr=$(field addr "$out")
	tlen=$(field len "$out")
}

# finish: SIGUSR1 to the target (the "pid:" line's process for all but fork, whose parent
# passes it on), then up to 10 s for it to exit; sets trc.
finish() {
	kill -USR1 "${1:-$bg}"
	i=0
	while kill -0 "$bg" 2>/dev/null && [ "$(ps -o stat= -p "$bg" 2>/dev/null | cut -c1)" != Z ]; do
		i=$((i + 1))
		if [ $i -gt 100 ]; then
			kill -9 "$bg"
			break
		fi
		sleep 0.1
	done
	wait "$bg"
	trc=$?
	bg=
}

# run_tool EDITOR PID ADDR LEN: runs the tool; sets rc, and its output in $work/tool.out.
run_tool() {
	rm -f "$work/edited-path" "$work/edited-before"
	FARFETCHD_EDITOR=$1 "$tool" "$2" "$3" "$4" >"$work/tool.out" 2>&1
	rc=$?
}

tool_says() {
	tr '\n' ' ' <"$work/tool.out"
}

# edit_case NAME INPUT WANT_LINE TARGET [ARG...]: read, edit, write back, see the change.
edit_case() {
	name=$1 input=$2 want=$3
	shift 3
	start "$input" "$@" || { not_ok "$name" "$why"; return; }
	run_tool "$edit" "$tpid" "$taddr" "$tlen"
	pid=$tpid
	parent=$(field parent "$out")
	finish "$parent"
	if [ $rc -ne 0 ]; then
		not_ok "$name" "$tool exited $rc: $(tool_says)"
	elif ! grep -qx "$tool: read $tlen bytes from pid $pid at $taddr" "$work/tool.out" ||
		! grep -qx "$tool: wrote $tlen bytes to pid $pid at $taddr" "$work/tool.out"; then
		not_ok "$name" "expected read/wrote $tlen bytes, got: $(tool_says)"
	elif [ $trc -ne 0 ]; then
		not_ok "$name" "target exited $trc"
	elif ! grep -qxF "$want" "$out"; then
		not_ok "$name" "expected '$want', got: $(grep 'now:' "$out" | tr '\n' ' ')"
	else
		ok "$name"
	fi
}

for prog in "$tool" mmap malloc strlit fork twecho bag; do
	command -v "$prog" >/dev/null || { echo "$0: $prog is not in PATH" >&2; exit 2; }
done
if [ "$tool" = farfetchd ] && [ "$(id -u)" != 0 ]; then
	echo "$0: run as root (farfetch(2) is root only)" >&2
	exit 2
fi

echo "# $tool: $(command -v "$tool")"

edit_case "${tool}_edits_mmap" /dev/null "now: Hey this is fetched!" mmap
edit_case "${tool}_edits_malloc" /dev/null "now: Hey this is fetched!" malloc
edit_case "${tool}_edits_a_string_literal" /dev/null "now: Hey this is fetched!" strlit
edit_case "${tool}_edits_twecho_argv" /dev/null "now: Hey this is fetched!" twecho "Hey this is private!"
printf 'sesame\n' >"$work/password"
edit_case "${tool}_edits_bag" "$work/password" "now: Hey this is fetched!" bag
edit_case "${tool}_edits_the_child_of_fork" /dev/null "child now: Hey this is fetched!" fork
if grep -qx "parent now: Hey this is private!" "$out"; then
	ok "${tool}_leaves_the_parent_of_fork_alone"
else
	not_ok "${tool}_leaves_the_parent_of_fork_alone" "got: $(grep 'now:' "$out" | tr '\n' ' ')"
fi

# The editor got the bytes that were read, in a /tmp/farfetchd.XXXXXX file that is gone now.
name=${tool}_edits_a_temporary_file_with_the_bytes_read
if start /dev/null mmap; then
	run_tool "$edit" "$tpid" "$taddr" "$tlen"
	finish
	path=$(cat "$work/edited-path" 2>/dev/null)
	case $path in
	/tmp/farfetchd.??????) ;;
	*) path="bad name '$path'" ;;
	esac
	if [ $rc -ne 0 ]; then
		not_ok "$name" "$tool exited $rc: $(tool_says)"
	elif [ "$path" != "${path#bad}" ]; then
		not_ok "$name" "expected /tmp/farfetchd.XXXXXX, got $path"
	elif [ -e "$path" ]; then
		not_ok "$name" "$path was not removed"
	elif ! printf 'Hey this is private!' | cmp -s - "$work/edited-before"; then
		not_ok "$name" "expected 'Hey this is private!' in the file, got '$(cat "$work/edited-before")'"
	else
		ok "$name"
	fi
else
	not_ok "$name" "$why"
fi

# No change: nothing is written.
name=${tool}_writes_nothing_when_nothing_changed
if start /dev/null mmap; then
	run_tool true "$tpid" "$taddr" "$tlen"
	finish
	if [ $rc -ne 0 ] || grep -q wrote "$work/tool.out" ||
		! grep -q "no change; nothing written" "$work/tool.out"; then
		not_ok "$name" "expected exit 0 and 'no change', got exit $rc: $(tool_says)"
	elif ! grep -qx "now: Hey this is private!" "$out"; then
		not_ok "$name" "the target changed: $(grep 'now:' "$out")"
	else
		ok "$name"
	fi
else
	not_ok "$name" "$why"
fi

# A failing editor: nothing is written, exit 1.
name=${tool}_writes_nothing_when_the_editor_fails
if start /dev/null mmap; then
	run_tool "sed -i s/private/fetched/ \"\$1\"; false" "$tpid" "$taddr" "$tlen"
	finish
	if [ $rc -ne 1 ] || grep -q wrote "$work/tool.out"; then
		not_ok "$name" "expected exit 1 and nothing written, got exit $rc: $(tool_says)"
	elif ! grep -qx "now: Hey this is private!" "$out"; then
		not_ok "$name" "the target changed: $(grep 'now:' "$out")"
	else
		ok "$name"
	fi
else
	not_ok "$name" "$why"
fi

# Errors from the kernel are reported with strerror, exit 1.
sh -c 'exit 0' &
gone=$!
wait $gone
name=${tool}_reports_no_such_process
run_tool "$edit" "$gone" 0x10000 8
if [ $rc -eq 1 ] && grep -q "No such process" "$work/tool.out"; then
	ok "$name"
else
	not_ok "$name" "expected exit 1 and 'No such process', got exit $rc: $(tool_says)"
fi
name=${tool}_reports_a_bad_address
run_tool "$edit" $$ 0x10 8
if [ $rc -eq 1 ] && grep -q "Bad address" "$work/tool.out"; then
	ok "$name"
else
	not_ok "$name" "expected exit 1 and 'Bad address', got exit $rc: $(tool_says)"
fi

# Bad arguments: usage on stderr, exit 2.
for args in "" "1 2" "1 2 3 4" "abc 0x10 8" "1 0x10 8x" "1 0x10 0" "-1 0x10 8" "1 -0x10 8" \
	" 1 0x10 8" "1 0x 8" "0 0x10 8" "1 0x10 99999999999999999999"; do
	name="${tool}_usage_for_bad_arguments '$args'"
	# shellcheck disable=SC2086 # word splitting wanted, except for the leading-space case
	if [ "$args" = " 1 0x10 8" ]; then
		"$tool" " 1" 0x10 8 >"$work/tool.out" 2>"$work/tool.err"
	else
		"$tool" $args >"$work/tool.out" 2>"$work/tool.err"
	fi
	rc=$?
	if [ $rc -eq 2 ] && grep -q "^usage: $tool <pid> <addr> <len>" "$work/tool.err" &&
		grep -q FARFETCHD_EDITOR "$work/tool.err" && [ ! -s "$work/tool.out" ]; then
		ok "$name"
	else
		not_ok "$name" "expected exit 2 and usage on stderr, got exit $rc"
	fi
done

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
