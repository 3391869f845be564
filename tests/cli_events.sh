#!/bin/sh
# dlnflow run's saddle events (docs/events.md): Figure 1 visits saddles of rank 0, 1, 2 and
# a rank-3 global minimum, located so that --verify moves no event time by 1e-4; the
# trajectory's plateau column follows events.json; kicks are recorded; bad event settings
# are refused before anything is written; the same run writes the same events.json.
# Usage (as meson runs it): sh cli_events.sh DLNFLOW SOURCE_ROOT
if [ $# -ne 2 ]; then
  echo "usage: sh cli_events.sh DLNFLOW_BINARY SOURCE_ROOT" >&2
  exit 2
fi
BIN=$1
SRC=$(cd "$2" && pwd) || exit 2
FIG1=$SRC/examples/fig1-mc-rank3.ini
REG=$SRC/tests/data/regress.ini
. "$(dirname "$0")/checks.sh"
S=$(mktemp -d "${TMPDIR:-/tmp}/dlnflow-events.XXXXXX") || exit 2
trap 'rm -rf "$S"' EXIT

# Values of a plateau-level key (indent 6) of events.json, in record order, before "verify".
plateau_field() {
  awk -v key="\"$2\":" '/^  "verify"/ { exit } $0 ~ "^      " key { v = $2; sub(/,$/, "", v); gsub(/"/, "", v); printf "%s ", v }' "$1" 2>/dev/null
}
# The value of "key" inside verify's largest_relative_change.
largest_change() {
  awk -v key="\"$2\":" '/"largest_relative_change"/ { on = 1; next } on && $1 == key { v = $2; sub(/,$/, "", v); print v; exit }' "$1" 2>/dev/null
}

# ---- 1. Figure 1 with --verify --------------------------------------------------------------
"$BIN" run --out "$S/fig1" --verify "$FIG1" >"$S/fig1.out" 2>"$S/fig1.err"
rc=$?
check "fig1 --verify exits 0" "exit $rc: $(head -n 3 "$S/fig1.err")" $rc
E=$S/fig1/events.json
kinds=$(plateau_field "$E" kind)
[ "$kinds" = "saddle saddle saddle minimum " ]
check "fig1: three saddles then a minimum" "kinds: $kinds" $?
ranks=$(plateau_field "$E" rank)
[ "$ranks" = "0 1 2 3 " ]
check "fig1: the saddles have rank 0, 1, 2 and the minimum rank 3" "ranks: $ranks" $?
types=$(plateau_field "$E" minimum_type)
[ "$(echo $types)" = "global" ]
check "fig1: the minimum is global" "minimum types: $types" $?
entries=$(plateau_field "$E" t_entry)
set -- $entries
[ "$1" = "0.0" ]
check "fig1: the origin plateau is first, entered at t = 0" "t_entry: $entries" $?
for key in t_entry t_closest t_exit loss; do
  v=$(largest_change "$E" $key)
  awk -v v="$v" 'BEGIN { exit !(v != "" && v + 0 < 1e-4) }'
  check "fig1 --verify: $key moves by less than 1e-4 relative" "largest change '$v'" $?
done
n=0
for k in 0 1 2 3; do [ -s "$S/fig1/A_closest_$k.npy" ] && [ -s "$S/fig1/A_entry_$k.npy" ] && n=$((n + 1)); done
[ "$n" -eq 4 ] && [ -s "$S/fig1/A_exit_2.npy" ] && [ ! -e "$S/fig1/A_exit_3.npy" ]
check "fig1: A at entry and closest approach of every plateau, at exit of those left" \
      "$(ls "$S/fig1" | tr '\n' ' ')" $?
rows=$(grep -c -E '^ +[0-9]+  (saddle|minimum) ' "$S/fig1.out")
[ "$rows" -eq 4 ]
check "fig1: the saddle table on stdout has 4 rows" "$rows rows" $?
T=$S/fig1/trajectory.csv
col=$(head -n 1 "$T" | awk -F, '{ for (i = 1; i <= NF; i++) if ($i == "plateau") print i }')
seq=$(awk -F, -v c="$col" 'BEGIN { prev = "none" } NR > 1 && $c "" != prev { printf "%s ", $c; prev = $c }' "$T")
[ "$seq" = "0 -1 1 -1 2 -1 3 " ]
check "fig1: the plateau column runs 0, -1, 1, -1, 2, -1, 3" "sequence: $seq" $?
closest=$(plateau_field "$E" t_closest)
set -- $closest
lab=$(awk -F, -v c="$col" -v t="$3" 'NR > 1 && $1 + 0 >= t + 0 { print $c; exit }' "$T")
[ "$lab" = 2 ]
check "fig1: the first row after saddle 2's closest approach is labelled 2" "label '$lab'" $?

# ---- 2. the same run twice writes the same events.json; kicks are recorded -------------------
"$BIN" run --quiet --out "$S/reg1" "$REG" >/dev/null 2>&1
"$BIN" run --quiet --out "$S/reg2" "$REG" >/dev/null 2>&1
[ -s "$S/reg1/events.json" ] && cmp -s "$S/reg1/events.json" "$S/reg2/events.json"
check "the same run twice writes byte-identical events.json" \
      "$(cmp "$S/reg1/events.json" "$S/reg2/events.json" 2>&1)" $?
"$BIN" run --quiet --out "$S/kick" "$FIG1" events.perturb=1e-3 >/dev/null 2>"$S/kick.err"
kicks=$(plateau_field "$S/kick/events.json" kick)
set -- $kicks
awk -v a="$1" -v b="$2" 'BEGIN { exit !(a == 0 && b > 0) }'
check "events.perturb: no kick at the origin, a kick at the next plateau" "kicks: $kicks" $?

# ---- 2b. faults a fresh user found, each kind pinned ----------------------------------------
# A run that converges so far that ∇ℒ is exactly 0 must not make the rootfinder fail.
"$BIN" run --quiet --out "$S/zero-grad" "$REG" init.alpha=1e-3 network.depth=2 \
  solver.t_max=1e20 >/dev/null 2>"$S/zero-grad.err"
rc=$?
last=$(jq -r '.plateaus[-1].kind' "$S/zero-grad/events.json" 2>/dev/null)
[ "$rc" -eq 0 ] && [ "$last" = minimum ]
check "a run long past convergence (t_max 1e20) exits 0 and ends on a minimum" \
      "exit $rc, last kind '$last': $(head -n 1 "$S/zero-grad.err")" $?
# Past convergence the integration stops and later rows repeat the state; the minimum's entry
# is the same as in the default-length run.
"$BIN" run --quiet --out "$S/long" "$FIG1" solver.t_max=1e12 >/dev/null 2>"$S/long.err"
rc=$?
why=$(jq -r '.result.stop_reason' "$S/long/summary.json" 2>/dev/null)
e_long=$(jq -r '.plateaus[-1].t_entry' "$S/long/events.json" 2>/dev/null)
e_short=$(jq -r '.plateaus[-1].t_entry' "$E" 2>/dev/null)
tail_losses=$(tail -n 5 "$S/long/trajectory.csv" | cut -d, -f2 | sort -u | wc -l)
last_t=$(tail -n 1 "$S/long/trajectory.csv" | cut -d, -f1)
[ "$rc" -eq 0 ] && [ "$why" = converged ] && [ "$e_long" = "$e_short" ] && [ "$tail_losses" -eq 1 ] &&
  awk -v t="$last_t" 'BEGIN { exit !(t + 0 == 1e12) }'
check "fig1 to t_max 1e12: stops converged, rows to 1e12 repeat the state, minimum entered at the same time" \
      "exit $rc, stop '$why', entries $e_long vs $e_short, distinct last losses $tail_losses, last t $last_t: $(head -n 1 "$S/long.err")" $?
# A run that never leaves the origin reports the origin plateau, never left.
"$BIN" run --quiet --out "$S/stuck" "$REG" init.alpha=1e-12 network.depth=6 \
  solver.t_max=1e6 >/dev/null 2>&1
got=$(jq -r '[.plateaus[] | "\(.kind) \(.rank) \(.t_entry) \(.t_exit)"] | join(";")' \
      "$S/stuck/events.json" 2>/dev/null)
[ "$got" = "saddle 0 0 null" ]
check "a run still at the origin at t_max reports the origin saddle, never left" "records: $got" $?
# A reused folder keeps no event file of the earlier run; plot refuses a foreign events.json.
"$BIN" run --quiet --out "$S/reuse" "$FIG1" >/dev/null 2>&1
cp "$S/reuse/events.json" "$S/foreign.json"
"$BIN" run --quiet --out "$S/reuse" "$REG" events.enabled=false solver.t_max=100 >/dev/null 2>&1
left=$(ls "$S/reuse" | grep -c -E '^(events\.json|A_(entry|closest|exit)_[0-9]+\.npy)$')
[ "$left" -eq 0 ]
check "a reused folder keeps no events.json or A_*_K.npy of the earlier run" \
      "$left left: $(ls "$S/reuse" | tr '\n' ' ')" $?
cp "$S/foreign.json" "$S/reuse/events.json"
"$BIN" plot "$S/reuse" >/dev/null 2>"$S/foreign.err"
rc=$?
[ "$rc" -eq 2 ] && grep -q "another run" "$S/foreign.err" && [ ! -e "$S/reuse/plots" ]
check "plot refuses an events.json whose plateaus lie past the trajectory" \
      "exit $rc: $(head -n 1 "$S/foreign.err")" $?
# Kicks restart CVODE, whose counters restart too: the totals still add up across kicks.
st=$(jq -r '.solver.stats | "\(.steps) \(.rhs_evals) \(.newton_iters)"' "$S/kick/summary.json" 2>/dev/null)
set -- $st
awk -v s="$1" -v r="$2" -v n="$3" 'BEGIN { exit !(s > 0 && r >= s && n >= s) }'
check "with kicks, gradients and Newton iterations are counted over the whole run" \
      "steps, rhs_evals, newton_iters: $st" $?
# solver.stats counts the kicks (restarts) and the crossings handed to the events.
kept=$(jq '[.plateaus[] | select(.kick > 0)] | length' "$S/kick/events.json" 2>/dev/null)
st=$(jq -r '.solver.stats | "\(.events) \(.restarts)"' "$S/kick/summary.json" 2>/dev/null)
plain=$(jq -r '.solver.stats | "\(.events) \(.restarts)"' "$S/fig1/summary.json" 2>/dev/null)
set -- $st $plain
awk -v e="$1" -v r="$2" -v k="${kept:-x}" -v e0="$3" -v r0="$4" \
  'BEGIN { exit !(r >= k && k >= 1 && e >= r && e0 > 0 && r0 == 0) }'
check "solver.stats: restarts >= the $kept kicked plateaus kept, events >= restarts; none without kicks" \
      "kick run events, restarts: $st; plain run: $plain" $?
# Gradient descent with kicks: the kick is not a loss rise, no warning.
"$BIN" run --out "$S/gd-kick" "$REG" solver.method=gd solver.learning_rate=0.01 \
  init.alpha=1e-3 events.perturb=0.1 >"$S/gd-kick.out" 2>&1
! grep -q warning "$S/gd-kick.out"
check "gradient descent with kicks reports no loss rise" "$(grep warning "$S/gd-kick.out")" $?
# SIGINT during the --verify rerun ends with 130 (the run itself is kept).
# The signal goes once the rerun has announced itself, so it lands in the rerun on any machine.
"$BIN" run --verify --out "$S/int" "$FIG1" >/dev/null 2>"$S/int.err" &
pid=$!
n=0
while ! grep -q "repeating at" "$S/int.err" 2>/dev/null && [ $n -lt 600 ]; do
  sleep 0.05; n=$((n + 1))
done
kill -INT $pid
wait $pid
rc=$?
[ "$rc" -eq 130 ] && [ -s "$S/int/trajectory.csv" ]
check "SIGINT during a --verify run exits 130 and keeps the trajectory" "exit $rc" $?

# ---- 2c. the NTK's relative change (output.ntk) -----------------------------------------------
# Depth 1: Θ is the identity at every θ, so the change is exactly 0 on every row; depth 2
# starts at 0 and moves (the saddle-to-saddle regime changes the kernel by far more than 1).
"$BIN" run --quiet --out "$S/ntk1" "$REG" network.depth=1 output.ntk=true >/dev/null 2>&1
vals=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "ntk_change") c = i; next }
                { print $c + 0 }' "$S/ntk1/trajectory.csv" 2>/dev/null | sort -u | tr '\n' ' ')
