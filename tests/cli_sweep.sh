# `dlnflow sweep`: bad grids and options exit 2 naming the fault and create nothing; every point
# is exactly the `dlnflow run` of its overrides; sweep.csv does not depend on --jobs (bar
# wall_seconds); a rerun skips finished points and reruns changed or unfinished ones; a point
# that fails is reported and the others complete; SIGINT exits 130 keeping finished points;
# the escape_time column is the first saddle's exit and grows by equal steps per decade of
# alpha; [sweep] axes in the config are honoured and --grid replaces them.
#
# Usage (as meson runs it, from the build's tests folder): sh cli_sweep.sh DLNFLOW SOURCE_ROOT

if [ $# -ne 2 ]; then
  echo "usage: sh cli_sweep.sh DLNFLOW_BINARY SOURCE_ROOT" >&2
  exit 2
fi
BIN=$1
case $BIN in /*) ;; *) BIN=$(pwd)/$BIN ;; esac
SRC=$(cd "$2" && pwd) || exit 2
REG=$SRC/tests/data/regress.ini
ESC=$SRC/tests/data/escape.ini

. "$(dirname "$0")/checks.sh"
scratch cli_sweep
first_err() { if [ -s "$S/err" ]; then head -n 1 "$S/err" | cut -c 1-300; else echo "no stderr"; fi; }
# column FILE NAME: prints the column called NAME of a CSV (header row first) without its header.
column() {
  awk -F, -v name="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i; next }
                        { print (c ? $c : "NO_SUCH_COLUMN") }' "$1"
}
# pdir SWEEP I: the folder of point I (from sweep.json).
pdir() { echo "$1/$(jq -r ".points[$2].dir" "$1/sweep.json")"; }
# without_wall FILE: the CSV without its wall_seconds column.
without_wall() {
  awk -F, 'BEGIN { OFS = "," } NR == 1 { for (i = 1; i <= NF; i++) if ($i == "wall_seconds") c = i }
           { out = ""; for (i = 1; i <= NF; i++) if (i != c) out = out (out == "" && i == 1 ? "" : ",") $i
             print out }' "$1"
}

# refused WHAT PATTERN ARGS...: `sweep ARGS --out $S/refused` exits 2 with PATTERN on stderr
# and creates no folder.
refused() {
  what=$1
  pat=$2
  shift 2
  "$BIN" sweep "$@" --out "$S/refused" >"$S/stdout" 2>"$S/err"
  rc=$?
  if [ "$rc" -eq 2 ] && grep -q -F -e "$pat" "$S/err" && [ ! -e "$S/refused" ]; then
    pass "refused: $what"
  else
    fail "refused: $what" "exit $rc, stderr: $(first_err), folder exists: $([ -e "$S/refused" ] && echo yes || echo no)"
  fi
}

refused "no grid" "nothing to vary" "$REG"
refused "an unknown key" "unknown key 'gama'" "$REG" --grid init.gama=1,2
refused "a bad value" "'abc'" "$REG" --grid init.alpha=0.1,abc
refused "varying output.dir" "output.dir cannot vary" "$REG" --grid output.dir=a,b
refused "--jobs 0" "--jobs '0'" "$REG" --grid init.seed=1:2 --jobs 0
refused "a missing config" "no-such.ini" "$S/no-such.ini" --grid init.seed=1:2
refused "a point invalid in combination names the point" "point 1 (init.scheme=file)" \
  "$REG" --grid init.scheme=scaled,file
refused "two axes sharing a key" "one axis only" "$REG" --grid init.seed=1:2 \
  --grid init.seed/init.alpha=1/0.1
refused "an override of a varied key" "init.seed varies on the grid" "$REG" --grid init.seed=1:2 \
  init.seed=5
refused "a list-valued key" "takes a list" "$REG" --grid data.teacher_diag=1,2
refused "a value listed twice" "points 0 (init.seed=1) and 1 (init.seed=1) are the same run" \
  "$REG" --grid init.seed=1,1
refused "two spellings of one value" "points 0 (init.seed=1) and 1 (init.seed=01) are the same run" \
  "$REG" --grid init.seed=1,01
refused "one value in two notations" "are the same run" "$REG" --grid solver.rtol=1e-6,0.000001
refused "a plot role the sweep does not vary" "plot.color = init.gamma, but the sweep does not vary" \
  "$REG" --grid init.seed=1:2 plot.color=init.gamma
refused "two --grid sharing a key" "one axis only" "$REG" --grid init.seed=1:2 --grid init.seed=3
"$BIN" run "$REG" --out "$S/a-run" --quiet 2>"$S/err"
"$BIN" sweep "$REG" --grid init.seed=1:2 --out "$S/a-run" >"$S/stdout" 2>"$S/err"
rc=$?
check "a run's folder is refused as a sweep's" "exit $rc, $(first_err)" \
  "$([ "$rc" -eq 2 ] && grep -q "holds a \`dlnflow run\`" "$S/err" && [ ! -e "$S/a-run/sweep.json" ]; echo $?)"
touch "$S/a-file"
"$BIN" sweep "$REG" --grid init.seed=1:2 --out "$S/a-file/sub" >"$S/stdout" 2>"$S/err"
rc=$?
check "an output folder under a file is refused before any run" "exit $rc, $(first_err)" \
  "$([ "$rc" -eq 2 ] && grep -q "a-file" "$S/err" && [ ! -d "$S/a-file/sub" ]; echo $?)"

# ---- every point is its `dlnflow run`; --jobs does not change the table ----------------
GRID="--grid init.seed=1:3 --grid init.alpha=0.1,0.01"
"$BIN" sweep "$REG" $GRID --jobs 1 --out "$S/j1" >"$S/j1.out" 2>"$S/err"
rc=$?
rows=$(($(wc -l <"$S/j1/sweep.csv") - 1))
check "a 3 x 2 grid writes six completed rows" "exit $rc, rows $rows, $(first_err)" \
  "$([ "$rc" -eq 0 ] && [ "$rows" -eq 6 ] && [ "$(column "$S/j1/sweep.csv" status | sort -u)" = completed ]; echo $?)"
header=$(head -n 1 "$S/j1/sweep.csv")
check "sweep.csv names the varied keys and the result columns" "$header" \
  "$(case $header in "point,init.seed,init.alpha,status,stop_reason,t_final,loss_final,test_loss_final,"*",rank_final,nuclear_norm_final,grad_norm_final,plateaus,saddles,escape_time,steps,"*",wall_seconds,dir") echo 0 ;; *) echo 1 ;; esac)"
check "points run through the last axis fastest" "$(column "$S/j1/sweep.csv" init.alpha | tr '\n' ' ')" \
  "$([ "$(column "$S/j1/sweep.csv" init.seed | tr '\n' ' ')" = "1 1 2 2 3 3 " ] &&
      [ "$(column "$S/j1/sweep.csv" init.alpha | tr '\n' ' ')" = "0.1 0.01 0.1 0.01 0.1 0.01 " ]; echo $?)"

"$BIN" run "$REG" init.seed=2 init.alpha=0.01 --out "$S/alone" --quiet 2>"$S/err"
check "point 3 is byte for byte the standalone run of its overrides" "$(first_err)" \
  "$(cmp -s "$S/alone/trajectory.csv" "$(pdir "$S/j1" 3)/trajectory.csv" &&
     cmp -s "$S/alone/events.json" "$(pdir "$S/j1" 3)/events.json"; echo $?)"
want=$(jq -r '.result.loss_final' "$S/alone/summary.json")
got=$(column "$S/j1/sweep.csv" loss_final | sed -n 4p)
check "its loss_final in sweep.csv is the run's, to the last digit" "$got vs $want" \
  "$(awk -v a="$got" -v b="$want" 'BEGIN { exit !(a == b) }'; echo $?)"
nuc=$(column "$S/j1/sweep.csv" nuclear_norm_final | sed -n 4p)
want=$(jq '[.result.singular_values_final[]] | add' "$S/alone/summary.json")
check "nuclear_norm_final is the sum of the final singular values" "$nuc vs $want" \
  "$(awk -v a="$nuc" -v b="$want" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 1e-12 * b) }'; echo $?)"

check "the sweep ends by drawing sweep.png (a PNG) and sweep.svg" "$(ls "$S/j1" | tr '\n' ' ')" \
  "$(head -c 4 "$S/j1/sweep.png" | grep -q PNG && [ -s "$S/j1/sweep.svg" ]; echo $?)"
"$BIN" sweep "$REG" $GRID --jobs 2 --no-plot --out "$S/j2" >"$S/j2.out" 2>"$S/err"
check "--no-plot draws nothing" "$(ls "$S/j2" | tr '\n' ' ')" "$([ ! -e "$S/j2/sweep.png" ]; echo $?)"
without_wall "$S/j1/sweep.csv" >"$S/j1.nowall"
without_wall "$S/j2/sweep.csv" >"$S/j2.nowall"
check "--jobs 2 writes the same sweep.csv and plateaus.csv as --jobs 1 (bar wall_seconds)" \
  "$(diff "$S/j1.nowall" "$S/j2.nowall" | head -n 3 | tr '\n' ' ')" \
  "$(cmp -s "$S/j1.nowall" "$S/j2.nowall" && cmp -s "$S/j1/plateaus.csv" "$S/j2/plateaus.csv"; echo $?)"
check "sweep.json lists the six points with their overrides" "$(jq -c '.points[3]' "$S/j1/sweep.json")" \
  "$([ "$(jq '.points | length' "$S/j1/sweep.json")" -eq 6 ] &&
     [ "$(jq -r '.points[3].overrides["init.seed"] + "/" + .points[3].overrides["init.alpha"]' "$S/j1/sweep.json")" = 2/0.01 ]; echo $?)"

# ---- restarts ----------------------------------------------------------------------------
cp "$S/j1/sweep.csv" "$S/before.csv"
"$BIN" sweep "$REG" $GRID --jobs 1 --out "$S/j1" >"$S/again.out" 2>"$S/err"
check "a rerun skips every finished point and writes the same table" "$(grep 'to run' "$S/again.out")" \
  "$(grep -q '6 finished earlier, 0 to run' "$S/again.out" && cmp -s "$S/before.csv" "$S/j1/sweep.csv"; echo $?)"
rm "$(pdir "$S/j1" 4)/summary.json"
"$BIN" sweep "$REG" $GRID --jobs 1 --out "$S/j1" >"$S/again.out" 2>"$S/err"
without_wall "$S/j1/sweep.csv" >"$S/j1b.nowall"
check "a point without its summary is run again, alone" "$(grep 'to run' "$S/again.out")" \
  "$(grep -q '5 finished earlier, 1 to run' "$S/again.out" && grep -q 'point 4 ' "$S/again.out" &&
     cmp -s "$S/j1.nowall" "$S/j1b.nowall"; echo $?)"
"$BIN" sweep "$REG" $GRID plot.kind=curves --jobs 1 --out "$S/j1" >"$S/again.out" 2>"$S/err"
check "a changed [plot] key reruns nothing (it changes no result)" "$(grep 'to run' "$S/again.out")" \
  "$(grep -q '6 finished earlier, 0 to run' "$S/again.out"; echo $?)"
"$BIN" sweep "$REG" $GRID solver.rtol=1e-7 --jobs 2 --out "$S/j1" >"$S/again.out" 2>"$S/err"
check "a changed configuration reruns every point" "$(grep 'to run' "$S/again.out")" \
  "$([ "$(grep -c 'completed' "$S/again.out")" -eq 6 ] &&
     [ "$(jq -r .config.solver.rtol "$(pdir "$S/j1" 0)/summary.json")" = 9.9999999999999995e-08 ]; echo $?)"

# A point still on the origin's plateau (t_exit null) has no escape time: empty, not 0.
"$BIN" sweep "$SRC/tests/data/teacher-l3.ini" --grid init.seed=1:2 solver.t_max=2 --no-plot \
  --out "$S/stuck" >/dev/null 2>"$S/err"
esc=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "escape_time") c = i; next }
               { printf "[%s]", $c }' "$S/stuck/sweep.csv")
nulls=$(cat "$S/stuck"/points/*/events.json | jq -s '[.[].plateaus[0].t_exit] | map(select(. == null)) | length')
check "points that never left the origin: escape_time empty" "escape_time cells $esc, null exits $nulls" \
  "$([ "$esc" = "[][]" ] && [ "$nulls" = 2 ]; echo $?)"

