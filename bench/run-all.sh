#!/bin/sh
# Runs every benchmark of docs/benchmarks.md and prints plain-text tables and a summary.
#
# usage: sh bench/run-all.sh   (from any folder: it works on the repository's build/, which
#                                 must be configured; it rebuilds what it needs with ninja)
# Environment:
#   BENCH_OUT=DIR          where outputs and profiles go, relative to the repository root
#                          (default build/bench/results)
#   BENCH_SOLVER_ONLY=0    skip the Figure 1 runs without output samples (saves ~80 s)
#   BENCH_CALLGRIND=0      skip the callgrind profiles
#   BENCH_CALLGRIND_STEPS=N  profile only the first N solver steps (default: the whole run)
#   BENCH_PERF=0           skip the perf time profiles
#   CALLGRIND_CORETYPE=...   OpenBLAS kernel under valgrind (default Sandybridge; see callgrind.sh)
# One BLAS thread throughout (OPENBLAS_NUM_THREADS=1). Total time about 5 minutes on an idle
# 2-core machine.
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
"$build/bench/bench_fig1" --config "$config" --set solver.rtol=1e-6 | tee "$out/fig1.txt"

section "2b. the same bdf runs with SUNDIALS' plain serial vector operations"
"$build/bench/bench_fig1_plainvec" --config "$config" --set solver.rtol=1e-6 --methods bdf | tee "$out/fig1-plainvec.txt"

if [ "${BENCH_SOLVER_ONLY:-1}" != 0 ]; then
  section "2c. the same runs, solver only: no output samples between t = 0 and t_max"
  "$build/bench/bench_fig1" --config "$config" --set solver.rtol=1e-6 --sampling none | tee "$out/fig1-solver-only.txt"
else
  : > "$out/fig1-solver-only.txt"
fi

if [ "${BENCH_CALLGRIND:-1}" != 0 ] && command -v valgrind >/dev/null 2>&1; then
  steps=${BENCH_CALLGRIND_STEPS:-0}
  if [ "$steps" -gt 0 ]; then
    section "3. callgrind: instruction shares, first $steps steps of the Figure 1 run"
    set -- "solver.steps=$steps"
  else
    section "3. callgrind: instruction shares, the whole Figure 1 run (examples/fig1-mc-rank3.ini)"
    set --
  fi
  sh bench/callgrind.sh "$build/dlnflow" "$build/bench/dlnflow_plainvec" "$config" \
    "$out/callgrind" "$@" | tee "$out/callgrind.txt"
else
  section "3. callgrind: skipped (BENCH_CALLGRIND=0 or no valgrind)"
  : > "$out/callgrind.txt"
fi

if [ "${BENCH_PERF:-1}" != 0 ] && command -v perf >/dev/null 2>&1; then
  section "3b. perf: CPU time shares, the whole Figure 1 run"
  sh bench/perf.sh "$build/dlnflow" "$build/bench/dlnflow_plainvec" "$config" "$out/perf" |
    tee "$out/perf.txt"
else
  section "3b. perf: skipped (BENCH_PERF=0 or no perf)"
  : > "$out/perf.txt"
fi

section "summary"
awk -f bench/summary.awk "$out/derivatives.txt" "$out/fig1.txt" "$out/fig1-plainvec.txt" \
  "$out/callgrind.txt" "$out/fig1-solver-only.txt" "$out/perf.txt"
echo
echo "outputs in $out; total $(( $(date +%s) - start )) s"
