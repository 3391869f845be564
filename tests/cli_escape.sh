# `dlnflow escape`: bad input exits 2 naming the problem and creates nothing; good runs write
# escape.csv, escape.json and the plot, and their numbers obey the escape laws of THEORY.md §4
# (L = 2: slope 1/s1; L = 3: slope L-2 and t alpha/T_H -> 1; L = 4: the path after escape
# approaches the width-one path); results do not depend on --jobs.
#
# Usage (as meson runs it, from the build's tests folder): sh cli_escape.sh DLNFLOW SOURCE_ROOT
# POSIX sh and jq; one "PASS: ..." or "FAIL: ... (detail)" line per check, then a count.

if [ $# -ne 2 ]; then
  echo "usage: sh cli_escape.sh DLNFLOW_BINARY SOURCE_ROOT" >&2
  exit 2
fi
BIN=$1
case $BIN in /*) ;; *) BIN=$(pwd)/$BIN ;; esac
SRC=$(cd "$2" && pwd) || exit 2
CFG=$SRC/tests/data/escape.ini
L4=$SRC/examples/escape-l4.ini

. "$(dirname "$0")/checks.sh"

S=$(mktemp -d ./cli_escape.XXXXXX) || exit 2
S=$(cd "$S" && pwd) || exit 2
trap 'rm -rf "$S"' EXIT
trap 'exit 2' HUP INT PIPE TERM
OUT=$S/out
first_err() { if [ -s "$S/err" ]; then head -n 1 "$S/err" | cut -c 1-300; else echo "no stderr"; fi; }

# bad WHAT PATTERN ARGS...: exit status 2, PATTERN (fixed string) on stderr, no $OUT.
bad() {
  what=$1
  pat=$2
  shift 2
  rm -rf "$OUT"
  "$BIN" escape "$@" --out "$OUT" >"$S/stdout" 2>"$S/err"
  rc=$?
  problems=""
  [ "$rc" -eq 2 ] || problems="exit status $rc, expected 2"
  grep -F -q -e "$pat" "$S/err" || problems="${problems:+$problems; }stderr lacks '$pat'"
  [ -e "$OUT" ] && problems="${problems:+$problems; }output folder was created"
  if [ -z "$problems" ]; then pass "$what"; else fail "$what" "$problems; stderr: $(first_err)"; fi
}

# ---- 1. bad input ---------------------------------------------------------------------------

bad "missing --alphas" "--alphas MAX:MIN:COUNT" "$CFG"
bad "--alphas without COUNT" "--alphas '1e-2:1e-4'" "$CFG" --alphas 1e-2:1e-4
bad "--alphas with a word" "MAX and MIN must be positive" "$CFG" --alphas 1e-2:small:5
bad "--alphas with a negative MIN" "MAX and MIN must be positive" "$CFG" --alphas 1e-2:-1e-4:5
bad "--alphas with MIN above MAX" "need MAX > MIN" "$CFG" --alphas 1e-4:1e-2:5
bad "--alphas with one point" "COUNT >= 2" "$CFG" --alphas 1e-2:1e-4:1
bad "--radius inside the largest alpha theta0" "is not above ||alpha theta0||" \
    "$CFG" --alphas 1e-1:1e-4:4 --radius 0.01
bad "--radius 0" "--radius '0'" "$CFG" --alphas 1e-1:1e-4:4 --radius 0
bad "default radius too small for alpha = 1" "the default --radius" "$CFG" --alphas 1:1e-4:4
bad "missing config" "no-such.ini" "$S/no-such.ini" --alphas 1e-2:1e-4:3
bad "depth 1 has no saddle" "escape needs depth >= 2" "$CFG" --alphas 1e-2:1e-4:3 network.depth=1
bad "--jobs 0" "--jobs '0'" "$CFG" --alphas 1e-2:1e-4:3 --jobs 0
bad "unknown option" "unknown option '--fast'" "$CFG" --alphas 1e-2:1e-4:3 --fast

# ---- 2. L = 2: t = a log(1/alpha) + b with a = 1/s1 ------------------------------------------

"$BIN" escape "$CFG" --alphas 1e-2:1e-12:11 --out "$S/l2" >"$S/l2.out" 2>"$S/err"
rc=$?
files=""
for f in escape.csv escape.json escape.gp escape.png escape.svg; do
  [ -s "$S/l2/$f" ] || files="$files $f"
done
check "L = 2 sweep exits 0 and writes csv, json, gp, png, svg" "exit $rc, missing:$files; \
stderr: $(first_err)" $([ "$rc" -eq 0 ] && [ -z "$files" ]; echo $?)
J=$S/l2/escape.json
rows=$(awk 'END { print NR - 1 }' "$S/l2/escape.csv")
check "escape.csv has one row per alpha" "$rows rows" $([ "$rows" -eq 11 ]; echo $?)
rel=$(jq '(.fit.slope / .slope_predicted - 1) | fabs' "$J" 2>/dev/null)
check "L = 2: fitted a within 1% of 1/s1" "relative difference $rel" \
      $(awk -v r="$rel" 'BEGIN { exit !(r != "" && r < 0.01) }'; echo $?)
s1=$(jq '.s1 * .slope_predicted' "$J" 2>/dev/null)
check "L = 2: slope_predicted is 1/s1" "s1 * slope_predicted = $s1" \
      $(awk -v r="$s1" 'BEGIN { exit !(r > 0.999999999 && r < 1.000000001) }'; echo $?)
grep -q "theory 1/s1" "$S/l2.out"
check "L = 2: stdout puts the theory beside the fit" "$(head -n 3 "$S/l2.out" | tr '\n' ' ')" $?

# ---- 3. L = 3: slope L-2 over the smallest decade, t alpha / T_H -> 1 ------------------------

"$BIN" escape "$CFG" --alphas 1e-2:1e-6:9 --out "$S/l3" network.depth=3 -q 2>"$S/err"
rc=$?
J=$S/l3/escape.json
check "L = 3 sweep exits 0" "exit $rc; stderr: $(first_err)" $rc
p=$(jq '.fit_smallest_decade.slope' "$J" 2>/dev/null)
check "L = 3: p within 1% of L-2 = 1 over the smallest decade" "p = $p" \
      $(awk -v p="$p" 'BEGIN { exit !(p > 0.99 && p < 1.01) }'; echo $?)
ratio=$(jq '.ratio_smallest_alpha' "$J" 2>/dev/null)
check "L = 3: t alpha / T_H within 1% of 1 at the smallest alpha" "ratio $ratio" \
      $(awk -v r="$ratio" 'BEGIN { exit !(r > 0.99 && r < 1.01) }'; echo $?)
tail=$(jq '.seeds[0].T_H.tail_fraction' "$J" 2>/dev/null)
check "L = 3: the analytic tail of T_H is below 1e-3 of it" "tail fraction $tail" \
      $(awk -v r="$tail" 'BEGIN { exit !(r > 0 && r < 1e-3) }'; echo $?)
# The ratio approaches 1 from below as alpha falls: the first row is furthest from it.
first=$(awk -F, 'NR == 2 { print $5 }' "$S/l3/escape.csv")
check "L = 3: the largest alpha is further from the law than the smallest" \
      "ratio $first at the largest alpha, $ratio at the smallest" \
      $(awk -v a="$first" -v b="$ratio" 'BEGIN { d = a - 1; e = b - 1; exit !(d * d > 100 * e * e) }'; echo $?)

# ---- 4. L = 4 --path: distance to the width-one path falls >= 10x; --jobs does not matter ----

"$BIN" escape "$L4" --alphas 1e-1:1e-5:5 --path --jobs 2 --out "$S/p2" -q 2>"$S/err"
rc=$?
check "L = 4 --path sweep exits 0" "exit $rc; stderr: $(first_err)" $rc
d=$(jq -r '"\(.path.distance[0]) \(.path.distance[-1])"' "$S/p2/escape.json" 2>/dev/null)
check "L = 4: path distance falls by 10x from alpha = 1e-1 to 1e-5" "distances $d" \
      $(echo "$d" | awk '{ exit !($1 > 0 && $2 > 0 && $1 >= 10 * $2) }'; echo $?)
"$BIN" escape "$L4" --alphas 1e-1:1e-5:5 --path --jobs 1 --out "$S/p1" -q 2>"$S/err"
cmp -s "$S/p1/escape.csv" "$S/p2/escape.csv"
check "--jobs 1 and --jobs 2 give byte-identical escape.csv" \
      "$(cmp "$S/p1/escape.csv" "$S/p2/escape.csv" 2>&1 | head -n 1)" $?

# ---- 5. --seeds ---------------------------------------------------------------------------

"$BIN" escape "$CFG" --alphas 1e-2:1e-6:3 --seeds 4 --out "$S/s" network.depth=3 -q 2>"$S/err"
rc=$?
rows=$(awk 'END { print NR - 1 }' "$S/s/escape.csv")
seeds=$(cut -d, -f1 "$S/s/escape.csv" | sed 1d | sort -u | tr '\n' ' ')
check "--seeds 4: 4 x 3 rows over init.seed 1..4" "exit $rc, $rows rows, seeds $seeds" \
      $([ "$rc" -eq 0 ] && [ "$rows" -eq 12 ] && [ "$seeds" = "1 2 3 4 " ]; echo $?)
frac=$(jq '.aligned_fraction' "$S/s/escape.json" 2>/dev/null)
n=$(jq '[.seeds[] | select(.alignment_smallest_alpha > 0.99)] | length' "$S/s/escape.json" 2>/dev/null)
check "--seeds: aligned_fraction counts the seeds with alignment > 0.99" "fraction $frac, $n of 4" \
      $(awk -v f="$frac" -v n="$n" 'BEGIN { exit !(f == n / 4) }'; echo $?)

finish
