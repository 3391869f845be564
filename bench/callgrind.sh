#!/bin/sh
# Share of instructions spent in CVODE's vector operations against the gradient and H·v
# products on one `dlnflow run`, measured with valgrind's callgrind (docs/benchmarks.md).
#
# usage: sh bench/callgrind.sh DLNFLOW DLNFLOW_PLAINVEC|- CONFIG OUTDIR [section.key=value ...]
#
# Profiles DLNFLOW (the library's optimised N_Vector kernels) and, unless "-", DLNFLOW_PLAINVEC
# (the same program linked with SUNDIALS' plain serial vector operations, bench/nvector_plain.c)
# on CONFIG with the overrides, both at once (one core each), and prints the share of all
# instructions (Ir) per category. Only the run itself is counted (callgrind's
# --toggle-collect=dln_run_trajectory: integration and per-sample measurements), not start-up,
# set-up, output files or the final Hessian spectrum that summary.json reports. Profiles and
# annotations stay in OUTDIR; with CALLGRIND_REUSE=1 the profiles already there are annotated
# again instead of being measured anew.
#
# Categories (functions as callgrind_annotate names them):
#   vector kernels (ours)     self cost of every function in src/nvector_fast.c (fast_*, ...)
#                             and src/gmres.c (the fused GMRES: its passes and bookkeeping)
#   SUNDIALS vector ops       the rest of the inclusive cost of SUNDIALS' N_V* entry points
#                             (N_VLinearSum, N_VDotProd, ...): the N_V*_Serial operations that
#                             no kernel of ours replaces, their unnamed helpers, the dispatch
#   gradient + H.v            inclusive cost of dln_problem_gradient and dln_problem_hvp
#                             (forward/backward/tangent passes, cost, the dgemm calls beneath)
#   loss-only evaluations     inclusive cost of dln_problem_loss (one per step, and stop search)
#                             and dln_problem_test_loss (one per output sample)
#   rhs/jtimes loops          self cost of flow.c's rhs and jtimes and of the negation and
#                             finiteness check they call (flow_kernels.c)
#   error weights             inclusive cost of flow.c's error_weights (per-layer norms, ewt)
#   SVD (LAPACK)              inclusive cost of dln_singular_values (one per output sample)
#   balancedness drift        inclusive cost of dln_balance_alloc and dln_balance_drift (BLAS)
#   preconditioner            inclusive cost of dln_precond_* (none above solver.dense_max)
#   other                     the rest: CVODE's bookkeeping, ...
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
command -v valgrind >/dev/null 2>&1 || { echo "callgrind.sh: valgrind not found" >&2; exit 1; }
command -v callgrind_annotate >/dev/null 2>&1 || {
  echo "callgrind.sh: callgrind_annotate not found" >&2; exit 1; }
mkdir -p "$outdir"
export OPENBLAS_NUM_THREADS=1
# Under valgrind (no AVX-512) OpenBLAS picks its Haswell kernels, whose FMA instructions valgrind
# executes very slowly: a gradient runs 1000x slower than natively even under --tool=none, and the
# whole Figure 1 run takes 7 minutes to profile. The Sandybridge kernels (AVX, no FMA) run 16x
# slower than natively there, and the profile takes under a minute. Neither executes the native
# kernel's instructions (SkylakeX, AVX-512 FMA here): instruction shares are a proxy for time
# whichever kernel runs (bench/perf.sh measures time).
# CALLGRIND_CORETYPE= (empty) leaves the choice to OpenBLAS.
coretype=${CALLGRIND_CORETYPE-Sandybridge}
if [ -n "$coretype" ]; then export OPENBLAS_CORETYPE="$coretype"; fi

# profile NAME EXE [override ...]: runs EXE under callgrind into $outdir/NAME.callgrind.
profile() {
  name=$1
  exe=$2
  shift 2
  valgrind --tool=callgrind --toggle-collect=dln_run_trajectory \
    --callgrind-out-file="$outdir/$name.callgrind" \
    "$exe" run "$config" --out "$outdir/$name-run" --quiet "$@" > "$outdir/$name.log" 2>&1
}

start=$(date +%s)
variants=fast
if [ "$plain" != "-" ]; then variants="fast plain"; fi
pids=
for v in $variants; do
  if [ "$v" = fast ]; then exe=$dlnflow; else exe=$plain; fi
  if [ "${CALLGRIND_REUSE:-0}" = 1 ] && [ -s "$outdir/$v.callgrind" ]; then
    continue # re-annotate an earlier profile
  fi
  profile "$v" "$exe" "$@" &
  pids="$pids $!"
