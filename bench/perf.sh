#!/bin/sh
# Share of CPU time (not instructions) that one `dlnflow run` spends in CVODE's vector operations,
# the gradient and H·v products and the rest, sampled with Linux perf (docs/benchmarks.md).
# The time-based companion of callgrind.sh, with the same categories.
#
# usage: sh bench/perf.sh DLNFLOW DLNFLOW_PLAINVEC|- CONFIG OUTDIR [section.key=value ...]
#
# Records DLNFLOW and, unless "-", DLNFLOW_PLAINVEC (plain serial vector operations,
# bench/nvector_plain.c) one after the other with `perf record --call-graph dwarf` and files every
# sample taken inside dln_run_trajectory (the run itself: not start-up, set-up, output files or
# the final Hessian spectrum) under the innermost frame of its stack that names a category:
#   vector kernels (ours)     fast_* (src/nvector_fast.c) and the fused GMRES's passes (src/gmres.c)
#   SUNDIALS vector ops       N_V* (dispatch, N_V*_Serial and their unnamed helpers)
#   gradient + H.v            dln_problem_gradient, dln_problem_hvp (and what runs beneath)
#   loss-only evaluations     dln_problem_loss, dln_problem_test_loss
#   rhs/jtimes loops          flow.c's rhs and jtimes (negation, finiteness check: flow_kernels.c)
#   error weights             flow.c's error_weights
#   SVD (LAPACK)              dln_singular_values
#   balancedness drift        dln_balance_*
#   preconditioner            dln_precond_*
#   other                     the rest (CVODE's bookkeeping, GMRES's Hessenberg updates, ...)
# Samples whose stack perf could not unwind to main (mostly inside OpenBLAS's dnrm2 assembly,
# which has no unwind tables) cannot be placed and are left out; the table counts them.
# PERF_FREQ sets the sampling rate (default 4000 Hz). Needs perf and the permission to use it
# (kernel.perf_event_paranoid <= 2 for one's own processes).
set -eu

if [ $# -lt 4 ]; then
  echo "usage: sh $0 DLNFLOW DLNFLOW_PLAINVEC|- CONFIG OUTDIR [section.key=value ...]" >&2
  exit 2
fi
dlnflow=$1
plain=$2
config=$3
outdir=$4
shift 4
command -v perf >/dev/null 2>&1 || { echo "perf.sh: perf not found" >&2; exit 1; }
mkdir -p "$outdir"
export OPENBLAS_NUM_THREADS=1
freq=${PERF_FREQ:-4000}

variants=fast
if [ "$plain" != "-" ]; then variants="fast plain"; fi
for v in $variants; do
  if [ "$v" = fast ]; then exe=$dlnflow; else exe=$plain; fi
  if ! perf record -q -F "$freq" --call-graph dwarf,16384 -o "$outdir/$v.perf.data" \
      "$exe" run "$config" --out "$outdir/$v-run" --quiet "$@" > "$outdir/$v.log" 2>&1; then
    echo "perf.sh: perf record failed; see $outdir/$v.log" >&2
    exit 1
  fi
  perf script -i "$outdir/$v.perf.data" -F ip,sym --no-inline > "$outdir/$v.stacks" 2>/dev/null
  # Samples are blank-line separated lists of "<tab>address symbol" frames, innermost first.
  awk '
    function category(s) {
      if (s ~ /^(fast_|weighted_square_sum)/) return "ours"
      if (s ~ /^(scale_norm2|normalize_unscale|project|orthogonalize|combine)(\.|$)/) return "ours"
      if (s ~ /^N_V[A-Za-z]/) return "serial"
      if (s ~ /^(dln_problem_gradient|dln_problem_hvp|evaluate_point|ensure_point)/) return "grad"
      if (s ~ /^(dln_problem_loss|dln_problem_test_loss)/) return "loss"
      if (s ~ /^error_weights/) return "ewt"
      if (s ~ /^dln_singular_values/) return "svd"
      if (s ~ /^(dln_balance_|balance_matrix|balance_scale)/) return "bal"
      if (s ~ /^dln_precond_/) return "pre"
      if (s ~ /^(rhs|jtimes|dln_negate_all_finite)(\.|$)/) return "cb"
      return ""
    }
    function flush(    i, c, inside, rooted) {
      if (n == 0) return
      all++
      inside = 0
      rooted = 0
      for (i = 1; i <= n; i++) {
        if (frame[i] == "dln_run_trajectory") inside = 1
        if (frame[i] ~ /^(_start|main|__libc_start_call_main)$/) rooted = 1
      }
      if (!rooted) truncated++
      if (inside) {
        run++
        c = "other"
        for (i = 1; i <= n; i++) if (category(frame[i]) != "") { c = category(frame[i]); break }
        count[c]++
      }
      n = 0
    }
    /^[ \t]*$/ { flush(); next }
    /^\t/ { s = $2; sub(/\+0x[0-9a-f]+$/, "", s); frame[++n] = s }
    END {
      flush()
      printf "samples %d\nrun %d\ntruncated %d\n", all, run, truncated
      split("ours serial grad loss cb ewt svd bal pre other", keys, " ")
      for (k = 1; k <= 10; k++) printf "%s %d\n", keys[k], count[keys[k]]
    }' "$outdir/$v.stacks" > "$outdir/$v.split"
  for key in steps rhs_evals hvp_evals; do
    printf '%s %s\n' "$key" "$(grep -o "\"$key\": [0-9][0-9]*" "$outdir/$v-run/summary.json" |
      head -n 1 | sed 's/.*: //')" >> "$outdir/$v.split"
  done
  printf 'seconds %s\n' "$(grep -o '"cpu_seconds": [0-9.eE+-]*' "$outdir/$v-run/summary.json" |
    head -n 1 | sed 's/.*: //')" >> "$outdir/$v.split"
