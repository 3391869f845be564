#!/bin/sh
# Sums the PASS:/FAIL: lines of a meson testlog.txt into "N passed, N failed". A test that
# failed (crash, timeout) without printing any FAIL line counts as one failed check.
set -eu
log=${1:-build/meson-logs/testlog.txt}
awk '
  /^=+ [0-9]+\/[0-9]+ =+$/ { if (started) finish(); started = 1; fails_here = 0; bad = 0; next }
  /^result:/ { if ($0 !~ /exit status 0$/) bad = 1 }
  /^PASS: / { passed++ }
  /^FAIL: / { failed++; fails_here++ }
  function finish() { if (bad && fails_here == 0) failed++ }
  END { if (started) finish(); printf "%d passed, %d failed\n", passed, failed }
' "$log"
