#!/bin/sh
# Slow suite: the NTK regime has no saddle. Figure 2's teacher with a depth-4 net of width 1000
# (P = 2,010,000) from gamma = 0.75 converges at once: its first plateau (J(0) = 0) shows no dip
# of the gradient norm, so events.json keeps no saddle, only the minimum (about 2 minutes).
# Usage (as meson runs it): sh slow_ntk.sh DLNFLOW SOURCE_ROOT
BIN=$1
SRC=$(cd "$2" && pwd) || exit 2
. "$(dirname "$0")/checks.sh"
S=$(mktemp -d "${TMPDIR:-/tmp}/dlnflow-ntk.XXXXXX") || exit 2
trap 'rm -rf "$S"' EXIT
"$BIN" run --quiet --out "$S/ntk" "$SRC/examples/fig2-mse-teacher.ini" network.width=1000 \
  init.gamma=0.75 solver.t_max=1 >"$S/out" 2>"$S/err"
rc=$?
check "NTK run (w = 1000, gamma = 0.75) exits 0" "exit $rc: $(head -n 2 "$S/err")" $rc
saddles=$(jq '.saddles' "$S/ntk/events.json" 2>/dev/null)
kinds=$(jq -r '[.plateaus[].kind] | join(" ")' "$S/ntk/events.json" 2>/dev/null)
[ "$saddles" = 0 ] && [ "$kinds" = minimum ]
check "NTK run: no saddle reported, one minimum" "saddles '$saddles', kinds '$kinds'" $?
finish
