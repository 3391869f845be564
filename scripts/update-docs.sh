#!/bin/sh
# Regenerates the key table in docs/config.md from `dlnflow keys` (tests/docs_keys.sh checks it).
set -eu
cd "$(dirname "$0")/.."
table=$(mktemp)
./build/dlnflow keys >"$table"
awk -v table="$table" '
  /<!-- keys:begin -->/ { print; while ((getline line < table) > 0) print line; skip = 1; next }
  /<!-- keys:end -->/ { skip = 0 }
  !skip { print }
' docs/config.md >docs/config.md.tmp
mv docs/config.md.tmp docs/config.md
rm -f "$table"
