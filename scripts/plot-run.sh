#!/bin/sh
# Draws RUN_DIR/trajectory.csv into RUN_DIR/trajectory.png and trajectory.svg with gnuplot.
set -eu
[ $# -eq 1 ] || { echo "usage: scripts/plot-run.sh RUN_DIR" >&2; exit 2; }
run=$1
[ -f "$run/trajectory.csv" ] || { echo "plot-run: $run/trajectory.csv: no such file" >&2; exit 2; }
here=$(cd "$(dirname "$0")/.." && pwd)
# test_loss (column 3) is empty in every row of a run without a test set.
has_test=$(awk -F, 'NR == 2 { print ($3 == "" ? 0 : 1) }' "$run/trajectory.csv")
for out in "pngcairo png" "svg svg"; do
  set -- $out
  gnuplot -e "run='$run'; term='$1'; ext='$2'; has_test=${has_test:-0}" "$here/plots/trajectory.gp"
done
echo "plot-run: wrote $run/trajectory.png and $run/trajectory.svg"
