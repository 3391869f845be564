#!/bin/sh
# Configures (once) and builds dlnflow into the folder $1 (default build/) with optional extra
# meson options after it, e.g. scripts/build.sh build-asan -Db_sanitize=address,undefined.
set -eu
cd "$(dirname "$0")/.."
dir=${1:-build}
[ $# -gt 0 ] && shift
if [ ! -f "$dir/build.ninja" ]; then
  meson setup "$dir" "$@" >/dev/null
fi
ninja -C "$dir" >/dev/null
