# Successful `dlnflow run`s, checked by their values: repeatability, the paper's Figure 1
# (three plateaus and a rank-3 recovery), exact output times, the loss-target stop, gradient
# descent's clock, an interrupted run, and locale-independent numbers.
#
# Usage (as meson runs it, from the build's tests folder): sh cli_run.sh DLNFLOW SOURCE_ROOT
# POSIX sh; one "PASS: ..." or "FAIL: ... (detail)" line per check, then "N passed, M failed".

if [ $# -ne 2 ]; then
  echo "usage: sh cli_run.sh DLNFLOW_BINARY SOURCE_ROOT" >&2
  exit 2
fi
BIN=$1
case $BIN in /*) ;; *) BIN=$(pwd)/$BIN ;; esac
SRC=$(cd "$2" && pwd) || exit 2
DATA=$SRC/tests/data
FIG1=$SRC/examples/fig1-mc-rank3.ini
REG=$DATA/regress.ini

. "$(dirname "$0")/checks.sh"

S=$(mktemp -d ./cli_run.XXXXXX) || exit 2
S=$(cd "$S" && pwd) || exit 2
BGPID=""
# A background run still going when the script stops is ended by its id.
trap '[ -n "$BGPID" ] && kill -KILL "$BGPID" 2>/dev/null; rm -rf "$S"' EXIT
trap 'exit 2' HUP INT PIPE TERM

# run NAME ARGS...: dlnflow run --quiet --out $S/NAME ARGS..., exit status in $rc, stderr in
# $S/NAME.err.
run() {
  name=$1
  shift
  "$BIN" run --quiet --out "$S/$name" "$@" >"$S/$name.out" 2>"$S/$name.err"
  rc=$?
}
first_err() { if [ -s "$1" ]; then head -n 1 "$1" | cut -c 1-300; else echo "no stderr"; fi; }

# ran WHAT NAME EXPECTED_RC: one check that the run exited as expected and wrote its files.
ran() {
  d=$S/$2
  if [ "$rc" -eq "$3" ] && [ -s "$d/trajectory.csv" ] && [ -s "$d/summary.json" ] &&
     [ -s "$d/A_final.npy" ]; then
    pass "$1"
  else
    fail "$1" "exit status $rc, expected $3; files: $(ls -A "$d" 2>/dev/null | tr '\n' ' ');\
 stderr: $(first_err "$d.err")"
  fi
}

# Prints field $2 of the last line of CSV file $1.
last_field() { tail -n 1 "$1" 2>/dev/null | cut -d, -f "$2"; }
# Prints the (1-based) column of CSV $1 whose header is $2 (0 if none).
column_of() { head -n 1 "$1" 2>/dev/null | awk -F, -v name="$2" '{ for (i = 1; i <= NF; i++) if ($i == name) { print i; exit } print 0 }'; }
# Number of data rows (lines after the header).
data_rows() { [ -e "$1" ] && awk 'END { print NR - 1 }' "$1" || echo 0; }
# Prints "" when every row of CSV $1 has the header's number of fields and the file ends
# with a newline, else what is wrong.
shape_problems() {
  if [ ! -s "$1" ]; then printf 'no file %s' "$1"; return; fi
  awk -F, 'NR == 1 { n = NF; next }
           NF != n { printf "line %d has %d fields, header %d; ", NR, NF, n; bad++ }
           bad >= 3 { exit }' "$1"
  [ -z "$(tail -c 1 "$1")" ] || printf 'no newline at the end'
}
# Fixed-string search in a summary.json, allowing for the JSON indentation.
json_has() { grep -q -F -e "$2" "$1" 2>/dev/null; }
# The lines of a summary.json holding $2, for failure details.
json_line() { grep -F -e "$2" "$1" 2>/dev/null | tr -s " " | tr "\n" " "; }

# ---- 1. the paper's Figure 1, twice with the same seed and once with another ----------------

run fig1 "$FIG1"
ran "fig1-mc-rank3.ini exits 0 and writes trajectory.csv, summary.json, A_final.npy" fig1 0
run fig1-again "$FIG1"
ran "fig1-mc-rank3.ini again (same seed) exits 0" fig1-again 0
run fig1-seed2 "$FIG1" init.seed=2
ran "fig1-mc-rank3.ini with init.seed=2 exits 0" fig1-seed2 0
T=$S/fig1/trajectory.csv

cmp -s "$T" "$S/fig1-again/trajectory.csv"
check "same seed twice: byte-identical trajectory.csv" \
      "$(cmp "$T" "$S/fig1-again/trajectory.csv" 2>&1 | head -n 1)" $?
cmp -s "$S/fig1/A_final.npy" "$S/fig1-again/A_final.npy"
check "same seed twice: byte-identical A_final.npy" \
      "$(cmp "$S/fig1/A_final.npy" "$S/fig1-again/A_final.npy" 2>&1 | head -n 1)" $?
[ -s "$T" ] && [ -s "$S/fig1-seed2/trajectory.csv" ] && ! cmp -s "$T" "$S/fig1-seed2/trajectory.csv"
check "init.seed=2 gives a different trajectory.csv" "the two files are identical or missing" $?

# ---- 2. Figure 1's values -----------------------------------------------------------------

want='t,loss,test_loss,grad_norm,theta_norm,balance_drift,rank,nuclear_norm,plateau,sv1,sv2'
head=$(head -n 1 "$T" 2>/dev/null)
case $head in "$want"*) st=0 ;; *) st=1 ;; esac
check "fig1: trajectory.csv header starts with $want" "header is '$head'" $st

p=$(shape_problems "$T")
[ -z "$p" ]
check "fig1: every trajectory row has the header's column count" "$p" $?

t0=$(sed -n 2p "$T" 2>/dev/null | cut -d, -f1)
[ "$t0" = 0 ]
check "fig1: first row at t = 0" "first t is '$t0'" $?

# Final train loss at least 1e6 times below the first, final test loss 1e4 times.
r=$(awk -F, 'NR == 2 { a = $2; b = $3 } END { printf "%s %s %s %s", a, $2, b, $3 }' "$T" 2>/dev/null)
set -- $r
awk -v a="$1" -v z="$2" 'BEGIN { exit !(z > 0 && z * 1e6 <= a) }'
check "fig1: final train loss at least 1e6 times below the first" "first $1, final $2" $?
awk -v a="$3" -v z="$4" 'BEGIN { exit !(z > 0 && z * 1e4 <= a) }'
check "fig1: final test loss at least 1e4 times below the first" "first $3, final $4" $?

rk=$(last_field "$T" "$(column_of "$T" rank)")
[ "$rk" = 3 ]
check "fig1: final rank is 3" "final rank '$rk'" $?

# The three plateaus: sv1, sv2, sv3 first exceed 1.0 one after the other, well apart.
sv1=$(column_of "$T" sv1)
cross=$(awk -F, -v sv1="$sv1" 'NR > 1 { for (k = 1; k <= 3; k++) if (!(k in f) && $(sv1 - 1 + k) > 1.0) f[k] = $1 }
                 END { for (k = 1; k <= 3; k++) printf "%s ", (k in f) ? f[k] : "never" }' "$T" 2>/dev/null)
set -- $cross
awk -v a="$1" -v b="$2" -v c="$3" 'BEGIN {
      if (a == "never" || b == "never" || c == "never") exit 1
      exit !(a > 0 && a < b && b < c) }'
check "fig1: sv1, sv2, sv3 first exceed 1 in that order" "first crossings at t = $cross" $?
awk -v a="$1" -v b="$2" -v c="$3" 'BEGIN {
      if (a == "never" || b == "never" || c == "never") exit 1
      exit !(a > 0 && b / a > 1.2 && c / b > 1.2) }'
check "fig1: consecutive first-crossing times are more than 1.2x apart (three plateaus)" \
      "first crossings at t = $cross" $?

J=$S/fig1/summary.json
json_has "$J" '"status": "completed"'
check "fig1: summary.json has \"status\": \"completed\"" "$(json_line "$J" '"status"')" $?
json_has "$J" '"rank_final": 3,'
check "fig1: summary.json has \"rank_final\": 3" "$(json_line "$J" '"rank_final"')" $?
json_has "$J" '"stop_reason": "t_max"'
check "fig1: summary.json has \"stop_reason\": \"t_max\"" "$(json_line "$J" '"stop_reason"')" $?
missing=""
for k in steps rhs_evals hvp_evals newton_iters error_test_fails; do
  grep -q "\"$k\": [0-9]" "$J" 2>/dev/null || missing="$missing $k"
done
[ -z "$missing" ]
check "fig1: summary.json has solver stats (steps, rhs_evals, hvp_evals, ...)" \
      "missing or not a count:$missing" $?
hvp=$(sed -n 's/.*"hvp_evals": \([0-9]*\).*/\1/p' "$J" 2>/dev/null)
[ "${hvp:-0}" -gt 0 ]
check "fig1: BDF used Hessian-vector products (hvp_evals > 0)" "hvp_evals = '$hvp'" $?
n=$(data_rows "$T")
json_has "$J" "\"samples\": $n,"
check "fig1: summary.json samples equals the trajectory's $n rows" \
      "$(json_line "$J" '"samples"')" $?

# A_final.npy: NPY v1 header for a 10 x 10 float64 array, and the matrix of the last row:
# its squared Frobenius norm equals the sum of the squared singular values sv1..sv10.
A=$S/fig1/A_final.npy
hdr=0
size=0
sig=""
shape_ok=0
if [ -s "$A" ] && [ "$(wc -c <"$A")" -ge 10 ]; then
  # Bytes 0-7: \x93NUMPY, version 1 0; bytes 8-9: the header length, little-endian.
  set -- $(od -A n -t u1 -N 10 "$A")
  hdr=$((10 + $9 + 256 * ${10}))
  size=$(wc -c <"$A")
  sig=$(printf '%s %s %s %s %s %s %s %s' "$1" "$2" "$3" "$4" "$5" "$6" "$7" "$8")
  head -c "$hdr" "$A" |
    grep -a -q -F "'descr': '<f8', 'fortran_order': False, 'shape': (10, 10)" && shape_ok=1
fi
[ "$sig" = "147 78 85 77 80 89 1 0" ] && [ "$shape_ok" = 1 ] && [ "$size" -eq $((hdr + 800)) ]
check "fig1: A_final.npy is an NPY v1.0 float64 10 x 10 array" \
      "magic/version bytes '$sig', header ok $shape_ok, $size bytes with a $hdr-byte header" $?
fro=$(od -A n -t f8 -v -j "$hdr" "$A" 2>/dev/null |
      awk '{ for (i = 1; i <= NF; i++) { s += $i * $i; n++ } } END { printf "%.17g %d", s, n }')
svs=$(tail -n 1 "$T" 2>/dev/null |
      awk -F, -v sv1="$(column_of "$T" sv1)" '{ for (i = sv1; i <= NF; i++) s += $i * $i; printf "%.17g", s }')
set -- $fro
awk -v a="$1" -v n="$2" -v b="$svs" 'BEGIN { d = a - b; if (d < 0) d = -d
                                            exit !(n == 100 && b > 0 && d <= 1e-9 * b) }'
