#!/bin/sh
# `dlnflow sweep --jobs 2` against `--jobs 1` on a sweep of independent points: wall time of
# each, the speed-up, and whether the two sweep.csv agree (bar wall_seconds).
#
# usage: sh bench/sweep-jobs.sh [CONFIG] [GRID]   (default: the Figure 1 example over 8 seeds)
# Run it on an otherwise idle machine: the speed-up measures the cores it is given.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
config=${1:-examples/fig1-mc-rank3.ini}
grid=${2:-init.seed=1:8}
out=${BENCH_OUT:-build/bench/results}/sweep-jobs
export OPENBLAS_NUM_THREADS=1
ninja -C build dlnflow >/dev/null
rm -rf "$out"
mkdir -p "$out"
for jobs in 1 2; do
  start=$(date +%s.%N)
  ./build/dlnflow sweep "$config" --grid "$grid" --jobs "$jobs" --out "$out/jobs$jobs" --quiet --no-plot
  end=$(date +%s.%N)
  echo "$start $end" >"$out/time$jobs"
  awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "wall_seconds") c = i }
           { out = ""; for (i = 1; i <= NF; i++) if (i != c) out = out (out == "" ? "" : ",") $i
             print out }' "$out/jobs$jobs/sweep.csv" >"$out/table$jobs.csv"
done
points=$(($(wc -l <"$out/table1.csv") - 1))
t1=$(awk '{ print $2 - $1 }' "$out/time1")
t2=$(awk '{ print $2 - $1 }' "$out/time2")
same=no
cmp -s "$out/table1.csv" "$out/table2.csv" && same=yes
echo "sweep of $points points ($config, --grid $grid) on $(nproc) cores"
printf '  --jobs 1: %.2f s wall\n  --jobs 2: %.2f s wall\n' "$t1" "$t2"
awk -v a="$t1" -v b="$t2" 'BEGIN { printf "  speed-up: %.2fx\n", a / b }'
echo "  sweep.csv identical bar wall_seconds: $same"
