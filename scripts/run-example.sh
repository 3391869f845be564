#!/bin/sh
# Set-up and the main job in one: installs what is missing, builds, and integrates the paper's
# Figure 1 problem (examples/fig1-mc-rank3.ini) into runs/fig1-mc-rank3/.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh build
./build/dlnflow run examples/fig1-mc-rank3.ini --out runs/fig1-mc-rank3 "$@"