check "fig1: ||A_final||_F^2 equals the last row's sum of squared singular values" \
      "A_final: $2 values, ||A||_F^2 = $1; last row: sum sv^2 = $svs" $?

# ---- 2b. nuclear norm and the zero predictor's costs --------------------------------------

# nuclear_norm is the sum of every singular value (fig1's 10 x 10 A: all ten sv columns).
bad=$(awk -F, -v nn="$(column_of "$T" nuclear_norm)" -v sv1="$(column_of "$T" sv1)" '
      NR > 1 { s = 0; for (i = sv1; i <= NF; i++) s += $i; d = s - $nn; if (d < 0) d = -d
               if (!(d <= 1e-12 * s + 1e-300) || NF - sv1 + 1 != 10) { printf "line %d: %s vs sum %.17g; ", NR, $nn, s; n++ } }
      n >= 3 { exit }' "$T" 2>/dev/null)
[ -z "$bad" ] && [ "$(column_of "$T" nuclear_norm)" -gt 0 ]
check "fig1: nuclear_norm equals the sum of sv1..sv10 on every row" "${bad:-no nuclear_norm column}" $?
nn=$(last_field "$T" "$(column_of "$T" nuclear_norm)")
got=$(jq -r .result.nuclear_norm_final "$J" 2>/dev/null)
awk -v a="$nn" -v b="$got" 'BEGIN { exit !(a > 0 && a == b) }'
check "fig1: summary.json nuclear_norm_final is the last row's nuclear_norm ($nn)" \
      "summary.json has '$got'" $?

# Matrix completion from files: C(0) is the mean square of the observed target entries
# (repeats counted), the test cost at 0 the mean square of the others; computed here from
# tests/data/mc-target.csv and mc-observed.csv.
run mczero "$DATA/mc.ini"
want=$(awk -F, 'NR == FNR { for (j = 1; j <= NF; j++) a[FNR - 1, j - 1] = $j; rows = FNR; cols = NF; next }
                { o[$1, $2] = 1; s += a[$1, $2] ^ 2; n++ }
                END { for (i = 0; i < rows; i++) for (j = 0; j < cols; j++)
                        if (!((i, j) in o)) { t += a[i, j] ^ 2; m++ }
                      printf "%.17g %.17g", s / n, t / m }' "$DATA/mc-target.csv" "$DATA/mc-observed.csv")
got=$(jq -r '"\(.result.loss_zero) \(.result.test_loss_zero)"' "$S/mczero/summary.json" 2>/dev/null)
set -- $want $got
awk -v a="$1" -v b="$2" -v c="$3" -v d="$4" 'BEGIN {
      e = a - c; f = b - d; if (e < 0) e = -e; if (f < 0) f = -f
      exit !(a > 0 && b > 0 && e <= 1e-14 * a && f <= 1e-14 * b) }'
check "mc: loss_zero and test_loss_zero are the mean squares of the observed and held-out entries" \
      "computed $want, summary.json $got" $?

# Regression without a test set: C(0) = (1/N) ||Y||_F^2 from tests/data/y.csv, test null.
run regzero "$REG"
want=$(awk -F, '{ for (j = 1; j <= NF; j++) s += $j * $j; n++ } END { printf "%.17g", s / n }' "$DATA/y.csv")
got=$(jq -r '"\(.result.loss_zero) \(.result.test_loss_zero)"' "$S/regzero/summary.json" 2>/dev/null)
set -- $got
awk -v a="$want" -v c="$1" 'BEGIN { e = a - c; if (e < 0) e = -e; exit !(a > 0 && e <= 1e-13 * a) }' &&
  [ "$2" = null ]
check "mse: loss_zero = ||Y||_F^2 / N and test_loss_zero null without a test set" \
      "computed $want, summary.json $got" $?

# ---- 3. output.times adds rows at exactly those times --------------------------------------

run times "$REG" output.times=12.25,37.5,62.125
ran "output.times=12.25,37.5,62.125 exits 0" times 0
T=$S/times/trajectory.csv
for t in 12.25 37.5 62.125; do
  re=$(printf "%s" "$t" | sed "s/\./\\\\./g")
  c=$(grep -c "^$re," "$T" 2>/dev/null)
  [ "${c:-0}" -eq 1 ]
  check "output.times: exactly one row at t = $t" \
        "$c rows start with '$t,'; t values near it: $(cut -d, -f1 "$T" 2>/dev/null | grep "^${t%%.*}" | tr '\n' ' ')" $?
done
bad=$(awk -F, 'NR > 2 && !($1 + 0 > prev + 0) { printf "line %d: %s after %s; ", NR, $1, prev }
               NR > 1 { prev = $1 }' "$T" 2>/dev/null)
[ -z "$bad" ] && [ "$(data_rows "$T")" -ge 2 ]
check "output.times: t increases strictly down trajectory.csv" "${bad:-fewer than 2 rows}" $?
n=$(data_rows "$T")
stop=$(jq -r .result.stop_reason "$S/times/summary.json" 2>/dev/null)
[ "$n" -eq 45 ] && [ "$stop" = converged ]
check "output.times: 0, 40 log-spaced samples, 3 extra times and the row where it converged make 45 rows" \
      "$n rows, stop $stop" $?

# A far horizon is the same run: the first output time (t_max·1e-6 by default) no longer sets
# CVODE's first step, which from 1e29 on failed at t = 0 or jumped onto the saddle at the origin.
run near "$DATA/teacher-l3.ini"
want=$(jq -r .result.loss_final "$S/near/summary.json" 2>/dev/null)
for tm in 1e35 1e100 1e200; do
  run far$tm "$DATA/teacher-l3.ini" solver.t_max=$tm
  got=$(jq -r '"\(.result.stop_reason) \(.result.loss_final) \(.result.balance_drift_final)"' \
        "$S/far$tm/summary.json" 2>/dev/null)
  set -- $got
  [ "$rc" -eq 0 ] && [ "$1" = converged ] &&
    awk -v a="$2" -v b="$want" -v d="$3" 'BEGIN { e = a - b; if (e < 0) e = -e; exit !(e <= 1e-6 * b && d < 1e-4) }'
  check "solver.t_max = $tm: exit 0, converged to the t_max = 1000 loss $want, balance kept" \
        "exit $rc; stop, loss, balance drift: $got" $?
done

# Accurate from 1e-10 after an escape, too: an aligned depth-3 net leaves each of its three saddles
# near t = 1 / (2 s w0) (a tolerance that followed the grown layers left the two later modes
# uncontrolled: they never escaped).
run aligned3 "$DATA/aligned3/aligned3.ini"
got=$(jq -r '[.plateaus[] | select(.t_exit != null) | .t_exit] | map(tostring) | join(" ")' \
      "$S/aligned3/events.json" 2>/dev/null)
rank=$(jq -r .result.rank_final "$S/aligned3/summary.json" 2>/dev/null)
set -- $got
awk -v a="${1:-0}" -v b="${2:-0}" -v c="${3:-0}" -v n=$# 'BEGIN {
  split("3 2 1", s, " "); t[1] = a; t[2] = b; t[3] = c
  for (i = 1; i <= 3; i++) { e = t[i] * 2 * s[i] * 1e-10 - 1; if (e < 0) e = -e; if (!(e < 1e-3)) exit 1 }
  exit n != 3 }' && [ "$rank" = 3 ]
check "aligned depth 3 from 1e-10: exits at 1/(2 s w0) for s = 3, 2, 1 to 1e-3, rank 3" \
      "exits $got, rank $rank" $?

# The convergence stop follows a tight rtol: at 1e-10 the final singular values are within 1e-8
# of 3, 2, 1 (the stop at 1e3 eps of the initial loss capped them near 2e-6).
run aligned3t "$DATA/aligned3/aligned3.ini" solver.rtol=1e-10
got=$(jq -r '"\(.result.stop_reason) " + (.result.singular_values_final | map(tostring) | join(" "))' \
      "$S/aligned3t/summary.json" 2>/dev/null)
set -- $got
[ "$1" = converged ] && awk -v a="$2" -v b="$3" -v c="$4" 'BEGIN {
  e = a - 3; f = b - 2; g = c - 1; if (e < 0) e = -e; if (f < 0) f = -f; if (g < 0) g = -g
  exit !(e < 1e-8 && f < 1e-8 && g < 1e-8) }'