done
status=0
for p in $pids; do wait "$p" || status=1; done
if [ $status -ne 0 ]; then
  echo "callgrind.sh: a profiled run failed; see $outdir/*.log" >&2
  exit 1
fi
elapsed=$(( $(date +%s) - start ))

for v in $variants; do
  callgrind_annotate --auto=no --inclusive=yes --threshold=100 "$outdir/$v.callgrind" \
    > "$outdir/$v.inclusive.txt" 2>/dev/null
  callgrind_annotate --auto=no --threshold=100 "$outdir/$v.callgrind" > "$outdir/$v.self.txt" 2>/dev/null
done

# categorize VARIANT: prints "key value" lines of instruction counts per category.
categorize() {
  awk -v self="$outdir/$1.self.txt" -v incl="$outdir/$1.inclusive.txt" '
    function count(line) { sub(/^ */, "", line); sub(/ .*/, "", line); gsub(/,/, "", line);
                           return line + 0 }
    function name(line) { sub(/^ *[0-9,]+ +\( *[0-9.]+%\) +/, "", line); return line }
    BEGIN {
      while ((getline line < self) > 0) {
        if (line ~ /PROGRAM TOTALS/) total = count(line)
        if (line !~ /^ *[0-9,]+ +\(/) continue
        n = count(line); f = name(line)
        if (f ~ /nvector_fast\.c:/) ours_nv += n
        else if (f ~ /gmres\.c:/) ours_gmres += n
        else if (f ~ /flow\.c:(rhs|jtimes) / || f ~ /flow_kernels\.c:dln_negate_all_finite/) cb += n
      }
      while ((getline line < incl) > 0) {
        if (line !~ /^ *[0-9,]+ +\(/) continue
        n = count(line); f = name(line)
        if (f ~ /:N_V[A-Za-z]+ \[/) vec += n
        else if (f ~ /:dln_problem_(gradient|hvp) /) grad += n
        else if (f ~ /:dln_problem_(loss|test_loss) /) loss += n
        else if (f ~ /flow\.c:error_weights /) ewt += n
        else if (f ~ /:dln_singular_values /) svd += n
        else if (f ~ /:dln_balance_(alloc|drift) /) bal += n
        else if (f ~ /:dln_precond_(setup|solve) /) pre += n
      }
      serial = vec > ours_nv ? vec - ours_nv : 0  # N_V* calls minus our kernels beneath them
      ours = ours_nv + ours_gmres
      other = total - ours - serial - grad - loss - cb - ewt - svd - bal - pre
      printf "total %.0f\nours %.0f\nserial %.0f\ngrad %.0f\nloss %.0f\ncb %.0f\newt %.0f\n",
             total, ours, serial, grad, loss, cb, ewt
      printf "svd %.0f\nbal %.0f\npre %.0f\nother %.0f\n", svd, bal, pre, other
    }'
}

for v in $variants; do
  categorize "$v" > "$outdir/$v.split"
  # The run's own counts, from its summary.json (one "key": value per line).
  for key in steps rhs_evals hvp_evals; do
    printf '%s %s\n' "$key" "$(grep -o "\"$key\": [0-9][0-9]*" "$outdir/$v-run/summary.json" | head -n 1 |
      sed 's/.*: //')" >> "$outdir/$v.split"
  done
done

echo "# callgrind: $(basename "$dlnflow") run $config --quiet $*"
echo "# share of all instructions (Ir) inside dln_run_trajectory; OpenBLAS kernel ${coretype:-default};"
echo "# profiles in $outdir ($elapsed s under valgrind)"
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
      for (i = 1; i <= nv; i++) printf " %13.1f%%", 100 * c[i, keys[k]] / c[i, "total"]
      printf "\n"
    }
    printf "%-44s", "all vector ops (ours + serial)"
    for (i = 1; i <= nv; i++) printf " %13.1f%%", 100 * (c[i, "ours"] + c[i, "serial"]) / c[i, "total"]
    printf "\n%-44s", "total instructions [1e9]"
    for (i = 1; i <= nv; i++) printf " %14.3f", c[i, "total"] / 1e9
    printf "\n%-44s", "vector-op instructions [1e9]"
    for (i = 1; i <= nv; i++) printf " %14.3f", (c[i, "ours"] + c[i, "serial"]) / 1e9
    printf "\n%-44s", "gradient + H.v instructions [1e9]"
    for (i = 1; i <= nv; i++) printf " %14.3f", c[i, "grad"] / 1e9
    printf "\n%-44s", "solver steps, gradients, H.v products"
    for (i = 1; i <= nv; i++) printf " %14s", c[i, "steps"] "/" c[i, "rhs_evals"] "/" c[i, "hvp_evals"]
    printf "\n"
  }'
