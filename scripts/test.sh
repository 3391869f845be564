#!/bin/sh
# Set-up and the test suite in one: installs what is missing, builds, runs `meson test` (the
# fast suite), and prints the summed check count "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
scripts/deps.sh || exit 1
dir=${BUILD_DIR:-build}
scripts/build.sh "$dir" ${MESON_OPTIONS:-} || exit 1
meson test -C "$dir" --suite fast --print-errorlogs --num-processes 2 "$@" >"$dir/test-output.txt" 2>&1
status=$?
grep -E '^ *[0-9]+/[0-9]+ ' "$dir/test-output.txt" || cat "$dir/test-output.txt"
scripts/count-checks.sh "$dir/meson-logs/testlog.txt"
exit $status