check "rtol 1e-10: converged with singular values within 1e-8 of 3, 2, 1" "$got" $?

# A converged run keeps a row for every output time, however many there are and however close
# to the convergence time: a CVODE step that reaches past an output time, with the
# convergence inside it, used to lose the times before it and the one it stopped at.
for N in 3 200 20000; do
  run conv$N "$REG" output.samples=$N
  n=$(data_rows "$S/conv$N/trajectory.csv")
  last=$(tail -n 1 "$S/conv$N/trajectory.csv" | cut -d, -f1)
  got=$(jq -r '"\(.result.stop_reason) \(.result.t_final) \(.result.samples)"' "$S/conv$N/summary.json" 2>/dev/null)
  [ "$n" -eq $((N + 2)) ] && [ "$last" = 100 ] && [ "$got" = "converged 100 $((N + 2))" ]
  check "output.samples = $N, converged: $((N + 1)) scheduled rows and the convergence row, the last at t_max" \
        "$n rows, last t $last; stop, t_final, samples: $got" $?
done

# ---- 4. solver.loss_target stops early -----------------------------------------------------

target=1e-3
run target "$REG" solver.loss_target=$target
ran "solver.loss_target=$target exits 0" target 0
J=$S/target/summary.json
json_has "$J" '"stop_reason": "loss_target"'
check "loss_target: summary.json stop_reason is \"loss_target\"" "$(json_line "$J" '"stop_reason"')" $?
loss=$(last_field "$S/target/trajectory.csv" 2)
awk -v l="$loss" -v g="$target" 'BEGIN { d = (l - g) / g; if (d < 0) d = -d; exit !(d <= 1e-6) }'
check "loss_target: last row's loss is within 1e-6 relative of $target" "last loss $loss" $?
tl=$(last_field "$S/target/trajectory.csv" 1)
awk -v t="$tl" 'BEGIN { exit !(t > 0 && t < 100) }'
check "loss_target: the run stopped before solver.t_max = 100" "last t $tl" $?