# Another command's --out on a sweep folder is refused: its files there would stop the restart.
for cmd in run escape greedy; do
  case $cmd in escape) extra="--alphas 1e-2:1e-3:2" ;; *) extra="" ;; esac
  ls "$S/j1" >"$S/ls.before"
  "$BIN" $cmd "$REG" $extra --out "$S/j1" >/dev/null 2>"$S/err"
  rc=$?
  ls "$S/j1" >"$S/ls.after"
  check "$cmd --out a sweep folder: exit 2 naming it, nothing written" "exit $rc, $(first_err)" \
    "$([ "$rc" -eq 2 ] && grep -q "holds a sweep (sweep.json)" "$S/err" && cmp -s "$S/ls.before" "$S/ls.after"; echo $?)"
done

p2=$(pdir "$S/j1" 2)
head -n 5 "$p2/trajectory.csv" >"$S/cut" && mv "$S/cut" "$p2/trajectory.csv"
"$BIN" sweep "$REG" $GRID solver.rtol=1e-7 --jobs 1 --out "$S/j1" >"$S/again.out" 2>"$S/err"
check "a point whose trajectory.csv was cut short is run again" "$(grep 'to run' "$S/again.out")" \
  "$(grep -q '5 finished earlier, 1 to run' "$S/again.out" && grep -q 'point 2 ' "$S/again.out" &&
     [ "$(wc -l <"$p2/trajectory.csv")" -gt 5 ]; echo $?)"
