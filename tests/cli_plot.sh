# `dlnflow plot`: figures of small runs, checked by their content (PNG signature, the SVG's
# curves, shaded plateaus and labels from a hand-written events.json), then bad input (exit 2,
# the file named, no plots/ folder) and a missing or failing gnuplot (exit 1, no half file).
#
# Usage (as meson runs it, from the build's tests folder): sh cli_plot.sh DLNFLOW SOURCE_ROOT
# POSIX sh; one "PASS: ..." or "FAIL: ... (detail)" line per check, then "N passed, M failed".

[ $# -eq 2 ] || { echo "usage: sh cli_plot.sh DLNFLOW_BINARY SOURCE_ROOT" >&2; exit 2; }
BIN=$1
case $BIN in /*) ;; *) BIN=$(pwd)/$BIN ;; esac
SRC=$(cd "$2" && pwd) || exit 2
DATA=$SRC/tests/data
. "$(dirname "$0")/checks.sh"
scratch cli_plot

. "$(dirname "$0")/plot_checks.sh"
# The shading colours write_objects uses, as gnuplot's SVG spells them.
GREY='rgb(220, 220, 220)'
GREEN='rgb(213, 240, 213)'

# ---- runs to draw: regression (no test set) and matrix completion (with one) -----------------

for cfg in regress mc; do
  "$BIN" run --quiet --out "$S/$cfg" "$DATA/$cfg.ini" >"$S/run.out" 2>"$S/run.err"
  rc=$?
  [ "$rc" -eq 0 ] && [ -s "$S/$cfg/trajectory.csv" ]
  check "control: tests/data/$cfg.ini runs" "exit status $rc; stderr: $(first_err "$S/run.err")" $?
done

# ---- 1. a run without events.json ------------------------------------------------------------

rm -f "$S/regress/events.json" # a run with events.enabled = false, or from before events
plot reg "$S/regress"
P=$S/regress/plots
[ "$rc" -eq 0 ] && [ ! -s "$S/reg.err" ]
check "regress: exit 0 and nothing on stderr (no gnuplot warning)" \
      "exit status $rc; stderr: $(first_err "$S/reg.err")" $?
p=$(png_problem "$P/trajectory.png")
[ -z "$p" ]
check "regress: plots/trajectory.png starts with the PNG signature" "$p" $?
grep -q '<svg' "$P/trajectory.svg" 2>/dev/null
check "regress: plots/trajectory.svg is SVG" "$(head -c 200 "$P/trajectory.svg" 2>&1)" $?
left=$(ls -A "$P" 2>/dev/null | tr '\n' ' ')
[ "$left" = "trajectory.png trajectory.svg " ]
check "regress: plots/ holds the two figures and nothing else (no .tmp, no script)" "$left" $?
# Keys name the curves: train loss, the gradient norm, sv1 and sv2 (the 2x3 map has two).
missing=""
for k in '>train loss<' '>||∇ℒ||<' '>sv1<' '>sv2<'; do
  grep -q -F -e "$k" "$P/trajectory.svg" || missing="$missing $k"
done
[ -z "$missing" ]
check "regress: the SVG's key has train loss, ||∇ℒ||, sv1 and sv2" "missing:$missing" $?
n=$(count "$P/trajectory.svg" '>sv3<')$(count "$P/trajectory.svg" '>test loss<')
[ "$n" = 00 ]
check "regress: no sv3 and no test loss curve (2 singular values, no test set)" \
      "sv3 and test loss counts: $n" $?
n=$(count "$P/trajectory.svg" "$GREY")$(count "$P/trajectory.svg" "$GREEN")
[ "$n" = 00 ]
check "regress: nothing shaded without events.json" "grey and green counts: $n" $?
grep -q -F "wrote $P/trajectory.svg" "$S/reg.out"
check "regress: stdout names the figures written" "$(head -n 2 "$S/reg.out")" $?

plot mc "$S/mc"
grep -q -F '>test loss<' "$S/mc/plots/trajectory.svg" 2>/dev/null &&
  grep -q -F '>sv4<' "$S/mc/plots/trajectory.svg"
check "mc: exit 0, the SVG draws the test loss and sv1..sv4" \
      "exit status $rc; stderr: $(first_err "$S/mc.err")" $?

# ---- 2. plateaus from a hand-written events.json ---------------------------------------------

# Two saddles (the first entered at t = 0, where the log axis cannot go) and a minimum never
# left (t_exit null): every panel shades and labels all three.
mkdir "$S/ev"
cp "$S/regress/trajectory.csv" "$S/ev/"
cp "$DATA/events-regress.json" "$S/ev/events.json"
plot ev "$S/ev"
E=$S/ev/plots/trajectory.svg
[ "$rc" -eq 0 ] && [ ! -s "$S/ev.err" ]
check "events: exit 0 and nothing on stderr" "exit status $rc; stderr: $(first_err "$S/ev.err")" $?
g=$(count "$E" "$GREY")
m=$(count "$E" "$GREEN")
[ "$g" = 6 ] && [ "$m" = 3 ]
check "events: 2 saddles x 3 panels shaded grey, 1 minimum x 3 panels green" \
      "grey $g, green $m" $?
bad_labels=""
for l in 'saddle 0 (rank 0)' 'saddle 1 (rank 1)' 'minimum 2 (rank 2)'; do
  [ "$(count "$E" ">$l<")" = 3 ] || bad_labels="$bad_labels '$l' x $(count "$E" ">$l<")"
done
[ -z "$bad_labels" ]
check "events: each label (kind, index, rank from events.json) on the 3 panels" \
      "wrong counts:$bad_labels" $?
p=$(png_problem "$S/ev/plots/trajectory.png")
[ -z "$p" ]
check "events: the PNG is drawn too" "$p" $?

# --format svg --out DIR: only the SVG, only there.
plot svg-only "$S/ev" --format svg --out "$S/elsewhere/figs"
left=$(ls -A "$S/elsewhere/figs" 2>/dev/null | tr '\n' ' ')
[ "$rc" -eq 0 ] && [ "$left" = "trajectory.svg " ] && [ "$(count "$S/elsewhere/figs/trajectory.svg" "$GREY")" = 6 ]
check "--format svg --out DIR: DIR (created) holds trajectory.svg alone, with the plateaus" \
      "exit status $rc; DIR holds: $left; stderr: $(first_err "$S/svg-only.err")" $?

# Columns are found by name: an extra column after `rank` shifts sv1 and sv2 right.
mkdir "$S/cols"
awk -F, -v OFS=, '{ $7 = $7 "," (NR == 1 ? "extra" : 0); print }' "$S/regress/trajectory.csv" \
  >"$S/cols/trajectory.csv"
plot cols "$S/cols"
C=$S/cols/plots/trajectory.svg
[ "$rc" -eq 0 ] && [ "$(count "$C" '>sv2</tspan>')" = 1 ] && [ "$(count "$C" '>sv3<')" = 0 ] &&
  [ ! -s "$S/cols.err" ]
check "an extra column: still sv1, sv2 (by header name), no warning" \
      "exit status $rc; sv2 $(count "$C" '>sv2</tspan>'), sv3 $(count "$C" '>sv3<'); stderr: $(first_err "$S/cols.err")" $?
# Drawn from the named columns, the singular-value panel holds the same curve in both files.
a=$(grep -c '<path' "$C" 2>/dev/null)
b=$(grep -c '<path' "$P/trajectory.svg" 2>/dev/null)
[ "$a" = "$b" ] && [ "$(sed -n '/>sv1</,$p' "$C" | md5sum)" = "$(sed -n '/>sv1</,$p' "$P/trajectory.svg" | md5sum)" ]
check "an extra column: the singular-value panel is identical to the plain run's" \
      "paths $a vs $b, or the sv panel differs" $?

# ---- 3. bad input: exit 2, the file and problem named, no plots/ folder -----------------------

# bad WHAT DIR 'PATTERN1|PATTERN2' [OPTIONS...]
bad() {
  what=$1
  dir=$2
  pats=$3
  shift 3
  plot bad "$dir" "$@"
  problems=""
  [ "$rc" -eq 2 ] || problems="exit status $rc, expected 2"
  m=$(missing_patterns "$S/bad.err" "$pats")
  [ -z "$m" ] || problems="${problems:+$problems; }stderr lacks$m"
  [ -e "$dir/plots" ] && problems="${problems:+$problems; }$dir/plots was created"
  if [ -z "$problems" ]; then pass "$what"; else fail "$what" "$problems; stderr: $(first_err "$S/bad.err")"; fi
}
# case NAME: a run folder holding regress's trajectory.csv, for one bad input.
case_dir() {
  mkdir -p "$S/$1"
  cp "$S/regress/trajectory.csv" "$S/$1/"
}

bad "missing RUN_DIR" "$S/no-such-run" "$S/no-such-run|no such folder"
mkdir "$S/empty"
bad "RUN_DIR without trajectory.csv" "$S/empty" "$S/empty/trajectory.csv|cannot open"

case_dir no-t
sed '1 s/^t,/time,/' "$S/regress/trajectory.csv" >"$S/no-t/trajectory.csv"
bad "trajectory.csv without a t column" "$S/no-t" "$S/no-t/trajectory.csv:1|no 't' column"
case_dir no-sv
cut -d, -f 1-7 "$S/regress/trajectory.csv" >"$S/no-sv/trajectory.csv"
bad "trajectory.csv without sv columns" "$S/no-sv" "trajectory.csv:1|no 'sv1' column"
case_dir text
sed '5 s/^\([^,]*\),[^,]*,/\1,abc,/' "$S/regress/trajectory.csv" >"$S/text/trajectory.csv"
bad "trajectory.csv with a word for a loss" "$S/text" "$S/text/trajectory.csv:5|column 2|'abc'"
case_dir ragged
sed '7 s/,[^,]*$//' "$S/regress/trajectory.csv" >"$S/ragged/trajectory.csv"
bad "trajectory.csv with a short row" "$S/ragged" "trajectory.csv:7|10 fields, the header has 11"
touch "$S/a-file"
"$BIN" plot --out "$S/a-file" "$S/regress" >/dev/null 2>"$S/afile.err"
rc=$?
[ "$rc" -eq 2 ] && grep -q "not a folder" "$S/afile.err" && [ ! -s "$S/a-file" ]
check "plot --out naming a file: exit 2, nothing written" "exit $rc: $(head -n 1 "$S/afile.err")" $?
# A folder below a file, run folder or sweep folder alike: exit 2 naming the file, no silence.
"$BIN" plot --out "$S/a-file/plots" "$S/regress" >/dev/null 2>"$S/below.err"
rc=$?
[ "$rc" -eq 2 ] && grep -q "a-file' exists and is not a folder" "$S/below.err"
check "plot --out below a file: exit 2 naming the file" "exit $rc: $(head -n 1 "$S/below.err")" $?
case_dir nan-loss
awk -F, -v OFS=, 'NR == 6 { $2 = "nan" } { print }' "$S/regress/trajectory.csv" >"$S/nan-loss/trajectory.csv"
bad "trajectory.csv with a NaN loss" "$S/nan-loss" "trajectory.csv:6|'nan' is not a finite number"
case_dir overlap
printf '{"plateaus": [{"kind": "saddle", "t_entry": 0, "t_exit": 5}, {"kind": "saddle", "t_entry": 3, "t_exit": 6}]}\n' >"$S/overlap/events.json"
bad "events.json with overlapping plateaus" "$S/overlap" "events.json|plateaus[1] starts at t = 3"
case_dir backwards
awk 'NR == 4 { held = $0; next } { print } NR == 5 { print held }' \
  "$S/regress/trajectory.csv" >"$S/backwards/trajectory.csv"
bad "trajectory.csv with time going back" "$S/backwards" "trajectory.csv:5|before the previous"
case_dir only-t0
head -n 2 "$S/regress/trajectory.csv" >"$S/only-t0/trajectory.csv"
bad "trajectory.csv with only the t = 0 row" "$S/only-t0" "trajectory.csv|none at t > 0"

case_dir broken-json
head -c 200 "$DATA/events-regress.json" >"$S/broken-json/events.json"
bad "events.json cut short (malformed JSON)" "$S/broken-json" "$S/broken-json/events.json:"
case_dir exit-before-entry
sed 's/"t_exit": 21.5/"t_exit": 3.5/' "$DATA/events-regress.json" >"$S/exit-before-entry/events.json"
bad "events.json with t_exit before t_entry" "$S/exit-before-entry" \
    "$S/exit-before-entry/events.json|plateaus[1]|t_exit 3.5 is before t_entry 4.75"
case_dir kind
sed 's/"minimum"/"maximum"/' "$DATA/events-regress.json" >"$S/kind/events.json"
bad "events.json with an unknown kind" "$S/kind" "events.json|plateaus[2]|\"kind\""
case_dir no-entry
sed 's/"t_entry": 47.25, //' "$DATA/events-regress.json" >"$S/no-entry/events.json"
bad "events.json plateau without t_entry" "$S/no-entry" "events.json|plateaus[2]|no \"t_entry\""
case_dir no-plateaus
echo '{"saddles": []}' >"$S/no-plateaus/events.json"
bad "events.json without a plateaus array" "$S/no-plateaus" "events.json|no \"plateaus\" array"

bad "unknown --format" "$S/regress-copy" "--format 'pdf'" --format pdf
bad "unknown option" "$S/regress-copy" "--frobnicate" --frobnicate

# ---- 4. gnuplot missing or failing: exit 1, its message, no half file -------------------------

case_dir no-gnuplot
DLNFLOW_GNUPLOT=$S/no-such-gnuplot "$BIN" plot "$S/no-gnuplot" >"$S/ng.out" 2>"$S/ng.err"
rc=$?
[ "$rc" -eq 1 ] && grep -q -F "cannot run $S/no-such-gnuplot" "$S/ng.err" && [ ! -e "$S/no-gnuplot/plots" ]
check "gnuplot missing: exit 1, says so, leaves no plots/ folder" \
      "exit status $rc; plots/: $(ls -A "$S/no-gnuplot/plots" 2>&1 | tr '\n' ' '); stderr: $(first_err "$S/ng.err")" $?

# A gnuplot that starts drawing every figure, then fails: the figures of an earlier plot stay.
cat >"$S/failing-gnuplot" <<'EOF'
#!/bin/sh
for fmt in png svg; do
  echo partial >"$(sed -n "s/^out = '\(.*\)'$/\1/p" "$1")/trajectory.$fmt.tmp"
done
echo '"trajectory.gp.tmp" line 42: fake failure for the test' >&2
exit 1
EOF
chmod +x "$S/failing-gnuplot"
case_dir failing
mkdir "$S/failing/plots"
echo old >"$S/failing/plots/trajectory.png"
DLNFLOW_GNUPLOT=$S/failing-gnuplot "$BIN" plot "$S/failing" >"$S/fg.out" 2>"$S/fg.err"
rc=$?
left=$(ls -A "$S/failing/plots" 2>/dev/null | tr '\n' ' ')
[ "$rc" -eq 1 ] && grep -q -F 'line 42: fake failure for the test' "$S/fg.err" &&
  [ "$left" = "trajectory.png " ] && [ "$(cat "$S/failing/plots/trajectory.png")" = old ]
check "gnuplot failing: exit 1 with gnuplot's message; earlier figure kept, no .tmp left" \
      "exit status $rc; plots/ holds: $left; stderr: $(first_err "$S/fg.err")" $?

finish