done

echo "# perf: $(basename "$dlnflow") run $config --quiet $*"
echo "# share of CPU time inside dln_run_trajectory, from perf samples at $freq Hz"
awk -v variants="$variants" -v dir="$outdir" '
  BEGIN {
    nv = split(variants, v, " ")
    for (i = 1; i <= nv; i++) {
      file = dir "/" v[i] ".split"
      while ((getline line < file) > 0) { split(line, kv, " "); c[i, kv[1]] = kv[2] }
    }
    label["ours"] = "vector kernels (ours: nvector_fast.c, gmres.c)"
    label["serial"] = "SUNDIALS vector ops (N_V*_Serial, dispatch)"
    label["grad"] = "gradient + H.v (inclusive)"
    label["loss"] = "loss-only + test-loss evaluations (incl.)"
    label["cb"] = "rhs/jtimes negation + finiteness loops"
    label["ewt"] = "error weights (flow.c, inclusive)"
    label["svd"] = "SVD diagnostics (LAPACK, inclusive)"
    label["bal"] = "balancedness drift (BLAS, inclusive)"
    label["pre"] = "preconditioner (inclusive)"
    label["other"] = "other (CVODE/GMRES bookkeeping)"
    nk = split("ours serial grad loss cb ewt svd bal pre other", keys, " ")
    printf "%-44s", "category"
    for (i = 1; i <= nv; i++) printf " %14s", v[i] " vectors"
    printf "\n"
    for (k = 1; k <= nk; k++) {
      printf "%-44s", label[keys[k]]
      for (i = 1; i <= nv; i++) printf " %13.1f%%", 100 * c[i, keys[k]] / c[i, "run"]
      printf "\n"
    }
    printf "%-44s", "all vector ops (ours + serial)"
    for (i = 1; i <= nv; i++) printf " %13.1f%%", 100 * (c[i, "ours"] + c[i, "serial"]) / c[i, "run"]
    printf "\n%-44s", "samples in the run / in the process"
    for (i = 1; i <= nv; i++) printf " %14s", c[i, "run"] "/" c[i, "samples"]
    printf "\n%-44s", "samples with truncated stacks (left out)"
    for (i = 1; i <= nv; i++) printf " %14s", c[i, "truncated"]
    printf "\n%-44s", "CPU seconds of the run (summary.json)"
    for (i = 1; i <= nv; i++) printf " %14.3f", c[i, "seconds"]
    printf "\n%-44s", "solver steps, gradients, H.v products"
    for (i = 1; i <= nv; i++) printf " %14s", c[i, "steps"] "/" c[i, "rhs_evals"] "/" c[i, "hvp_evals"]
    printf "\n"
  }'