# A matrix cut short (A_final.npy, or one events.json names) is not a finished point either.
p3=$(pdir "$S/j1" 3) p4=$(pdir "$S/j1" 4)
head -c 100 "$p3/A_final.npy" >"$S/cut" && mv "$S/cut" "$p3/A_final.npy"
m=$(jq -r '.plateaus[0].files.A_closest' "$p4/events.json")
printf garbage >"$p4/$m"
"$BIN" sweep "$REG" $GRID solver.rtol=1e-7 --jobs 1 --out "$S/j1" >"$S/again.out" 2>"$S/err"
check "points with a cut A_final.npy or a garbled $m are run again" "$(grep 'to run' "$S/again.out")" \
  "$(grep -q '4 finished earlier, 2 to run' "$S/again.out" && grep -q 'point 3 ' "$S/again.out" &&
     grep -q 'point 4 ' "$S/again.out"; echo $?)"
rm -rf "$(pdir "$S/j1" 1)" && touch "$(pdir "$S/j1" 1)"
"$BIN" sweep "$REG" $GRID solver.rtol=1e-7 --jobs 1 --out "$S/j1" >"$S/again.out" 2>"$S/err"
rc=$?
check "a point whose folder cannot be made fails alone; exit 1" \
  "exit $rc, statuses $(column "$S/j1/sweep.csv" status | tr '\n' ' '), $(first_err)" \
  "$([ "$rc" -eq 1 ] && [ "$(column "$S/j1/sweep.csv" status | tr '\n' ' ')" = "completed failed completed completed completed completed " ] &&
     grep -q "point 1" "$S/err"; echo $?)"

