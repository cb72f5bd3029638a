#!/usr/bin/env bash
# PrairieLearn external grader entry point (the question's info.json names it as
# "entrypoint": "/grade/serverFilesCourse/farfetchd/run.sh"). PrairieLearn mounts /grade:
# /grade/student (the submitted files), /grade/data/data.json (params.part: 1, 2 or 3), and reads
# /grade/results/results.json. The image (externalGradingOptions.image) is one built from the lab
# as for Gradescope's setup.sh, with the lab at /farfetchd-lab.
set -uo pipefail
root=${GRADE_ROOT:-/grade}
lab=${FARFETCHD_LAB_DIR:-/farfetchd-lab}
part=$(node -p 'JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8")).params.part' \
	"$root/data/data.json")
mkdir -p "$root/results"
results=$root/results/results.json
log=$(mktemp)
cd "$lab" || exit 1
npx --no-install farfetchd-lab check --part "$part" --src "$root/student" --format prairielearn \
	--output "$results" >"$log" 2>&1
status=$?
if [ "$status" -gt 1 ] || [ ! -s "$results" ]; then
	node -e '
		const fs = require("node:fs");
		const [out, log, status] = process.argv.slice(1);
		fs.writeFileSync(out, JSON.stringify({
			gradable: false,
			score: 0,
			message: `farfetchd-lab check exited ${status} without grading`,
			output: fs.readFileSync(log, "utf8").slice(-4000),
		}));' "$results" "$log" "$status"
fi
exit 0
