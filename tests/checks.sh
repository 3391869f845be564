# Shared by the shell tests (sourced): one PASS/FAIL line per check and a closing count.
# The sourcing script sets BIN (the dlnflow binary) before sourcing this file.
npass=0
nfail=0
pass() { npass=$((npass + 1)); echo "PASS: $1"; }
fail() { nfail=$((nfail + 1)); echo "FAIL: $1 ($2)"; }
# check WHAT DETAIL STATUS: PASS when STATUS is 0, else FAIL with DETAIL.
check() { if [ "$3" -eq 0 ]; then pass "$1"; else fail "$1" "$2"; fi; }
finish() {
  echo "$npass passed, $nfail failed"
  [ "$nfail" -eq 0 ]
  exit $?
}
# scratch NAME: makes $S a fresh folder ./NAME.XXXXXX (absolute path), removed on exit.
scratch() {
  S=$(mktemp -d "./$1.XXXXXX") || exit 2
  S=$(cd "$S" && pwd) || exit 2
  trap 'rm -rf "$S"' EXIT
  trap 'exit 2' HUP INT PIPE TERM
}
# missing_patterns FILE 'P1|P2|...': prints " 'P'" for each fixed string P not in FILE.
missing_patterns() {
  set -f
  old_ifs=$IFS
  IFS='|'
  for p in $2; do
    grep -F -q -e "$p" "$1" || printf " '%s'" "$p"
  done
  IFS=$old_ifs
  set +f
}
if [ ! -x "$BIN" ]; then
  fail "dlnflow binary is executable" "$BIN not found or not executable"
  finish
fi