# ---- 5. gradient descent: t = steps * learning_rate ------------------------------------------

lr=0.01
steps=500
run gd "$REG" solver.method=gd solver.learning_rate=$lr solver.steps=$steps
ran "solver.method=gd learning_rate=$lr steps=$steps exits 0" gd 0
tl=$(last_field "$S/gd/trajectory.csv" 1)
awk -v t="$tl" -v h="$lr" -v k="$steps" 'BEGIN { exit !(t == k * h) }'
check "gd: last t equals steps * learning_rate = $steps * $lr" "last t '$tl'" $?
json_has "$S/gd/summary.json" '"stop_reason": "max_steps"'
check "gd: summary.json stop_reason is \"max_steps\"" \
      "$(json_line "$S/gd/summary.json" '"stop_reason"')" $?
json_has "$S/gd/summary.json" "\"steps\": $steps,"
check "gd: summary.json counts $steps steps" "$(json_line "$S/gd/summary.json" '"steps"')" $?
r=$(awk -F, 'NR == 2 { a = $2 } END { printf "%s %s", a, $2 }' "$S/gd/trajectory.csv" 2>/dev/null)
set -- $r
awk -v a="$1" -v z="$2" 'BEGIN { exit !(z > 0 && z < a / 100) }'
check "gd: loss fell more than 100-fold" "first $1, last $2" $?

