# `dlnflow plot SWEEP`: a sweep folder drawn as curves and as a summary, checked through the
# gnuplot script it keeps (panels, curves per point and their columns, line widths, the summary's
# means and deviations, the zero predictor's line) and the figures (PNG signature, SVG text);
# then bad input (exit 2, the problem named, nothing written). The sweep is made here, as
# `dlnflow sweep` lays it out: four `dlnflow run`s of tests/data/mc.ini (network.width zipped
# with solver.t_max, times init.seed) in points/NNNN, sweep.json and sweep.csv from their
# summaries.
#
# Usage (as meson runs it, from the build's tests folder): sh cli_plot_sweep.sh DLNFLOW SOURCE_ROOT
# POSIX sh; one "PASS: ..." or "FAIL: ... (detail)" line per check, then "N passed, M failed".

[ $# -eq 2 ] || { echo "usage: sh cli_plot_sweep.sh DLNFLOW_BINARY SOURCE_ROOT" >&2; exit 2; }
BIN=$1
case $BIN in /*) ;; *) BIN=$(pwd)/$BIN ;; esac
SRC=$(cd "$2" && pwd) || exit 2
DATA=$SRC/tests/data
. "$(dirname "$0")/checks.sh"
scratch cli_plot_sweep

. "$(dirname "$0")/plot_checks.sh"
# The lines of script $1 from the comment of row $2, panel $3 up to the next panel.
panel() { awk -v head="# Row $2 (" -v p=", panel $3." 'index($0, head) == 1 && index($0, p) { on = 1; next }
                                                     on && /^# Row / { exit } on' "$1"; }
# The (1-based) column of trajectory $1 named $2.
column_of() { head -n 1 "$1" | awk -F, -v name="$2" '{ for (i = 1; i <= NF; i++) if ($i == name) print i }'; }

# ---- the sweep folder -------------------------------------------------------------------------

SW=$S/sweep
mkdir -p "$SW/points"
i=0
made=0
for pair in "4 100" "8 50"; do
  set -- $pair
  w=$1 tm=$2
  for seed in 1 2; do
    d=$(printf 'points/%04d' $i)
    "$BIN" run --quiet --out "$SW/$d" "$DATA/mc.ini" network.width=$w solver.t_max=$tm \
      init.seed=$seed >/dev/null 2>"$S/run.err" && made=$((made + 1))
    # One sweep.csv row, strings quoted as CSV writers do.
    jq -r --arg i $i --arg w $w --arg tm $tm --arg s $seed --arg d $d '
      [($i | tonumber), $w, $tm, $s, .status, .result.stop_reason, .result.t_final,
       .result.loss_final, .result.test_loss_final, .result.loss_zero, .result.test_loss_zero,
       .result.rank_final, .result.nuclear_norm_final, .result.grad_norm_final, null, null, null,
       .solver.stats.steps, .solver.stats.rhs_evals, .solver.stats.hvp_evals,
       .solver.stats.newton_iters, .solver.stats.linear_iters, .solver.stats.error_test_fails,
       .time.wall_seconds, $d] | @csv' "$SW/$d/summary.json" >>"$S/rows" 2>/dev/null
    i=$((i + 1))
  done
done
HEADER=point,network.width,solver.t_max,init.seed,status,stop_reason,t_final,loss_final,test_loss_final,loss_zero,test_loss_zero,rank_final,nuclear_norm_final,grad_norm_final,plateaus,saddles,escape_time,steps,rhs_evals,hvps,newton_iters,linear_iters,error_test_fails,wall_seconds,dir
{ echo "$HEADER"; cat "$S/rows"; } >"$SW/sweep.csv"
jq '{command: "sweep", config: .config,
     axes: [{keys: ["network.width", "solver.t_max"], values: [["4", "100"], ["8", "50"]]},
            {keys: ["init.seed"], values: [["1"], ["2"]]}],
     points: [range(4) as $i | {index: $i, dir: ("points/000" + ($i | tostring)),
              overrides: {"network.width": (["4", "4", "8", "8"][$i]),
                          "solver.t_max": (["100", "100", "50", "50"][$i]),
                          "init.seed": (["1", "2", "1", "2"][$i])}}]}' \
  "$SW/points/0000/summary.json" >"$SW/sweep.json" 2>/dev/null
[ "$made" -eq 4 ] && [ "$(wc -l <"$SW/sweep.csv")" -eq 5 ] && [ -s "$SW/sweep.json" ]
check "control: four runs of tests/data/mc.ini, sweep.csv and sweep.json written" \
      "$made runs; sweep.csv $(wc -l <"$SW/sweep.csv") lines; stderr: $(first_err "$S/run.err")" $?
T0=$SW/points/0000/trajectory.csv
NN=$(column_of "$T0" nuclear_norm)
RK=$(column_of "$T0" rank)
TL=$(column_of "$T0" test_loss)

# ---- 1. curves with the defaults: one panel, the loss of every point ---------------------------

plot default "$SW"
G=$SW/sweep.gp
[ "$rc" -eq 0 ] && [ -z "$(png_problem "$SW/sweep.png")" ] && grep -q '<svg' "$SW/sweep.svg" &&
  [ -s "$G" ]
check "curves: exit 0, sweep.png (a PNG), sweep.svg and sweep.gp in the sweep folder" \
      "exit $rc; png: $(png_problem "$SW/sweep.png"); stderr: $(first_err "$S/default.err")" $?
left=$(ls -A "$SW" | tr '\n' ' ')
[ "$left" = "points sweep.csv sweep.gp sweep.json sweep.png sweep.svg " ]
check "curves: nothing else left in the sweep folder (no .tmp)" "$left" $?
n=$(count "$G" "trajectory.csv' using")
d=$(count "$G" " dt 2 lc rgb '#1f77b4' notitle")
[ "$(count "$G" 'multiplot layout 1,1')" = 1 ] && [ "$n" = 8 ] && [ "$d" = 4 ]
check "curves: one panel with the 4 points' loss and, dashed, their test loss" \
      "layout lines $(count "$G" 'multiplot layout 1,1'), curves $n (expect 8), dashed $d (expect 4)" $?
# Points differing only in keys that are neither panel nor colour share a colour, drawn thin.
[ "$(count "$G" 'with lines lw 1')" = 8 ] && [ "$(count "$G" 'with lines lw 2 lc')" = 0 ]
check "curves: the four points share one colour and are drawn thin (lw 1)" \
      "lw 1: $(count "$G" 'with lines lw 1'), lw 2: $(count "$G" 'with lines lw 2 lc')" $?
grep -q "^suffix = ''$" "$G" && grep -q "^out = '$SW'$" "$G"
check "curves: the kept script draws under the final names into the sweep folder" \
      "$(grep -E '^(out|suffix) =' "$G" | tr '\n' ' ')" $?

# ---- 2. panels by width, colours by seed, four rows --------------------------------------------

plot grid "$SW" --panel network.width --color init.seed --rows loss,rank,nuclear_norm,grad_norm
[ "$rc" -eq 0 ] && [ "$(count "$G" 'multiplot layout 4,2')" = 1 ]
check "grid: exit 0, 4 rows x 2 panels" "exit $rc; stderr: $(first_err "$S/grid.err")" $?
titles=$(grep -c -e "^set title 'network.width = 4' noenhanced" -e "^set title 'network.width = 8' noenhanced" "$G")
keys=$(count "$G" "title 'init.seed = 1'")$(count "$G" "title 'init.seed = 2'")
[ "$titles" = 2 ] && [ "$keys" = 11 ] && grep -q '>network.width = 8<' "$SW/sweep.svg" &&
  grep -q '>init.seed = 2<' "$SW/sweep.svg"
check "grid: panel titles per width, one key entry per seed (in the script and the SVG)" \
      "titles $titles, key entries $keys" $?
# Width 4 is points 0 and 1: each panel of its column draws those and no other.
p1=$(panel "$G" 3 1)
p2=$(panel "$G" 3 2)
a=$(printf '%s\n' "$p1" | grep -c -e 'points/0000/' -e 'points/0001/')
b=$(printf '%s\n' "$p1" | grep -c -e 'points/0002/' -e 'points/0003/')
c=$(printf '%s\n' "$p2" | grep -c -e 'points/0002/' -e 'points/0003/')
[ "$a" = 2 ] && [ "$b" = 0 ] && [ "$c" = 2 ]
check "grid: each panel column draws the points of its width only" \
      "width-4 panel: $a own, $b others; width-8 panel: $c own" $?
# Row 3 reads the nuclear_norm column of each file, on a log axis; row 2 the rank, linearly.
n3=$(printf '%s\n' "$p1" | grep -c "(ly(column($NN)))")
n2=$(panel "$G" 2 1 | grep -c "(lin(column($RK)))")
panel "$G" 2 1 | grep -q 'unset logscale y' && printf '%s\n' "$p1" | grep -q 'set logscale y' &&
  [ "$n3" = 2 ] && [ "$n2" = 2 ]
check "grid: nuclear_norm (column $NN, log y) and rank (column $RK, linear y) by header name" \
      "nuclear_norm curves $n3, rank curves $n2" $?
# The test loss, dashed, only in the loss row; one point per colour and panel: thick lines.
n=$(count "$G" "(ly(column($TL))) with lines lw 2 dt 2")
[ "$n" = 4 ] && [ "$(count "$G" 'with lines lw 1')" = 0 ]
check "grid: 4 dashed test-loss curves (loss row only), single points drawn thick" \
      "dashed $n, thin $(count "$G" 'with lines lw 1')" $?
# The kept script redraws the figure from another folder.
rm -f "$SW/sweep.png" "$SW/sweep.svg"
(cd "$S" && gnuplot "$G" >"$S/regp.err" 2>&1)
p=$(png_problem "$SW/sweep.png")
[ -z "$p" ] && grep -q '<svg' "$SW/sweep.svg"
check "grid: 'gnuplot sweep.gp' run elsewhere redraws sweep.png and sweep.svg" \
      "$p; gnuplot: $(first_err "$S/regp.err")" $?

# ---- 3. summary: means and standard deviations over the seeds ---------------------------------

plot summary "$SW" --kind summary --x network.width
# Expected: per width, mean and sample sd of test_loss_final over its two seeds.
want=$(awk -F, 'NR > 1 { gsub(/"/, ""); k = $2; v = $9; s[k] += v; q[k] += v * v; n[k]++ }
                END { for (k in s) { m = s[k] / n[k]; sd = sqrt((q[k] - n[k] * m * m) / (n[k] - 1))
                                     printf "%s %.12g %.12g\n", k, m, sd } }' "$SW/sweep.csv" | sort -n)
got=$(awk '/^\$s_0_0_0 << EOD/ { on = 1; next } on && /^EOD/ { exit } on && !/^#/ {
             printf "%s %.12g %.12g %s\n", $1, $2, ($4 - $3) / 2, $5 }' "$G")
bad=$(printf '%s\n%s\n' "$want" "$got" | awk '
        NF == 3 { m[$1] = $2; s[$1] = $3; next }
        { if (!($1 in m) || $4 != 2) { print "x " $1 " unexpected"; next }
          e = $2 - m[$1]; f = $3 - s[$1]; if (e < 0) e = -e; if (f < 0) f = -f
          if (e > 1e-9 * m[$1] || f > 1e-6 * s[$1] + 1e-15) print "x " $1 ": " $2 " +- " $3 }')
[ "$rc" -eq 0 ] && [ -z "$bad" ] && [ "$(printf '%s\n' "$got" | wc -l)" = 2 ]
check "summary: test_loss_final mean and sd over 2 seeds at each width (data block)" \
      "exit $rc; expected '$want'; script '$got'; $bad; stderr: $(first_err "$S/summary.err")" $?
z=$(awk -F, 'NR == 2 { gsub(/"/, ""); print $11 }' "$SW/sweep.csv")
grep -q "^     $z with lines dt 2 lw 1.5 lc rgb '#555555' title 'zero predictor'" "$G" &&
  [ "$(count "$G" "title 'zero predictor'")" = 1 ] && grep -q '>zero predictor<' "$SW/sweep.svg"
check "summary: one dashed zero-predictor line at test_loss_zero = $z (test loss row only)" \
      "zero predictor lines: $(count "$G" "title 'zero predictor'")" $?
[ "$(count "$G" '<< EOD')" = 2 ] && [ "$(count "$G" 'with yerrorlines')" = 2 ] &&
  grep -q "^set xtics ('4' 4, '8' 8)" "$G" && [ "$(count "$G" 'multiplot layout 2,1')" = 1 ]
check "summary: rows test_loss_final and rank_final, one line each, tics at the widths" \
      "blocks $(count "$G" '<< EOD'), lines $(count "$G" 'with yerrorlines')" $?

# plot.kind in the sweep's own [plot] keys; a colour per seed gives one line per seed of
# single points (low = high = mean).
jq '.config.plot.kind = "summary" | .config.plot.color = "init.seed"' "$SW/sweep.json" >"$S/j" &&
  mv "$S/j" "$SW/sweep.json"
plot fromcfg "$SW" --rows rank_final,nuclear_norm_final
blocks=$(count "$G" '<< EOD')
single=$(awk '/<< EOD/ { on = 1; next } /^EOD/ { on = 0 } on && !/^#/ && !($2 == $3 && $3 == $4 && $5 == 1) { n++ } END { print n + 0 }' "$G")
[ "$rc" -eq 0 ] && [ "$blocks" = 4 ] && [ "$single" = 0 ] && [ "$(count "$G" 'zero predictor')" = 0 ]
check "summary from sweep.json's [plot] keys (color init.seed), --rows override: 2 rows x 2 seeds" \
      "exit $rc; blocks $blocks; rows not single points $single; stderr: $(first_err "$S/fromcfg.err")" $?
plot back "$SW" --kind curves --format svg
[ "$rc" -eq 0 ] && [ "$(count "$G" 'multiplot layout 1,1')" = 1 ] && [ "$(count "$G" '<< EOD')" = 0 ]
check "--kind curves overrides sweep.json's plot.kind = summary" "exit $rc" $?
jq '.config.plot.x = "network.width"' "$SW/sweep.json" >"$S/j" && mv "$S/j" "$SW/sweep.json"
plot backx "$SW" --kind curves --format svg
[ "$rc" -eq 0 ] && [ "$(count "$G" 'multiplot layout 1,1')" = 1 ]
check "--kind curves also drops sweep.json's summary plot.x" "exit $rc; $(first_err "$S/backx.err")" $?

# A point that failed is left out of the means, and said so.
sed '3 s/"completed"/"failed"/' "$SW/sweep.csv" >"$S/c" && cp "$SW/sweep.csv" "$S/sweep.csv.good" &&
  mv "$S/c" "$SW/sweep.csv"
plot failed "$SW" --color '' --x network.width
n=$(awk '/^\$s_0_0_0 << EOD/ { on = 1; next } on && /^EOD/ { exit } on && !/^#/ && $1 == 4 { print $5 }' "$G")
[ "$rc" -eq 0 ] && [ "$n" = 1 ] && grep -q '1 of 4 points did not complete' "$S/failed.err"
check "summary: a failed point is left out of its mean (count 1 at width 4) and reported" \
      "exit $rc; count '$n'; stderr: $(first_err "$S/failed.err")" $?
cp "$S/sweep.csv.good" "$SW/sweep.csv"

# A point without trajectory.csv (not run yet) is left out of the curves, and said so.
mv "$SW/points/0003/trajectory.csv" "$S/t3"
plot missing "$SW" --kind curves
[ "$rc" -eq 0 ] && [ "$(count "$G" "points/0003/")" = 0 ] && [ "$(count "$G" "trajectory.csv' using")" = 6 ] &&
  grep -q '1 of 4 points have no trajectory.csv' "$S/missing.err"
check "curves: a point without trajectory.csv is left out (6 curves) and reported" \
      "exit $rc; curves $(count "$G" "trajectory.csv' using"); stderr: $(first_err "$S/missing.err")" $?
mv "$S/t3" "$SW/points/0003/trajectory.csv"

plot elsewhere "$SW" --kind curves --format svg --out "$S/figs/a"
left=$(ls -A "$S/figs/a" 2>/dev/null | tr '\n' ' ')
[ "$rc" -eq 0 ] && [ "$left" = "sweep.gp sweep.svg " ]
check "--format svg --out DIR: DIR (created) holds sweep.svg and sweep.gp alone" "exit $rc; $left" $?

# ---- 4. bad input: exit 2, the problem named, nothing written ----------------------------------

# bad WHAT 'PATTERN1|PATTERN2' ARGS...: exit 2, stderr has every pattern, no new figure.
bad() {
  what=$1
  pats=$2
  shift 2
  rm -f "$SW/sweep.png" "$SW/sweep.svg" "$SW/sweep.gp"
  plot bad "$SW" "$@"
  problems=""
  [ "$rc" -eq 2 ] || problems="exit status $rc, expected 2"
  m=$(missing_patterns "$S/bad.err" "$pats")
  [ -z "$m" ] || problems="${problems:+$problems; }stderr lacks$m"
  new=$(ls -A "$SW" | grep '^sweep\.\(png\|svg\|gp\)' | tr '\n' ' ')
  [ -z "$new" ] || problems="${problems:+$problems; }wrote $new"
  if [ -z "$problems" ]; then pass "$what"; else fail "$what" "$problems; stderr: $(first_err "$S/bad.err")"; fi
}

bad "--panel naming a key the sweep does not vary" \
    "plot.panel = network.depth is not a varied key|network.width, solver.t_max, init.seed" \
    --panel network.depth
bad "--color naming no configuration key" "plot.color = 'init.gama' is not a configuration key" \
    --color init.gama
bad "--panel and --color the same key" "plot.panel and plot.color both name init.seed" \
    --kind curves --panel init.seed --color init.seed
bad "curves of a column the trajectories lack" "points/0000/trajectory.csv:1|no 'ntk_change' column" \
    --kind curves --rows loss,ntk_change
bad "summary of a column sweep.csv lacks" "sweep.csv:1: no 'escape_rate' column (plot.rows)" \
    --rows escape_rate
bad "summary of a column that is not a number" "sweep.csv:2: column status: 'completed' is not a finite number" \
    --rows status
bad "summary whose x is also the colour" "plot.x = init.seed is also plot.color" --x init.seed
bad "--x with curves" "plot.x = network.width applies to plot.kind = summary only" \
    --kind curves --x network.width
bad "plot.rows with an empty entry" "plot.rows: entry 2 '' is not a column name" --rows 'loss,,rank'
bad "--linear-sv on a sweep" "is a sweep folder: --linear-sv is for run folders" --linear-sv

cp "$SW/sweep.csv" "$S/keep.csv"
echo "$HEADER" >"$SW/sweep.csv"
bad "an empty sweep (sweep.csv without rows)" "sweep.csv: no point (an empty sweep)"
cut -d, -f 1-3,5- "$S/keep.csv" >"$SW/sweep.csv"
bad "sweep.csv without a varied key's column" "sweep.csv:1: no 'init.seed' column, which sweep.json's axes vary"
sed '2 s/^0,"4","100","1"/0,"4","100","3"/' "$S/keep.csv" >"$SW/sweep.csv"
bad "sweep.csv with a value the axes do not list" "sweep.csv:2: init.seed = '3' is not one of sweep.json's values"
awk 'NR == 3 { sub(/,[^,]*$/, "") } { print }' "$S/keep.csv" >"$SW/sweep.csv"
bad "sweep.csv with a short row" "sweep.csv:3: 24 fields, the header has 25"
cp "$S/keep.csv" "$SW/sweep.csv"
cp "$SW/sweep.json" "$S/keep.json"
head -c 100 "$S/keep.json" >"$SW/sweep.json"
bad "sweep.json cut short" "$SW/sweep.json:"
jq '.axes = []' "$S/keep.json" >"$SW/sweep.json"
bad "sweep.json without axes (an empty sweep)" "\"axes\" is empty"
jq '.config.plot.kind = "bars"' "$S/keep.json" >"$SW/sweep.json"
bad "sweep.json with an unknown plot.kind" "sweep.json: config|plot.kind: 'bars' is not one of curves, summary"
cp "$S/keep.json" "$SW/sweep.json"
for k in 0 1 2 3; do mv "$SW/points/000$k/trajectory.csv" "$S/t$k"; done
bad "curves of a sweep none of whose points has a trajectory" "none of its 4 points has a trajectory.csv" \
    --kind curves
for k in 0 1 2 3; do mv "$S/t$k" "$SW/points/000$k/trajectory.csv"; done

# The plot options belong to sweeps: a run folder refuses them.
plot runopt "$SW/points/0000" --panel init.seed
[ "$rc" -eq 2 ] && grep -q "is a run folder (no sweep.json): 'plot.panel=init.seed' is for sweeps" "$S/runopt.err" &&
  [ ! -e "$SW/points/0000/plots" ]
check "a run folder refuses --panel" "exit $rc; stderr: $(first_err "$S/runopt.err")" $?

# ---- 5. a summary over many x values: labels that do not overlap ------------------------------

# 13 numeric values get gnuplot's own tics; 12 keep one labelled tic each.
for n in 12 13; do
  "$BIN" sweep "$DATA/mc.ini" --grid init.seed=1:$n --out "$S/many$n" --no-plot --quiet \
    solver.t_max=1 >/dev/null 2>&1
  plot many$n "$S/many$n" --kind summary --x init.seed --format svg
  tics=$(grep '^set xtics' "$S/many$n/sweep.gp")
  labels=$(printf '%s' "$tics" | grep -o "'[0-9]*'" | wc -l)
  if [ $n -eq 12 ]; then [ "$rc" -eq 0 ] && [ "$labels" -eq 12 ]; else
    [ "$rc" -eq 0 ] && [ "$tics" = "set xtics autofreq" ]; fi
  check "summary over $n seeds: $([ $n -eq 12 ] && echo 'a labelled tic per value' || echo "gnuplot's tics")" \
        "exit $rc: $tics" $?
done

finish
