# Draws a run's trajectory.csv: loss and test loss, gradient norm, and the singular values of A
# against time, on log axes. Called by scripts/plot-run.sh with
#   gnuplot -e "run='DIR'; term='pngcairo'; ext='png'" plots/trajectory.gp
if (!exists("run")) run = "."
if (!exists("term")) term = "pngcairo"
if (!exists("ext")) ext = "png"
if (!exists("has_test")) has_test = 1
csv = run . "/trajectory.csv"
set datafile separator ","
set datafile missing ""
set key autotitle columnhead
stats csv using 0 nooutput
ncols = STATS_columns

if (term eq "svg") { set terminal svg size 900,900 dynamic font "sans,11" } \
else { set terminal pngcairo size 900,900 font "sans,10" }
set output run . "/trajectory." . ext
set multiplot layout 3,1 title "dlnflow: " . run
set logscale xy
set format x "10^{%L}"
set format y "10^{%L}"
set grid
set key outside right

set ylabel "loss"
if (has_test) { \
  plot csv using ($1 > 0 ? $1 : NaN):2 with lines lw 2 title "train loss", \
       csv using ($1 > 0 ? $1 : NaN):3 with lines lw 2 dt 2 title "test loss" \
} else { \
  plot csv using ($1 > 0 ? $1 : NaN):2 with lines lw 2 title "train loss" \
}

set ylabel "||grad L||"
plot csv using ($1 > 0 ? $1 : NaN):4 with lines lw 2 title "gradient norm"

set ylabel "singular values of A"
set xlabel "t"
plot for [i=8:ncols] csv using ($1 > 0 ? $1 : NaN):i with lines lw 1.5 title columnhead(i)
unset multiplot