[ "$vals" = "0 " ]
check "output.ntk, depth 1: ntk_change is 0 on every row (the NTK is the identity)" "values: $vals" $?
"$BIN" run --quiet --out "$S/ntk2" "$REG" output.ntk=true >/dev/null 2>&1
ends=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "ntk_change") c = i; next }
                NR == 2 { a = $c } END { printf "%s %s", a, $c }' "$S/ntk2/trajectory.csv" 2>/dev/null)
set -- $ends
awk -v a="$1" -v b="$2" 'BEGIN { exit !(a == 0 && b > 1) }'
check "output.ntk, small start: ntk_change starts at 0 and ends above 1" "first, last: $ends" $?
head -n 1 "$S/reg1/trajectory.csv" | grep -q ntk_change
[ $? -ne 0 ]
check "without output.ntk there is no ntk_change column" "$(head -n 1 "$S/reg1/trajectory.csv")" $?

# ---- 3. events off; bad settings refused before writing ----------------------------------
"$BIN" run --quiet --out "$S/off" "$REG" events.enabled=false >/dev/null 2>&1
labels=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "plateau") c = i; next }
                  { print $c }' "$S/off/trajectory.csv" | sort -u | tr '\n' ' ')
[ ! -e "$S/off/events.json" ] && [ "$labels" = "-1 " ]
check "events.enabled=false: no events.json, every row labelled -1" "labels: $labels" $?

