# `mpirun -n 2 dlnflow sweep`: the two ranks share the points (each runs half) and rank 0
# writes the same sweep.csv and plateaus.csv as a single-process sweep (bar wall_seconds);
# a rerun under MPI skips every finished point. Registered only when dlnflow is built with MPI.
#
# Usage (as meson runs it): sh cli_sweep_mpi.sh DLNFLOW SOURCE_ROOT MPIRUN

if [ $# -ne 3 ]; then
  echo "usage: sh cli_sweep_mpi.sh DLNFLOW_BINARY SOURCE_ROOT MPIRUN" >&2
  exit 2
fi
BIN=$1
case $BIN in /*) ;; *) BIN=$(pwd)/$BIN ;; esac
SRC=$(cd "$2" && pwd) || exit 2
MPIRUN=$3
ESC=$SRC/tests/data/escape.ini

. "$(dirname "$0")/checks.sh"
scratch cli_sweep_mpi
# OpenMPI refuses root without these, and its own allocations are not ours to leak-check.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
without_wall() {
  awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "wall_seconds") c = i }
           { out = ""; for (i = 1; i <= NF; i++) if (i != c) out = out (out == "" ? "" : ",") $i
             print out }' "$1"
}

GRID="network.depth=2 --grid init.alpha=1e-2,1e-4,1e-6 --grid init.seed=1:2"
"$BIN" sweep "$ESC" $GRID --jobs 1 --out "$S/one" >"$S/one.out" 2>"$S/err"
rc1=$?
timeout 300 "$MPIRUN" -n 2 "$BIN" sweep "$ESC" $GRID --out "$S/mpi" >"$S/mpi.out" 2>"$S/mpi.err"
rc2=$?
check "mpirun -n 2 sweep exits 0 like the single-process sweep" \
  "exits $rc1 and $rc2: $(head -n 3 "$S/mpi.err" | tr '\n' ' ')" \
  "$([ "$rc1" -eq 0 ] && [ "$rc2" -eq 0 ]; echo $?)"
check "each rank ran three of the six points" "$(grep 'rank' "$S/mpi.out" | tr '\n' ' ')" \
  "$(grep -q 'rank 0 of 2: 3 points, 0 finished earlier, 3 to run' "$S/mpi.out" &&
     grep -q 'rank 1 of 2: 3 points, 0 finished earlier, 3 to run' "$S/mpi.out"; echo $?)"
without_wall "$S/one/sweep.csv" >"$S/one.csv"
without_wall "$S/mpi/sweep.csv" >"$S/mpi.csv"
check "the 2-rank sweep.csv equals the single-process one (bar wall_seconds)" \
  "$(diff "$S/one.csv" "$S/mpi.csv" | head -n 4 | tr '\n' ' ')" \
  "$(cmp -s "$S/one.csv" "$S/mpi.csv" && [ "$(wc -l <"$S/mpi.csv")" -eq 7 ]; echo $?)"
check "and so does plateaus.csv" "$(diff "$S/one/plateaus.csv" "$S/mpi/plateaus.csv" | head -n 4 | tr '\n' ' ')" \
  "$(cmp -s "$S/one/plateaus.csv" "$S/mpi/plateaus.csv" && [ "$(wc -l <"$S/mpi/plateaus.csv")" -gt 7 ]; echo $?)"
timeout 300 "$MPIRUN" -n 2 "$BIN" sweep "$ESC" $GRID --out "$S/mpi" >"$S/again.out" 2>"$S/err"
rc=$?
check "a 2-rank rerun skips every finished point" "exit $rc, $(grep rank "$S/again.out" | tr '\n' ' ')" \
  "$([ "$rc" -eq 0 ] && [ "$(grep -c '3 finished earlier, 0 to run' "$S/again.out")" -eq 2 ]; echo $?)"
finish
