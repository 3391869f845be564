#!/bin/sh
# docs/config.md must hold exactly the key table `dlnflow keys` prints (docs true to the code).
set -u
bin=$1
root=$2
expected=$(mktemp ./docs_keys.XXXXXX)
documented=$(mktemp ./docs_keys.XXXXXX)
"$bin" keys >"$expected"
sed -n '/<!-- keys:begin -->/,/<!-- keys:end -->/p' "$root/docs/config.md" | sed '1d;$d' >"$documented"
passed=0
failed=0
if cmp -s "$expected" "$documented"; then
  echo "PASS: docs/config.md holds the key table of 'dlnflow keys'"
  passed=1
else
  echo "FAIL: docs/config.md differs from 'dlnflow keys' (regenerate the table between the markers)"
  diff "$documented" "$expected" | head -20
  failed=1
fi
keys=$(grep -c '^| `' "$expected")
if [ "$keys" -ge 40 ]; then
  echo "PASS: dlnflow keys lists every key ($keys)"
  passed=$((passed + 1))
else
  echo "FAIL: dlnflow keys lists only $keys keys"
  failed=$((failed + 1))
fi
rm -f "$expected" "$documented"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