# ---- 5b. init.scheme = file: θ(0) read from a folder next to the config ---------------------

# W1 (4 x 3) all 0.1 and W2 (2 x 4) all 0.2: ||θ(0)||^2 = 12 * 0.01 + 8 * 0.04 = 0.44, and
# A(0) = W2 W1 has every entry 4 * 0.02 = 0.08, so it has rank 1 with sv1 = 0.08 * sqrt(6).
mkdir -p "$S/fromfile-cfg/w"
awk 'BEGIN { for (i = 0; i < 4; i++) print "0.1,0.1,0.1" }' >"$S/fromfile-cfg/w/W1.csv"
awk 'BEGIN { for (i = 0; i < 2; i++) print "0.2,0.2,0.2,0.2" }' >"$S/fromfile-cfg/w/W2.csv"
sed -e "s|^x = x.csv\$|x = $DATA/x.csv|" -e "s|^y = y.csv\$|y = $DATA/y.csv|" \
    -e 's|^scheme = .*|scheme = file\ndir = w|' "$REG" >"$S/fromfile-cfg/run.ini"
run fromfile "$S/fromfile-cfg/run.ini"
ran "init.scheme=file with a relative init.dir (next to the config) exits 0" fromfile 0
T=$S/fromfile/trajectory.csv
row0=$(sed -n 2p "$T" 2>/dev/null)
awk -F, -v row="$row0" -v th="$(column_of "$T" theta_norm)" -v rk="$(column_of "$T" rank)" \
    -v s1="$(column_of "$T" sv1)" -v s2="$(column_of "$T" sv2)" 'BEGIN {
      n = split(row, f, ",")
      e1 = f[th] - sqrt(0.44); e2 = f[s1] - 0.08 * sqrt(6)
      if (e1 < 0) e1 = -e1
      if (e2 < 0) e2 = -e2
      exit !(n == s2 && f[1] == 0 && e1 <= 1e-12 && e2 <= 1e-12 && f[s2] + 0 <= 1e-12 && f[rk] == 1) }'