# ---- a failing point --------------------------------------------------------------------
"$BIN" sweep "$REG" --grid "data.y=$SRC/tests/data/y.csv,$SRC/tests/data/y-19rows.csv" \
  --out "$S/bad" >"$S/bad.out" 2>"$S/err"
rc=$?
check "a point whose data do not fit fails, the other completes, exit 1" \
  "exit $rc, statuses $(column "$S/bad/sweep.csv" status | tr '\n' ' ')" \
  "$([ "$rc" -eq 1 ] && [ "$(column "$S/bad/sweep.csv" status | tr '\n' ' ')" = "completed failed " ] &&
     grep -q "19" "$(pdir "$S/bad" 1)/run.log" && grep -q "run.log" "$S/bad.out"; echo $?)"

sed "s|^y = y.csv|y = $SRC/tests/data/y.csv|; s|^x = x.csv|x = $SRC/tests/data/x.csv|" "$REG" >"$S/stale.ini"
"$BIN" sweep "$S/stale.ini" --grid init.seed=1:2 --out "$S/stale" >"$S/stale.out" 2>"$S/err"
sed -i "s|^y = .*|y = $S/no-such-y.csv|" "$S/stale.ini"
"$BIN" sweep "$S/stale.ini" --grid init.seed=1:2 --out "$S/stale" >"$S/stale.out" 2>"$S/err"
rc=$?
check "a point failing after an earlier success reports no stale results" \
  "exit $rc, loss_final $(column "$S/stale/sweep.csv" loss_final | tr '\n' ' ')" \
  "$([ "$rc" -eq 1 ] && [ "$(column "$S/stale/sweep.csv" status | sort -u)" = failed ] &&
     [ "$(column "$S/stale/sweep.csv" loss_final | tr -d '\n')" = "" ] &&
     [ ! -e "$(pdir "$S/stale" 0)/trajectory.csv" ] && grep -q "no-such-y" "$(pdir "$S/stale" 0)/run.log"; echo $?)"
