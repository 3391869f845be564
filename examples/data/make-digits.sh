#!/bin/sh
# Rebuilds digits-x.csv and digits-y.csv from the scikit-learn digits CSV (path as $1):
# pixels / 16, centred per column; labels one-hot.
set -eu
src=${1:-../../../shared/data/digits.csv.gz}
zcat "$src" | awk -F, '
{ for (j = 1; j <= 64; j++) { x[NR, j] = $j / 16.0; s[j] += $j / 16.0 } lab[NR] = $65 }
END {
  n = NR
  for (i = 1; i <= n; i++) {
    line = ""
    for (j = 1; j <= 64; j++) line = line (j > 1 ? "," : "") sprintf("%.6f", x[i, j] - s[j] / n)
    print line > "digits-x.csv"
    line = ""
    for (k = 0; k < 10; k++) line = line (k > 0 ? "," : "") (lab[i] == k ? 1 : 0)
    print line > "digits-y.csv"
  }
}'
