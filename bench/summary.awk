# Summary table of bench/run-all.sh. Reads, in this order, the outputs of bench_derivatives,
# bench_fig1, bench_fig1_plainvec, callgrind.sh, bench_fig1 --sampling none and perf.sh
# (any may be empty) and prints one line per headline number. The share of a Figure 1 run's
# CPU time in loss, gradient and H.v evaluations is estimated from its counts times the
# per-call costs that bench_derivatives measured at w = 100 (the Figure 1 width).
BEGIN {
  for (i = 1; i < ARGC; i++) position[ARGV[i]] = i
  profile_rows = "^(vector kernels|SUNDIALS vector ops|gradient \\+ H.v \\(|loss-only|rhs/jtimes|" \
                 "error weights|balancedness|SVD|other|all vector|total instructions)"
}
FNR == 1 { file = position[FILENAME] }
file == 1 && $1 ~ /^[0-9]+$/ {
  nw++; w[nw] = $1; P[nw] = $2; tl[$1] = $3; tg[$1] = $4; th[$1] = $5
  if ($1 == 100) have100 = 1
}
(file == 2 || file == 5) && ($2 == "bdf" || $2 == "gd") {
  # one row per method and setting ($16: rtol=... or lr=...), in the order printed
  if (!((file SUBSEP $1) in seen)) { seen[file, $1] = 1; ns[file]++; scale[file, ns[file]] = $1 }
  nr[file, $1]++; key = file SUBSEP $1 SUBSEP nr[file, $1]
  name[key] = $2 " " $16
  steps[key] = $7; grads[key] = $9; hvps[key] = $10; losses[key] = $11; cpu[key] = $13
  stop[key] = $4
  if ($2 == "bdf" && !((file SUBSEP $1) in first_bdf)) first_bdf[file, $1] = key
}
(file == 2 || file == 5) && /^RATIO/ {
  c = $2; sub(/^init\.c=/, "", c)
  r = $0; sub(/^.*cpu\(bdf\) = /, "", r)
  nratio[file, c]++; ratio[file, c, nratio[file, c]] = r
}
file == 3 && $2 == "bdf" { plain[$1] = $13 }
(file == 4 || file == 6) && $0 ~ profile_rows {
  nprof[file]++; prof[file, nprof[file]] = $0
}
function derivative_share(k,    t) {
  if (!have100 || !(cpu[k] > 0)) return "n/a"
  t = grads[k] * tg[100] + hvps[k] * th[100] + losses[k] * tl[100]
  return sprintf("%.0f%%", 100 * t / 1e6 / cpu[k])
}
function fig1(f, title,    i, c, m, k, r, verdict) {
  for (i = 1; i <= ns[f]; i++) {
    c = scale[f, i]
    for (m = 1; m <= nr[f, c]; m++) {
      k = f SUBSEP c SUBSEP m
      printf "%-56s %10.3f s  %s steps, %s gradients, %s H.v; %s\n",
             title " init.c = " c ": " name[k] " CPU", cpu[k], steps[k], grads[k], hvps[k],
             stop[k]
      printf "%-56s %10s    (counts x per-call times)\n",
             title " init.c = " c ": " name[k] " share in derivatives", derivative_share(k)
    }
    for (m = 1; m <= nratio[f, c]; m++) {
      r = ratio[f, c, m]; verdict = r
      sub(/ .*/, "", r); sub(/^[^ ]* */, "", verdict)
      printf "%-56s %10s    %s\n", title " init.c = " c ": cpu(gd)/cpu(bdf)", r, verdict
    }
    if (f == 2 && (c in plain) && ((f SUBSEP c) in first_bdf)) {
      k = first_bdf[f, c]
      printf "%-56s %10.3f s  (the optimised kernels are %.2fx faster)\n",
             title " init.c = " c ": bdf CPU, plain vector ops", plain[c],
             (cpu[k] > 0 ? plain[c] / cpu[k] : 0)
    }
  }
}
END {
  printf "%-56s %s\n", "quantity", "value"
  for (i = 1; i <= nw; i++) {
    printf "%-56s %10.1f us\n", "gradient  w = " w[i] " (P = " P[i] ")", tg[w[i]]
    printf "%-56s %10.1f us\n", "H.v       w = " w[i] " (P = " P[i] ")", th[w[i]]
  }
  fig1(2, "fig1")
  fig1(5, "fig1 solver only")
  if (nprof[4] + nprof[6] > 0)
    printf "%-58s %14s %14s\n", "profile of the Figure 1 run (init.c = 1, bdf)", "fast vectors",
           "plain vectors"
  for (i = 1; i <= nprof[4]; i++) printf "callgrind Ir: %s\n", prof[4, i]
  for (i = 1; i <= nprof[6]; i++) printf "perf time:    %s\n", prof[6, i]
}