check "init.scheme=file: t = 0 row has ||theta|| = sqrt(0.44), sv1 = 0.08*sqrt(6), sv2 = 0, rank 1" \
      "row 0: $row0" $?

# ---- 6. an interrupted run keeps complete files -------------------------------------------

d=$S/interrupted
"$BIN" run --quiet --out "$d" "$FIG1" solver.t_max=1e9 solver.rtol=1e-12 >"$d.out" 2>"$d.err" &
BGPID=$!
# The signal handler is in place once trajectory.csv.tmp exists; then let it run 1 s.
i=0
while [ ! -e "$d/trajectory.csv.tmp" ] && [ $i -lt 200 ] && kill -0 "$BGPID" 2>/dev/null; do
  sleep 0.1
  i=$((i + 1))
done
sleep 1
kill -INT "$BGPID" 2>/dev/null
i=0
while kill -0 "$BGPID" 2>/dev/null && [ $i -lt 300 ]; do
  sleep 0.1
  i=$((i + 1))
done
stuck=0
if kill -0 "$BGPID" 2>/dev/null; then
  stuck=1
  kill -KILL "$BGPID" 2>/dev/null
fi
wait "$BGPID"
rc=$?
BGPID=""
[ "$stuck" = 0 ] && [ "$rc" -eq 130 ]
check "SIGINT: run exits 130" "exit status $rc, still running 30 s after SIGINT: $stuck;\
 stderr: $(first_err "$d.err")" $?
