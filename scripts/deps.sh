#!/bin/sh
# Installs the Debian 12 packages dlnflow builds and runs with (skips what is installed).
set -eu
packages="build-essential meson ninja-build pkg-config cmake libsundials-dev libgsl-dev
liblapacke-dev libopenblas-dev libinih-dev libjansson-dev gnuplot-nox valgrind jq
libopenmpi-dev openmpi-bin"
missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "dlnflow: installing$missing" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null
