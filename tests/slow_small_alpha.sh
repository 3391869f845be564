#!/bin/sh
# Slow suite: Figure 1 from alpha = 1e-6 (width 100, t_max 1e13). The escapes after plateaus
# of 2e10 and 2.6e11 time units need steps a million times shorter than the plateau's, which
# CVODE's default ten corrector failures per step did not reach (CV_CONV_FAILURE at 2.8e11).
# The run passes saddles of rank 0, 1, 2 and ends at rank 3, and greedy (flow rounds) lands on
# the same saddles (about 90 s).
# Usage (as meson runs it): sh slow_small_alpha.sh DLNFLOW SOURCE_ROOT
BIN=$1
SRC=$(cd "$2" && pwd) || exit 2
. "$(dirname "$0")/checks.sh"
S=$(mktemp -d "${TMPDIR:-/tmp}/dlnflow-a6.XXXXXX") || exit 2
trap 'rm -rf "$S"' EXIT
FIG1=$SRC/examples/fig1-mc-rank3.ini
"$BIN" run --quiet --out "$S/a6" "$FIG1" init.scheme=scaled init.alpha=1e-6 solver.t_max=1e13 \
  >/dev/null 2>"$S/err"
rc=$?
seq=$(jq -r '[.plateaus[] | "\(.kind)\(.rank)"] | join(" ")' "$S/a6/events.json" 2>/dev/null)
[ "$rc" -eq 0 ] && [ "$seq" = "saddle0 saddle1 saddle2 minimum3" ]
check "alpha = 1e-6: exit 0, saddles of rank 0, 1, 2 then the rank-3 minimum" \
      "exit $rc, '$seq': $(head -n 1 "$S/err")" $?
"$BIN" greedy "$FIG1" --epsilon 1e-6 --compare "$S/a6" --out "$S/g" >/dev/null 2>&1
worst=$(jq '[.compare[] | select(.kind == "saddle") | .rel_A_diff, .rel_loss_diff] | max' \
          "$S/g/greedy.json" 2>/dev/null)
awk -v w="${worst:-nan}" 'BEGIN { exit !(w < 1e-3) }'
check "greedy's rounds 1 and 2 match the alpha = 1e-6 saddles (loss and A) to 1e-3" "worst $worst" $?
finish