grep -q 'interrupted by a signal' "$d.err"
check "SIGINT: stderr says the run was interrupted" "stderr: $(first_err "$d.err")" $?
tmps=$(ls -A "$d" 2>/dev/null | grep '\.tmp$' | tr '\n' ' ')
[ -z "$tmps" ] && [ -s "$d/trajectory.csv" ] && [ -s "$d/summary.json" ] && [ -s "$d/A_final.npy" ]
check "SIGINT: trajectory.csv, summary.json and A_final.npy written, no .tmp left" \
      "files: $(ls -A "$d" 2>/dev/null | tr '\n' ' ')" $?
T=$d/trajectory.csv
n=$(data_rows "$T" 2>/dev/null)
p=$(shape_problems "$T" 2>&1)
[ "${n:-0}" -ge 2 ] && [ -z "$p" ]
check "SIGINT: trajectory.csv is complete (>= 2 rows, all full)" "${n:-0} rows; $p" $?
json_has "$d/summary.json" '"status": "interrupted"'
check "SIGINT: summary.json has \"status\": \"interrupted\"" \
      "$(json_line "$d/summary.json" '"status"')" $?
tl=$(last_field "$T" 1 2>/dev/null)
awk -v t="$tl" 'BEGIN { exit !(t > 0 && t < 1e9) }'
check "SIGINT: the run stopped before t_max (last t > 0 and < 1e9)" "last t '$tl'" $?
! grep -q '"hessian_final"' "$d/summary.json"
check "SIGINT: no final Hessian spectrum is computed after an interrupt (it exits at once)" \
      "$(json_line "$d/summary.json" '"hessian_final"')" $?

# ---- 7. numbers do not depend on the locale -----------------------------------------------

LC_ALL=fr_FR.UTF-8 LANG=fr_FR.UTF-8 "$BIN" run --quiet --out "$S/fr" "$REG" \
  output.times=12.25 >"$S/fr.out" 2>"$S/fr.err"
rc=$?
ran "LC_ALL=fr_FR.UTF-8 run exits 0" fr 0
T=$S/fr/trajectory.csv
p=$(shape_problems "$T" 2>&1)
[ -z "$p" ] && [ "$(data_rows "$T")" -ge 2 ]
check "LC_ALL=fr_FR.UTF-8: every row has the header's column count (no decimal commas)" \
      "$p; $(sed -n 3p "$T" 2>/dev/null | cut -c 1-80)" $?
grep -q '^12\.25,[0-9]*\.[0-9]' "$T" 2>/dev/null
check "LC_ALL=fr_FR.UTF-8: numbers use '.' (row at t = 12.25)" \
      "$(grep '^12' "$T" 2>/dev/null | cut -c 1-80)" $?
LC_ALL=C LANG=C "$BIN" run --quiet --out "$S/c" "$REG" output.times=12.25 >"$S/c.out" 2>"$S/c.err"
rc=$?
ran "LC_ALL=C run exits 0" c 0
cmp -s "$T" "$S/c/trajectory.csv"
check "LC_ALL=fr_FR.UTF-8 and LC_ALL=C give byte-identical trajectory.csv" \
      "$(cmp "$T" "$S/c/trajectory.csv" 2>&1 | head -n 1)" $?

finish