"$BIN" sweep "$REG" --grid "data.y=$S/q\"uo,te.csv" --out "$S/quote" >"$S/q.out" 2>"$S/err"
check "a value with a quote is a quoted CSV cell" "$(sed -n 2p "$S/quote/sweep.csv" | cut -c 1-60)" \
  "$(sed -n 2p "$S/quote/sweep.csv" | grep -q -F ",\"$S/q\"\"uo\"," ; echo $?)"

# ---- escape_time ------------------------------------------------------------------------
"$BIN" sweep "$ESC" network.depth=2 --grid init.alpha=1e-4,1e-6,1e-8 --out "$S/esc" >"$S/esc.out" 2>"$S/err"
t=$(column "$S/esc/sweep.csv" escape_time | tr '\n' ' ')
first=$(jq '[.plateaus[] | select(.kind == "saddle")][0].t_exit' "$(pdir "$S/esc" 2)/events.json")
check "escape_time is the first saddle's exit in events.json" "$t vs $first" \
  "$(awk -v a="$(echo "$t" | cut -d' ' -f3)" -v b="$first" 'BEGIN { exit !(a == b) }'; echo $?)"
check "escape times grow by equal steps per two decades of alpha (L = 2: log law)" "$t" \
  "$(echo "$t" | awk '{ d1 = $2 - $1; d2 = $3 - $2; r = d2 / d1; exit !(d1 > 0 && r > 0.95 && r < 1.05) }'; echo $?)"

# ---- [sweep] in the config --------------------------------------------------------------
cp "$SRC"/tests/data/x.csv "$SRC"/tests/data/y.csv "$S/"
sed 's/^\[solver\]/[sweep]\ninit.seed = 1:2\ninit.alpha\/solver.t_max = 0.1\/50, 0.01\/60\n\n[solver]/' \
  "$REG" >"$S/with-sweep.ini"
"$BIN" sweep "$S/with-sweep.ini" --out "$S/cfg" >"$S/cfg.out" 2>"$S/err"
check "the config's [sweep] axes make a 2 x 2 grid" "$(first_err)" \
  "$([ "$(($(wc -l <"$S/cfg/sweep.csv") - 1))" -eq 4 ] &&
     [ "$(column "$S/cfg/sweep.csv" solver.t_max | tr '\n' ' ')" = "50 60 50 60 " ]; echo $?)"
"$BIN" sweep "$S/with-sweep.ini" --grid init.seed=5 --out "$S/cfg2" >"$S/cfg.out" 2>"$S/err"
check "--grid over a config axis's key replaces that axis" "$(column "$S/cfg2/sweep.csv" init.seed | tr '\n' ' ')" \
  "$([ "$(column "$S/cfg2/sweep.csv" init.seed | tr '\n' ' ')" = "5 5 " ]; echo $?)"
