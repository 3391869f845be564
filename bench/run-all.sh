#!/bin/sh
# Runs every benchmark of docs/benchmarks.md and prints plain-text tables and a summary.
#
# usage (from anywhere; it works in the repository root's build/ folder):
#   sh bench/run-all.sh
# Environment:
#   BENCH_OUT=DIR          where outputs and profiles go (default build/bench/results)
#   BENCH_SOLVER_ONLY=1    also time the Figure 1 runs without output samples (+~80 s)
#   BENCH_CALLGRIND=0      skip the callgrind profiles
#   BENCH_CALLGRIND_STEPS=N  profile only the first N solver steps (default 150; 0: the whole
#                          run, ~6 minutes under valgrind instead of ~2)
# One BLAS thread throughout (OPENBLAS_NUM_THREADS=1). Total time about 4-5 minutes on 2 cores.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=build
out=${BENCH_OUT:-$build/bench/results}
config=examples/fig1-mc-rank3.ini
export OPENBLAS_NUM_THREADS=1

if [ ! -f "$build/build.ninja" ]; then
  echo "run-all.sh: no $build/build.ninja; configure first (meson setup $build)" >&2
  exit 1
fi
ninja -C "$build" dlnflow bench/bench_derivatives bench/bench_fig1 bench/bench_fig1_plainvec \
  bench/dlnflow_plainvec > /dev/null
mkdir -p "$out"
start=$(date +%s)

section() { printf '\n== %s ==\n' "$1"; }

section "1. loss, gradient and H.v per call (Figure 1 problem, L = 4)"
"$build/bench/bench_derivatives" --config "$config" | tee "$out/derivatives.txt"

section "2. Figure 1 run to the same loss: bdf against gd (optimised vector kernels)"
"$build/bench/bench_fig1" --config "$config" | tee "$out/fig1.txt"

section "2b. the same bdf runs with SUNDIALS' plain serial vector operations"
"$build/bench/bench_fig1_plainvec" --config "$config" --methods bdf | tee "$out/fig1-plainvec.txt"

if [ "${BENCH_SOLVER_ONLY:-0}" = 1 ]; then
  section "2c. solver only: no output samples between t = 0 and t_max"
  "$build/bench/bench_fig1" --config "$config" --sampling none | tee "$out/fig1-solver-only.txt"
fi

if [ "${BENCH_CALLGRIND:-1}" != 0 ] && command -v valgrind >/dev/null 2>&1; then
  steps=${BENCH_CALLGRIND_STEPS:-150}
  if [ "$steps" -gt 0 ]; then
    section "3. callgrind: instruction shares, first $steps steps of the Figure 1 run"
    set -- "solver.steps=$steps"
  else
    section "3. callgrind: instruction shares, the whole Figure 1 run"
    set --
  fi
  sh bench/callgrind.sh "$build/dlnflow" "$build/bench/dlnflow_plainvec" "$config" \
    "$out/callgrind" "$@" | tee "$out/callgrind.txt"
else
  section "3. callgrind: skipped (BENCH_CALLGRIND=0 or no valgrind)"
  : > "$out/callgrind.txt"
fi

section "summary"
awk '
  FILENAME ~ /derivatives/ && $1 ~ /^[0-9]+$/ {
    printf "%-50s %12.1f us\n", "gradient,  w = " $1 " (P = " $2 ")", $4
    printf "%-50s %12.1f us\n", "H.v,       w = " $1 " (P = " $2 ")", $5
  }
  FILENAME ~ /fig1\.txt/ && $2 ~ /^(bdf|gd)$/ {
    printf "%-50s %9.3f s (%s steps, %s)\n", "fig1 init.c = " $1 ": " $2 " CPU", $13, $7, $4
  }
  FILENAME ~ /fig1\.txt/ && /^RATIO/ { sub(/^RATIO /, ""); printf "%-50s\n", "fig1 " $0 }
  FILENAME ~ /plainvec/ && $2 == "bdf" {
    printf "%-50s %9.3f s\n", "fig1 init.c = " $1 ": bdf CPU, plain vector ops", $13
  }
  FILENAME ~ /callgrind/ && /^(vector kernels|SUNDIALS serial|gradient \+ H.v \(|SVD|other)/ {
    printf "callgrind %s\n", $0
  }' "$out/derivatives.txt" "$out/fig1.txt" "$out/fig1-plainvec.txt" "$out/callgrind.txt"
echo
echo "outputs in $out; total $(( $(date +%s) - start )) s"
