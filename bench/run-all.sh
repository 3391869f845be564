#!/bin/sh
# Runs every benchmark of docs/benchmarks.md and prints plain-text tables and a summary.
#
# usage: sh bench/run-all.sh   (from any folder: it works on the repository's build/, which
#                                 must be configured; it rebuilds what it needs with ninja)
# Environment:
#   BENCH_OUT=DIR          where outputs and profiles go, relative to the repository root
#                          (default build/bench/results)
#   BENCH_SOLVER_ONLY=0    skip the Figure 1 runs without output samples (saves ~80 s)
#   BENCH_ACCURACY=0       skip the accuracy comparison against a tight reference (~4 minutes)
#   BENCH_CALLGRIND=0      skip the callgrind profiles
#   BENCH_CALLGRIND_STEPS=N  profile only the first N solver steps (default: the whole run)
#   BENCH_PERF=0           skip the perf time profiles
#   CALLGRIND_CORETYPE=...   OpenBLAS kernel under valgrind (default Sandybridge; see callgrind.sh)
# One BLAS thread throughout (OPENBLAS_NUM_THREADS=1). Total time about 10 minutes on a 2-core
# machine.
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
  bench/bench_accuracy bench/dlnflow_plainvec > /dev/null
mkdir -p "$out"
start=$(date +%s)

section() { printf '\n== %s ==\n' "$1"; }

section "1. loss, gradient and H.v per call (Figure 1 problem, L = 4)"
"$build/bench/bench_derivatives" --config "$config" | tee "$out/derivatives.txt"

section "2. Figure 1 run to the same loss: bdf against gd (optimised vector kernels)"
"$build/bench/bench_fig1" --config "$config" --rtols 1e-6,2e-6 | tee "$out/fig1.txt"

section "2b. the same bdf runs with SUNDIALS' plain serial vector operations"
"$build/bench/bench_fig1_plainvec" --config "$config" --set solver.rtol=1e-6 --methods bdf | tee "$out/fig1-plainvec.txt"

if [ "${BENCH_SOLVER_ONLY:-1}" != 0 ]; then
  section "2c. the same runs, solver only: no output samples between t = 0 and t_max"
  "$build/bench/bench_fig1" --config "$config" --rtols 1e-6,2e-6 --sampling none | tee "$out/fig1-solver-only.txt"
else
  : > "$out/fig1-solver-only.txt"
fi

if [ "${BENCH_ACCURACY:-1}" != 0 ]; then
  section "2d. accuracy of those runs against bdf at rtol 1e-10 (Figure 1, init.c = 1)"
  "$build/bench/bench_accuracy" --config "$config" --rtols 1e-6,2e-6,3e-6,5e-6,1e-5,1e-4 \
    --lrs 0.05,0.025 | tee "$out/accuracy.txt"
else
  : > "$out/accuracy.txt"
fi

# The profiles run the benchmarked bdf configuration (rtol 1e-6, the example's 300 output
# samples) without the saddle-event tracker, whose Lanczos descriptions are no part of the
# bdf-against-gd comparison.
profile_overrides="solver.rtol=1e-6 events.enabled=false"
if [ "${BENCH_CALLGRIND:-1}" != 0 ] && command -v valgrind >/dev/null 2>&1; then
  steps=${BENCH_CALLGRIND_STEPS:-0}
  if [ "$steps" -gt 0 ]; then
    section "3. callgrind: instruction shares, first $steps steps of the Figure 1 run"
    set -- $profile_overrides "solver.steps=$steps"
  else
    section "3. callgrind: instruction shares, the whole Figure 1 run ($profile_overrides)"
    set -- $profile_overrides
  fi
  sh bench/callgrind.sh "$build/dlnflow" "$build/bench/dlnflow_plainvec" "$config" \
    "$out/callgrind" "$@" | tee "$out/callgrind.txt"
else
  section "3. callgrind: skipped (BENCH_CALLGRIND=0 or no valgrind)"
  : > "$out/callgrind.txt"
fi

if [ "${BENCH_PERF:-1}" != 0 ] && command -v perf >/dev/null 2>&1; then
  section "3b. perf: CPU time shares, the whole Figure 1 run ($profile_overrides)"
  # shellcheck disable=SC2086
  sh bench/perf.sh "$build/dlnflow" "$build/bench/dlnflow_plainvec" "$config" "$out/perf" \
    $profile_overrides | tee "$out/perf.txt"
else
  section "3b. perf: skipped (BENCH_PERF=0 or no perf)"
  : > "$out/perf.txt"
fi

section "summary"
awk -f bench/summary.awk "$out/derivatives.txt" "$out/fig1.txt" "$out/fig1-plainvec.txt" \
  "$out/callgrind.txt" "$out/fig1-solver-only.txt" "$out/perf.txt"
echo
echo "outputs in $out; total $(( $(date +%s) - start )) s"
