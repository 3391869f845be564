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
if [ ! -x "$BIN" ]; then
  fail "dlnflow binary is executable" "$BIN not found or not executable"
  finish
fi
