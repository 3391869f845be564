#!/bin/sh
# Slow suite: Theorem 1 measured (docs/theorem1.md). On examples/theorem1.ini (L = 4), over
# w = 10..1000 with 10 seeds, the fitted exponents of the saddle distance and of the nearest
# minimum's distance lie within 0.1 of the theorem's at gamma = 0.75, 1 and 1.5, and every
# nearest point is a minimum meeting the first-order condition (about 6 minutes on 2 cores).
# Usage (as meson runs it): sh slow_theorem1.sh DLNFLOW SOURCE_ROOT
BIN=$1
SRC=$(cd "$2" && pwd) || exit 2
. "$(dirname "$0")/checks.sh"
S=$(mktemp -d "${TMPDIR:-/tmp}/dlnflow-thm1.XXXXXX") || exit 2
trap 'rm -rf "$S"' EXIT
"$BIN" distances "$SRC/examples/theorem1.ini" --widths 10,30,100,300,1000 \
  --gammas 0.75,1,1.5 --seeds 10 --nearest --jobs 2 --quiet --out "$S/d" 2>"$S/err"
rc=$?
check "distances --nearest over w = 10..1000 exits 0" "exit $rc: $(head -n 2 "$S/err")" $rc
for q in d_saddle d_min_nearest; do
  for g in 0.75 1 1.5; do
    got=$(jq -r --arg q $q --argjson g $g \
      '.gammas[] | select(.gamma == $g) | .[$q] | "\(.exponent) \(.predicted)"' \
      "$S/d/distances.json" 2>/dev/null)
    set -- $got
    awk -v e="${1:-nan}" -v p="${2:-nan}" 'BEGIN { d = e - p; exit !(d <= 0.1 && d >= -0.1) }'
    check "$q exponent at gamma = $g within 0.1 of the theorem's" "fit, theorem: $got" $?
  done
done
# Every task found its nearest point: on the set (excess cost at round-off against C(0)) and
# stationary (kkt_nearest = ||P_T(θ - θ0)|| / ||θ - θ0|| <= 1e-7).
bad=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
  { if ($c["d_min_nearest"] == "" || $c["kkt_nearest"] + 0 > 1e-7 || $c["excess_nearest"] + 0 > 1e-8) n++ }
  END { print n + 0 }' "$S/d/distances.csv")
[ "$bad" = 0 ] && [ "$(awk 'END { print NR }' "$S/d/distances.csv")" = 151 ]
check "all 150 tasks have a nearest minimum meeting the first-order condition" "$bad fail" $?
finish