# A diverging gradient descent ends at its last good state: every event lies within the kept
# trajectory (the handler had seen later states), and plot draws it.
for lr in 3 10 20; do
  "$BIN" run --quiet --out "$S/div$lr" "$FIG1" solver.method=gd solver.learning_rate=$lr \
    >/dev/null 2>&1
  rc=$?
  last=$(tail -n 1 "$S/div$lr/trajectory.csv" | cut -d, -f1)
  bad=$(jq -r --argjson T "$last" '[.plateaus[] | select(.t_entry > .t_closest or .t_closest > $T
          or (.t_exit != null and (.t_exit > $T or .t_exit < .t_closest)))] | length' \
          "$S/div$lr/events.json" 2>&1)
  "$BIN" plot "$S/div$lr" >/dev/null 2>&1
  prc=$?
  [ "$rc" -eq 1 ] && [ "$bad" = 0 ] && [ "$prc" -eq 0 ]
  check "gd at learning rate $lr diverges (exit 1); its events lie within the trajectory; plot draws it" \
        "exit $rc, $bad plateaus outside t <= $last, plot exit $prc" $?
done

refused() { # NAME EXPECTED-TEXT ARGS...
  name=$1 text=$2
  shift 2
  "$BIN" run --quiet --out "$S/$name" "$@" >/dev/null 2>"$S/$name.err"
  rc=$?
  [ "$rc" -eq 2 ] && grep -q -F -e "$text" "$S/$name.err" && [ ! -e "$S/$name" ]
  check "$name: exit 2 naming '$text', nothing written" "exit $rc: $(head -n 1 "$S/$name.err")" $?
}
refused verify-gd "--verify" --verify "$REG" solver.method=gd
refused verify-rtol "--verify" --verify "$REG" solver.rtol=1e-14
refused enter-exit "events.exit" "$REG" events.enter=2 events.exit=1
refused depth "events.depth" "$REG" events.depth=0
refused perturb "events.perturb" "$REG" events.perturb=1

finish
