#!/usr/bin/env bash
# Runs the kernel's checkpatch.pl --no-tree over every .c and .h of this folder (the modules, the
# shared headers, the benchmark, the suite's hook modules; not the user-space suite itself) and
# over patch/farfetch.patch, ignoring only what the spec allows. Prints checkpatch's own report for anything it flags, then one summary line,
#   checkpatch: N files and patch/farfetch.patch: E errors, W warnings
# and exits non-zero on any error or warning. --strict adds checkpatch's --strict checks (CHECK:
# lines count as warnings then).
set -euo pipefail
strict=()
case ${1:-} in
--strict) strict=(--strict) ;;
"") ;;
*) echo "usage: run_checkpatch.sh [--strict]" >&2; exit 2 ;;
esac
here=$(cd "$(dirname "$0")" && pwd)
out=${FARFETCHD_LAB_OUT:-$here/../build/out}
ignore=FILE_PATH_CHANGES,SPDX_LICENSE_TAG,MISSING_EOF_NEWLINE,EXPORT_SYMBOL,ENOSYS,AVOID_EXTERNS,LINE_CONTINUATIONS

# checkpatch.pl (with spelling.txt and const_structs.checkpatch beside it) comes from the newest
# kernel build's output, else straight from Debian's source tarball.
checkpatch=$(ls -t "$out"/kernel-*/checkpatch.pl 2>/dev/null | head -n 1 || true)
if [ -z "$checkpatch" ]; then
	tarball=/usr/src/linux-source-6.12.tar.xz
	if [ ! -f "$tarball" ]; then
		echo "run_checkpatch.sh: no checkpatch.pl in $out/kernel-*/ and no $tarball" \
			"(apt-get install linux-source-6.12)" >&2
		exit 2
	fi
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	tar -C "$tmp" -xJf "$tarball" --strip-components=2 --wildcards \
		'*/scripts/checkpatch.pl' '*/scripts/spelling.txt' '*/scripts/const_structs.checkpatch'
	checkpatch=$tmp/checkpatch.pl
fi

cd "$here"
# tests/ is user space except tests/hooks, which are kernel modules.
mapfile -t files < <({
	find . -path ./tests -prune -o \( -name '*.c' -o -name '*.h' \) ! -name '*.mod.c' -print
	find ./tests/hooks \( -name '*.c' -o -name '*.h' \) ! -name '*.mod.c' -print
} | sort)
# checkpatch exits non-zero when it finds something: the counts below decide.
run() {
	perl "$checkpatch" --no-tree --quiet --show-types "${strict[@]}" --ignore "$ignore" "$@" 2>&1 || true
}
report=$(run -f "${files[@]}")$'\n'$(run patch/farfetch.patch)
errors=$(grep -c '^ERROR:' <<<"$report" || true)
warnings=$(grep -c -e '^WARNING:' -e '^CHECK:' <<<"$report" || true)
if [ "$errors" -ne 0 ] || [ "$warnings" -ne 0 ]; then
	printf '%s\n' "$report" | sed '/^$/N;/^\n$/D'
fi
echo "checkpatch: ${#files[@]} files and patch/farfetch.patch: $errors errors, $warnings warnings"
[ "$errors" -eq 0 ] && [ "$warnings" -eq 0 ]
