#!/bin/sh
# Reproduces the paper's figures (examples/figures/figN.ini) and prints, for each, its run time
# and the numbers docs/figures.md sets beside the paper's claims.
#
# usage: scripts/figures.sh [N ...] [-- SWEEP_OPTIONS]
#   N: figure numbers (default 1 2 3 4 6); SWEEP_OPTIONS go to every `dlnflow sweep`, e.g.
#   scripts/figures.sh 2 -- --grid network.width=10,100,1000   (the paper's full grid)
# Outputs: runs/figures/figN/ (sweep.csv, plateaus.csv, sweep.png, sweep.svg, points/).
# Summaries only (no rerun): FIGURES_SUMMARY_ONLY=1 scripts/figures.sh
set -eu
cd "$(dirname "$0")/.."
figures=""
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  figures="$figures $1"
  shift
done
[ $# -gt 0 ] && shift
[ -n "$figures" ] || figures="1 2 3 4 6"
bin=./build/dlnflow
out=${FIGURES_OUT:-runs/figures}
[ -x "$bin" ] || { echo "figures.sh: build first (scripts/build.sh)" >&2; exit 1; }

# table DIR KEYS COLUMNS: per distinct value of the KEYS columns (comma-separated names) of
# DIR/sweep.csv, the count and the mean and standard deviation of each named column.
table() {
  awk -F, -v keys="$2" -v cols="$3" '
    NR == 1 { for (i = 1; i <= NF; i++) at[$i] = i
              nk = split(keys, k, ","); nc = split(cols, c, ",")
              printf "| %s | points |", keys; for (j = 1; j <= nc; j++) printf " %s |", c[j]
              printf "\n|"; for (j = 0; j <= nc + 1; j++) printf "---|"; printf "\n"; next }
    { g = ""; for (j = 1; j <= nk; j++) g = g (j > 1 ? ", " : "") $(at[k[j]])
      if (!(g in n)) order[++ng] = g
      n[g]++
      for (j = 1; j <= nc; j++) { v = $(at[c[j]]); if (v != "") {   # Welford: no cancellation
        m[g, j]++; d = v - mu[g, j]; mu[g, j] += d / m[g, j]; q[g, j] += d * (v - mu[g, j]) } } }
    END { for (i = 1; i <= ng; i++) { g = order[i]; printf "| %s | %d |", g, n[g]
            for (j = 1; j <= nc; j++) {
              if (!m[g, j]) { printf " - |"; continue }
              printf (m[g, j] > 1 ? " %.3g ± %.2g |" : " %.3g |"), mu[g, j],
                     (m[g, j] > 1 ? sqrt(q[g, j] / (m[g, j] - 1)) : 0) }
            printf "\n" } }' "$1/sweep.csv"
}

# rises DIR POINT COLUMN: how often COLUMN of the point's trajectory.csv rises by more than 1%
# from one row to the next (0: it never rises, as the gradient norm of a lazy run).
rises() {
  awk -F, -v name="$3" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i; next }
                        { if (prev != "" && $c > 1.01 * prev) r++; prev = $c } END { print r + 0 }' \
    "$1/points/$2/trajectory.csv"
}

summary() {
  n=$1
  dir=$out/fig$n
  echo "## Figure $n ($dir)"
  [ -f "$dir/time" ] && echo "run time: $(cat "$dir/time") s wall on $(nproc) cores"
  case $n in
    1 | 4)
      key=$([ "$n" = 1 ] && echo solver.method || echo init.alpha)
      table "$dir" "$key" "loss_final,test_loss_final,test_loss_zero,rank_final,saddles,escape_time"
      echo
      echo "plateaus (plateaus.csv): $key, kind, rank, t_entry, t_exit"
      awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) at[$i] = i; next }
               { printf "  %s %s rank %s: %s .. %s\n", $2, $(at["kind"]), $(at["rank"]),
                 $(at["t_entry"]), $(at["t_exit"]) }' "$dir/plateaus.csv"
      ;;
    2)
      table "$dir" "init.gamma,network.width" "saddles,escape_time,rank_final,loss_final"
      echo
      echo "training time: the first t at which the loss is below 1e-6 of its initial value, mean ± sd over seeds:"
      for p in $(awk -F, 'NR > 1 { print $NF }' "$dir/sweep.csv"); do
        key=$(jq -r '.config.init.gamma + ", w = " + .config.network.width' "$dir/$p/summary.json")
        awk -F, -v key="$key" 'NR == 1 { for (i = 1; i <= NF; i++) { if ($i == "t") ct = i; if ($i == "loss") cl = i }; next }
               NR == 2 { l0 = $cl } !done && $cl <= 1e-6 * l0 { print key ";" $ct; done = 1 }' "$dir/$p/trajectory.csv"
      done | awk -F';' '{ n[$1]++; d = $2 - mu[$1]; mu[$1] += d / n[$1]; q[$1] += d * ($2 - mu[$1]) }
                      END { for (k in n) printf "  gamma = %s: %.4g ± %.2g (%d seeds)\n", k, mu[k], (n[k] > 1 ? sqrt(q[k] / (n[k] - 1)) : 0), n[k] }' | sort
      echo
      echo "total time on saddle plateaus (sum of t_exit - t_entry over a point's saddles), mean over seeds:"
      awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) at[$i] = i; next }
               $(at["kind"]) == "saddle" && $(at["t_exit"]) != "" {
                 g = $(at["init.gamma"]) ", w = " $(at["network.width"])
                 len[g] += $(at["t_exit"]) - $(at["t_entry"]); pts[g, $1] = 1 }
               END { for (k in pts) { split(k, a, SUBSEP); np[a[1]]++ }
                     for (g in len) printf "  gamma = %s: %.4g\n", g, len[g] / np[g] }' \
        "$dir/plateaus.csv" | sort
      ;;
    3)
      table "$dir" "network.width,init.gamma" "test_loss_final,rank_final,test_loss_zero"
      ;;
    6)
      table "$dir" "network.depth,init.gamma" "loss_final,test_loss_final,rank_final,saddles"
      echo
      for p in $(awk -F, 'NR > 1 { print $NF }' "$dir/sweep.csv"); do
        p=${p#points/}
        echo "  point $p: gradient-norm rises $(rises "$dir" "$p" grad_norm), rank steps $(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "rank") c = i; next } { if (prev != "" && $c != prev) s++; prev = $c } END { print s + 0 }' "$dir/points/$p/trajectory.csv"), lowest test loss $(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) { if ($i == "test_loss") c = i; if ($i == "rank") r = i; if ($i == "t") ct = i }; next }
            best == "" || $c < best { best = $c; rank = $r; t = $ct } END { printf "%.3g at t = %.3g (rank %s)", best, t, rank }' "$dir/points/$p/trajectory.csv")"
      done
      ;;
  esac
  echo
}

for n in $figures; do
  cfg=examples/figures/fig$n.ini
  [ -f "$cfg" ] || { echo "figures.sh: no $cfg" >&2; exit 2; }
  if [ "${FIGURES_SUMMARY_ONLY:-0}" != 1 ]; then
    start=$(date +%s.%N)
    "$bin" sweep "$cfg" --out "$out/fig$n" --quiet "$@"
    end=$(date +%s.%N)
    awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f\n", b - a }' >"$out/fig$n/time"
  fi
  summary "$n"
done
