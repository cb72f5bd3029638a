#!/usr/bin/env bash
# Kernel style check of your Farfetch'd modules: the kernel's scripts/checkpatch.pl --no-tree over
# every .c and .h of farfetch_p1/, farfetch_p2/ and farfetch_p3/ (or of the folders you name),
# ignoring only what the assignment allows. Prints checkpatch's report for anything it flags, then
#   checkpatch: N files: E errors, W warnings
# and exits non-zero on any error or warning.
#   ./run_checkpatch.sh                 all three parts
#   ./run_checkpatch.sh farfetch_p2     one part
# In the lab's guest (cd /root/work) checkpatch.pl is the one of the kernel's module build kit,
# /lib/modules/$(uname -r)/build/scripts. Elsewhere set KDIR to a kernel source or build tree, or
# CHECKPATCH to a checkpatch.pl (with spelling.txt and const_structs.checkpatch beside it).
set -euo pipefail
ignore=FILE_PATH_CHANGES,SPDX_LICENSE_TAG,MISSING_EOF_NEWLINE,EXPORT_SYMBOL,ENOSYS,AVOID_EXTERNS,LINE_CONTINUATIONS
kdir=${KDIR:-/lib/modules/$(uname -r)/build}
checkpatch=${CHECKPATCH:-$kdir/scripts/checkpatch.pl}
if [ ! -f "$checkpatch" ]; then
	echo "run_checkpatch.sh: no $checkpatch: run it in the lab's guest (cd /root/work &&" \
		"./run_checkpatch.sh), or set CHECKPATCH=/path/to/checkpatch.pl" >&2
	exit 2
fi
cd "$(dirname "$0")"
[ $# -gt 0 ] || set -- farfetch_p1 farfetch_p2 farfetch_p3
files=()
for dir in "$@"; do
	if [ ! -d "$dir" ]; then
		echo "run_checkpatch.sh: no folder $dir here (name a part's folder, e.g. farfetch_p1)" >&2
		exit 2
	fi
	# No process substitution: the guest has no /dev/fd.
	list=$(find "$dir" \( -name '*.c' -o -name '*.h' \) ! -name '*.mod.c' | sort)
	while IFS= read -r file; do
		[ -z "$file" ] || files+=("$file")
	done <<<"$list"
done
if [ ${#files[@]} -eq 0 ]; then
	echo "run_checkpatch.sh: no .c or .h files in $*" >&2
	exit 2
fi
# checkpatch exits non-zero when it finds something: the counts below decide.
report=$(perl "$checkpatch" --no-tree --quiet --show-types --ignore "$ignore" -f "${files[@]}" 2>&1 || true)
errors=$(grep -c '^ERROR:' <<<"$report" || true)
warnings=$(grep -c -e '^WARNING:' -e '^CHECK:' <<<"$report" || true)
if [ "$errors" -ne 0 ] || [ "$warnings" -ne 0 ]; then
	printf '%s\n' "$report" | sed '/^$/N;/^\n$/D'
fi
echo "checkpatch: ${#files[@]} files: $errors errors, $warnings warnings"
[ "$errors" -eq 0 ] && [ "$warnings" -eq 0 ]