"$BIN" sweep "$S/with-sweep.ini" --grid init.alpha=0.05 --no-plot --out "$S/cfg3" >"$S/cfg.out" 2>"$S/err"
check "--grid over one key of a config axis that varies two replaces the whole axis" \
  "$(head -n 1 "$S/cfg3/sweep.csv")" \
  "$([ "$(head -n 1 "$S/cfg3/sweep.csv" | cut -d, -f1-3)" = "point,init.seed,init.alpha" ] &&
     [ "$(column "$S/cfg3/sweep.csv" init.alpha | tr '\n' ' ')" = "0.05 0.05 " ] &&
     [ "$(jq -r .config.solver.t_max "$(pdir "$S/cfg3" 0)/summary.json")" = 100 ]; echo $?)"
"$BIN" run "$S/with-sweep.ini" --out "$S/cfgrun" --quiet 2>"$S/err"
rc=$?
check "dlnflow run ignores the [sweep] section and runs the base config" "exit $rc, $(first_err)" \
  "$([ "$rc" -eq 0 ] && [ "$(jq -r .config.solver.t_max "$S/cfgrun/summary.json")" = 100 ]; echo $?)"

# ---- SIGINT -----------------------------------------------------------------------------
# first_point_done SWEEP: waits (up to 20 s) until point 0 of a running sweep has finished.
first_point_done() {
  i=0
  while [ ! -f "$(pdir "$1" 0)/summary.json" ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i + 1)); done
}
SLOW="network.depth=2 init.alpha=1e-2 solver.learning_rate=1e-4 events.stop_converged=false"
GRID2="--grid init.seed=1:2 --grid solver.method/solver.t_max=bdf/100,gd/100"
"$BIN" sweep "$ESC" $SLOW $GRID2 --jobs 1 --out "$S/int" >"$S/int.out" 2>"$S/int.err" &
pid=$!
first_point_done "$S/int"
sleep 0.3
kill -INT $pid
wait $pid
rc=$?
statuses=$(column "$S/int/sweep.csv" status | tr '\n' ' ')
check "SIGINT: exit 130, finished points kept, the rest marked" "exit $rc, statuses $statuses" \
  "$([ "$rc" -eq 130 ] && [ "$statuses" = "completed interrupted pending pending " ]; echo $?)"
"$BIN" sweep "$ESC" $SLOW $GRID2 --jobs 2 --out "$S/int" >"$S/int2.out" 2>"$S/err"
rc=$?
check "the rerun skips the finished point and completes the rest" "exit $rc, $(grep 'to run' "$S/int2.out")" \
  "$([ "$rc" -eq 0 ] && grep -q '1 finished earlier, 3 to run' "$S/int2.out" &&
     [ "$(column "$S/int/sweep.csv" status | sort -u)" = completed ] &&
     [ "$(column "$S/int/sweep.csv" stop_reason | sed -n 2p)" = t_max ]; echo $?)"

# ---- CONFIG edited during a sweep; a killed sweep takes its runs with it ----------------
cp "$ESC" "$S/live.ini"
"$BIN" sweep "$S/live.ini" $SLOW $GRID2 --jobs 1 --out "$S/live" >"$S/live.out" 2>"$S/live.err" &
pid=$!
first_point_done "$S/live"
echo "# edited" >>"$S/live.ini"
wait $pid
rc=$?
check "an edit of CONFIG during the sweep stops new points, exit 1, rerun finishes" \
  "exit $rc, $(head -n 1 "$S/live.err"), statuses $(column "$S/live/sweep.csv" status | tr '\n' ' ')" \
  "$([ "$rc" -eq 1 ] && grep -q "changed during the sweep" "$S/live.err" &&
     [ "$(column "$S/live/sweep.csv" status | tail -n 1)" = pending ]; echo $?)"
"$BIN" sweep "$ESC" $SLOW $GRID2 --jobs 1 --out "$S/k9" >"$S/k9.out" 2>"$S/k9.err" &
pid=$!
first_point_done "$S/k9"
sleep 0.3
kill -KILL $pid
wait $pid 2>/dev/null
sleep 0.5
left=$(pgrep -f -- "--out $S/k9/" | wc -l)
check "SIGKILL of the sweep ends its running points too (no orphans)" "$left left running" \
  "$([ "$left" -eq 0 ]; echo $?)"

finish
