#!/bin/sh
# Draws a run folder with `dlnflow plot` (docs/dlnflow-plot.md): RUN_DIR/plots/trajectory.png
# and trajectory.svg. Kept for old habits; options after RUN_DIR go to dlnflow plot.
set -eu
[ $# -ge 1 ] || { echo "usage: scripts/plot-run.sh RUN_DIR [dlnflow plot options]" >&2; exit 2; }
here=$(cd "$(dirname "$0")/.." && pwd)
exec "${DLNFLOW:-$here/build/dlnflow}" plot "$@"
