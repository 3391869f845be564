# `dlnflow distances`: bad input exits 2 naming the option and creates nothing; a small sweep
# writes distances.csv (one row per width, gamma, seed) and distances.json, the saddle distance
# at gamma = 1 has exponent near 0, every minimum construction reaches C_min, and with
# --nearest the nearest minimum is no farther than any construction and meets its first-order
# condition.
#
# Usage (as meson runs it): sh cli_distances.sh DLNFLOW SOURCE_ROOT. POSIX sh and jq.

if [ $# -ne 2 ]; then
  echo "usage: sh cli_distances.sh DLNFLOW_BINARY SOURCE_ROOT" >&2
  exit 2
fi
BIN=$1
case $BIN in /*) ;; *) BIN=$(pwd)/$BIN ;; esac
SRC=$(cd "$2" && pwd) || exit 2
CFG=$SRC/examples/fig2-mse-teacher.ini

. "$(dirname "$0")/checks.sh"

S=$(mktemp -d ./cli_distances.XXXXXX) || exit 2
S=$(cd "$S" && pwd) || exit 2
trap 'rm -rf "$S"' EXIT
trap 'exit 2' HUP INT PIPE TERM
OUT=$S/out

# bad WHAT PATTERN ARGS...: exit status 2, PATTERN on stderr, no $OUT.
bad() {
  what=$1
  pat=$2
  shift 2
  rm -rf "$OUT"
  "$BIN" distances "$@" --out "$OUT" >"$S/stdout" 2>"$S/err"
  rc=$?
  problems=""
  [ "$rc" -eq 2 ] || problems="exit status $rc, expected 2"
  grep -F -q -e "$pat" "$S/err" || problems="${problems:+$problems; }stderr lacks '$pat'"
  [ -e "$OUT" ] && problems="${problems:+$problems; }$OUT was created"
  if [ -z "$problems" ]; then pass "$what"; else fail "$what" "$problems"; fi
}

bad "--widths empty" "--widths" "$CFG" --widths "" --gammas 1
bad "--widths non-numeric" "--widths" "$CFG" --widths 10,abc --gammas 1
bad "--widths one width" "--widths" "$CFG" --widths 10 --gammas 1
bad "--gammas negative" "--gammas" "$CFG" --widths 10,20 --gammas -1
bad "--seeds 0" "--seeds" "$CFG" --widths 10,20 --gammas 1 --seeds 0
bad "missing --gammas" "--gammas" "$CFG" --widths 10,20
bad "gamma 1e300 (variance underflows)" "--gammas" "$CFG" --widths 10,20 --gammas 1e300
bad "depth 1" "network.depth" "$CFG" --widths 10,20 --gammas 1 network.depth=1

"$BIN" distances "$CFG" --widths 10,30,100 --gammas 0.75,1 --seeds 3 --jobs 2 --nearest --out "$OUT" \
  >"$S/stdout" 2>"$S/err"
check "small sweep exits 0" "exit $?" $?
rows=$(($(wc -l <"$OUT/distances.csv") - 1))
check "distances.csv: one row per width, gamma, seed" "$rows rows" $([ "$rows" -eq 18 ]; echo $?)
ex=$(jq '.gammas[1].d_saddle.exponent' "$OUT/distances.json" 2>/dev/null)
check "gamma = 1: saddle distance exponent within 0.1 of 0" "$ex" \
      $(awk -v e="$ex" 'BEGIN { exit !(e != "" && e > -0.1 && e < 0.1) }'; echo $?)
worst=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i ~ /^excess_/) c[i] = 1; next }
                 { for (i in c) { v = $i < 0 ? -$i : $i; if (v > m) m = v } }
                 END { print m + 0 }' "$OUT/distances.csv")
check "every minimum construction (pinv, embed, projection, nearest) reaches C_min (|excess| < 1e-8)" "worst $worst" \
      $(awk -v m="$worst" 'BEGIN { exit !(m < 1e-8) }'; echo $?)
# Rows where d_min_nearest is missing, above another d_min, or kkt_nearest > 1e-7.
nearest_bad=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
                       { n = $c["d_min_nearest"]; bad = (n == "" || $c["kkt_nearest"] > 1e-7)
                         split("d_min_pinv d_min_embed d_min_proj", q, " ")
                         for (k in q) { v = $c[q[k]]; if (v != "" && n > v * (1 + 1e-12)) bad = 1 }
                         if (bad) b++ }
                       END { print b + 0 }' "$OUT/distances.csv")
check "--nearest: every row has d_min_nearest <= pinv, embed, proj and kkt_nearest <= 1e-7" \
      "$nearest_bad bad rows" $([ "$nearest_bad" -eq 0 ]; echo $?)
# Without --nearest the projection's distance is still there wherever it reached the set, and
# equals the --nearest run's (the search only adds a column).
"$BIN" distances "$CFG" --widths 10,30,100 --gammas 0.75,1 --seeds 3 --jobs 2 --out "$S/plain" \
  >/dev/null 2>&1
miss=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
                $c["excess_proj"] != "" && $c["d_min_proj"] == "" { n++ } END { print n + 0 }' "$S/plain/distances.csv")
same=$(paste -d, "$S/plain/distances.csv" "$OUT/distances.csv" | awk -F, 'NR == 1 { next }
         { if ($7 != $24) n++ } END { print n + 0 }')
[ "$miss" = 0 ] && [ "$same" = 0 ] && [ "$(awk 'END { print NR }' "$S/plain/distances.csv")" -gt 1 ]
check "without --nearest: d_min_proj filled wherever excess_proj is, equal to the --nearest run's" \
      "$miss rows missing it, $same rows differing" $?
# Weights beyond double precision: each task says so (not a LAPACK code), exit 1.
"$BIN" distances "$CFG" --widths 10,20 --gammas 1 init.c=1e300 --out "$S/huge" >/dev/null 2>"$S/huge.err"
rc=$?
[ "$rc" -eq 1 ] && [ "$(grep -c "too large for double precision" "$S/huge.err")" -eq 2 ] &&
  ! grep -q LAPACK "$S/huge.err"
check "init.c = 1e300: exit 1, each task names the overflow" "exit $rc: $(head -n 1 "$S/huge.err")" $?
pred=$(jq '.gammas[0].d_min_pinv.predicted' "$OUT/distances.json" 2>/dev/null)
check "json carries the theorem's exponent (-(1-g)(L-1)/2 = -0.375)" "$pred" \
      $(awk -v p="$pred" 'BEGIN { exit !(p == -0.375) }'; echo $?)

finish
