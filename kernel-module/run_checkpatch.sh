#!/usr/bin/env bash
# Runs the kernel's checkpatch.pl over all kernel C of this folder (modules, shared header) and
# over the kernel patch, ignoring only what the spec allows. Exits non-zero on any warning or error.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${FARFETCHD_LAB_OUT:-$here/../build/out}
ignore=FILE_PATH_CHANGES,SPDX_LICENSE_TAG,MISSING_EOF_NEWLINE,EXPORT_SYMBOL,ENOSYS,AVOID_EXTERNS,LINE_CONTINUATIONS

# checkpatch.pl comes from the kernel build's output, else straight from Debian's source tarball.
checkpatch=$(ls -t "$out"/kernel-*/checkpatch.pl 2>/dev/null | head -n 1 || true)
if [ -z "$checkpatch" ]; then
	tarball=/usr/src/linux-source-6.12.tar.xz
	[ -f "$tarball" ] || { echo "run_checkpatch.sh: no checkpatch.pl: apt-get install linux-source-6.12" >&2; exit 2; }
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	tar -C "$tmp" -xJf "$tarball" --strip-components=2 --wildcards \
		'*/scripts/checkpatch.pl' '*/scripts/spelling.txt' '*/scripts/const_structs.checkpatch'
	checkpatch=$tmp/checkpatch.pl
fi

cd "$here"
mapfile -t files < <(find . -path ./tests -prune -o -path ./bench -prune -o \
	\( -name '*.c' -o -name '*.h' \) ! -name '*.mod.c' -print | sort)
report=$(perl "$checkpatch" --no-tree --terse --show-types --ignore "$ignore" -f "${files[@]}" 2>&1 || true)
report+=$'\n'$(perl "$checkpatch" --no-tree --terse --show-types --ignore "$ignore" patch/farfetch.patch 2>&1 || true)
errors=$(grep -c ': ERROR:' <<<"$report" || true)
warnings=$(grep -c ': WARNING:' <<<"$report" || true)
grep -E ': (ERROR|WARNING|CHECK):' <<<"$report" | sed 's/^/  /' || true
echo "checkpatch: ${#files[@]} files and patch/farfetch.patch: $errors errors, $warnings warnings"
[ "$errors" -eq 0 ] && [ "$warnings" -eq 0 ]
