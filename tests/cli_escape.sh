# `dlnflow escape`: bad input exits 2 naming the problem and creates nothing (an unusable --out,
# too many runs and alphas whose escape time overflows included); SIGINT exits 130 keeping only
# the finished runs; good runs write
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

# refused WHAT PATTERN DIR ABSENT ARGS...: `escape ARGS --out DIR` (run as $RUNAS) exits 2 with
# PATTERN (fixed string) on stderr, and ABSENT does not exist afterwards.
RUNAS=""
refused() {
  what=$1
  pat=$2
  dir=$3
  absent=$4
  shift 4
  $RUNAS "$BIN" escape "$@" --out "$dir" >"$S/stdout" 2>"$S/err"
  rc=$?
  problems=""
  [ "$rc" -eq 2 ] || problems="exit status $rc, expected 2"
  grep -F -q -e "$pat" "$S/err" || problems="${problems:+$problems; }stderr lacks '$pat'"
  [ -e "$absent" ] && problems="${problems:+$problems; }$absent was created"
  if [ -z "$problems" ]; then pass "$what"; else fail "$what" "$problems; stderr: $(first_err)"; fi
}

# bad WHAT PATTERN ARGS...: exit status 2, PATTERN (fixed string) on stderr, no $OUT.
bad() {
  what=$1
  pat=$2
  shift 2
  rm -rf "$OUT"
  refused "$what" "$pat" "$OUT" "$OUT" "$@"
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
bad "--alphas COUNT above the limit" "COUNT 1000000000 is above the limit of 100000 runs" \
    "$L4" --alphas 1e-1:1e-3:1000000000
bad "COUNT x --seeds above the limit" "makes 200000 runs, above the limit of 100000" \
    "$L4" --alphas 1e-1:1e-3:1000 --seeds 200
bad "an alpha whose escape time overflows" "alpha = 1e-160 (init.seed = 1) has a predicted \
escape time of inf" "$L4" --alphas 1e-1:1e-160:3
grep -q "t_max = 100 times it is beyond 1e+300; alpha >= [0-9.e-]* keeps it within range" "$S/err"
check "the overflow names the smallest alpha within range" "$(first_err)" $?

# ---- 1b. the output folder is checked before any run ----------------------------------------

printf 'keep\n' >"$S/afile"
refused "--out an existing file" "output folder '$S/afile': '$S/afile' exists and is not a folder" \
        "$S/afile" "$S/escape.csv" "$L4" --alphas 1e-2:1e-4:3
refused "--out below an existing file" "'$S/afile' exists and is not a folder" \
        "$S/afile/sub" "$S/afile/sub" "$L4" --alphas 1e-2:1e-4:3
[ "$(cat "$S/afile")" = keep ]
check "the file named by --out is left as it was" "$(cat "$S/afile" | head -c 100)" $?
# An unwritable parent: root writes anywhere, so as root the check runs as nobody (setpriv).
mkdir -p "$S/locked" && chmod 555 "$S/locked"
if ! mkdir "$S/locked/probe" 2>/dev/null; then
  RUNAS=""
elif rmdir "$S/locked/probe" && chmod 755 "$S" && command -v setpriv >/dev/null &&
     setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$BIN" -a -r "$L4" 2>/dev/null; then
  RUNAS="setpriv --reuid=65534 --regid=65534 --clear-groups"
else
  RUNAS=skip
fi
if [ "$RUNAS" = skip ]; then
  echo "SKIP: --out under an unwritable folder (root, and setpriv cannot run dlnflow as nobody)"
else
  refused "--out under an unwritable folder" "cannot write in '$S/locked': Permission denied" \
          "$S/locked/sub/run" "$S/locked/sub" "$L4" --alphas 1e-2:1e-4:3
fi
RUNAS=""

# ---- 1c. failed runs: one line each, the alpha named once; beyond 10 only a count -------------

"$BIN" escape "$CFG" --alphas 1e-2:1e-4:12 solver.steps=3 --out "$S/steps" -q 2>"$S/err"
rc=$?
lines=$(wc -l <"$S/err")
twice=$(grep -c "alpha = .*alpha = " "$S/err")
grep -q "and 2 more runs failed" "$S/err"
more=$?
check "failed runs exit 1 with 10 named (alpha once each) and 2 counted" \
      "exit $rc, $lines lines, $twice naming alpha twice; stderr: $(first_err)" \
      $([ "$rc" -eq 1 ] && [ "$lines" -eq 11 ] && [ "$twice" -eq 0 ] && [ "$more" -eq 0 ]; echo $?)

# ---- 1c2. a smallest decade with fewer than two escapes has no fit: null, not zeros -----------
"$BIN" escape "$L4" --alphas 1e-1:1e-12:3 --out "$S/nodecade" -q >/dev/null 2>&1
got=$(jq -c '.fit_smallest_decade' "$S/nodecade/escape.json" 2>/dev/null)
check "one alpha in the smallest decade: fit_smallest_decade has points 0 and null numbers" "$got" \
  $([ "$got" = '{"points":0,"slope":null,"slope_stderr":null,"intercept":null,"intercept_stderr":null}' ]; echo $?)

# ---- 1d. SIGINT: no new runs, one line, only finished rows kept -------------------------------

# 100000 runs on one thread take minutes, so the signal at 1 s comes mid-sweep on any machine
# (or, on a very slow one, before the first run: then nothing may be written).
timeout --preserve-status -s INT 1 "$BIN" escape "$L4" --alphas 1e-1:1e-9:100000 --jobs 1 \
        --out "$S/int" -q >"$S/stdout" 2>"$S/err"
rc=$?
lines=$(wc -l <"$S/err")
grep -E -q "^dlnflow escape: interrupted (after [0-9]+ of 100000 runs|before the first run)" "$S/err"
said=$?
check "SIGINT exits 130 with one 'interrupted after N of M runs' line" \
      "exit $rc, $lines stderr lines: $(first_err)" \
      $([ "$rc" -eq 130 ] && [ "$lines" -le 2 ] && [ "$said" -eq 0 ]; echo $?)
if [ -e "$S/int/escape.csv" ]; then
  rows=$(awk 'END { print NR - 1 }' "$S/int/escape.csv")
  unfinished=$(awk -F, 'NR > 1 && ($14 != 1 || $3 == "")' "$S/int/escape.csv" | wc -l)
  meta=$(jq -r '"\(.status) \(.runs_finished) \(.runs_planned)"' "$S/int/escape.json" 2>/dev/null)
  check "an interrupted escape.csv has only the finished rows; status interrupted" \
        "$rows rows, $unfinished unfinished, json: $meta" \
        $([ "$rows" -ge 1 ] && [ "$rows" -lt 100000 ] && [ "$unfinished" -eq 0 ] &&
          [ "$meta" = "interrupted $rows 100000" ]; echo $?)
else
  [ ! -e "$S/int" ] && grep -q "nothing written" "$S/err"
  check "interrupted before any run finished: nothing written" "$(first_err)" $?
fi

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
