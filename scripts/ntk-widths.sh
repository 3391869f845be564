#!/bin/sh
# The NTK's relative change over a converged run against width (issue 5, THEORY.md §3):
# examples/fig2-mse-teacher.ini at each gamma and width with output.ntk = true; prints the
# final ||Θ_t - Θ_0|| / ||Θ_0|| per run and, per gamma, the least-squares exponent of it
# against w with its standard error. Usage: scripts/ntk-widths.sh [OUT_DIR] (w = 1000 runs
# take about 75 s at gamma = 0.75 and a few minutes at gamma = 2 on one core).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-runs/ntk-widths}
mkdir -p "$out"
bin=$here/build/dlnflow
for g in 0.75 2; do
  tm=1
  [ "$g" = 2 ] && tm=200
  for w in 100 300 1000; do
    "$bin" run "$here/examples/fig2-mse-teacher.ini" --out "$out/g$g-w$w" --quiet \
      network.width=$w init.gamma=$g solver.t_max=$tm output.samples=30 output.ntk=true \
      events.hessian=false
    awk -F, -v g=$g -v w=$w 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "ntk_change") c = i; next }
      { v = $c; loss = $2 } END { printf "%s %s %.6g %.3g\n", g, w, v, loss }' \
      "$out/g$g-w$w/trajectory.csv"
  done
done | awk '{ print "gamma", $1, "width", $2, "ntk_change", $3, "final loss", $4
             n[$1]++; x = log($2); y = log($3); sx[$1] += x; sy[$1] += y; sxx[$1] += x * x
             sxy[$1] += x * y; syy[$1] += y * y }
      END { for (g in n) { k = n[g]; mx = sx[g] / k; my = sy[g] / k
              b = (sxy[g] - k * mx * my) / (sxx[g] - k * mx * mx)
              r = syy[g] - k * my * my - b * (sxy[g] - k * mx * my)
              se = k > 2 ? sqrt(r / (k - 2) / (sxx[g] - k * mx * mx)) : 0
              printf "gamma %s: ntk_change ~ w^%.3f (stderr %.3f)\n", g, b, se } }'
