#!/bin/sh
# dlnflow greedy (docs/dlnflow-greedy.md): on Figure 1's problem the greedy rounds (flow inner
# solver, epsilon 1e-6) match the plateaus of a small-alpha flow run (rank 1 and 2 saddles:
# loss to 1e-3, A to 1e-2) and end at rank 3; the output files are written; bad input
# (--epsilon, a missing --compare folder, a malformed events.json) exits 2, writing nothing.
# Usage (as meson runs it): sh cli_greedy.sh DLNFLOW SOURCE_ROOT
if [ $# -ne 2 ]; then
  echo "usage: sh cli_greedy.sh DLNFLOW_BINARY SOURCE_ROOT" >&2
  exit 2
fi
BIN=$1
SRC=$(cd "$2" && pwd) || exit 2
FIG1=$SRC/examples/fig1-mc-rank3.ini
. "$(dirname "$0")/checks.sh"
scratch cli-greedy

# ---- 1. Figure 1 (width 20 for speed): greedy beside the flow from alpha = 1e-4 --------
"$BIN" run "$FIG1" --out "$S/flow" network.width=20 init.scheme=scaled init.alpha=1e-4 solver.t_max=1e13 \
  >"$S/flow.out" 2>&1
check "the alpha = 1e-4 flow run succeeds" "$(tail -n 3 "$S/flow.out")" $?
"$BIN" greedy "$FIG1" --epsilon 1e-6 --compare "$S/flow" --out "$S/g" >"$S/g.out" 2>&1
check "greedy --compare succeeds" "$(tail -n 3 "$S/g.out")" $?
J=$S/g/greedy.json
test "$(jq -r '[.rounds[].rank] | join(",")' "$J" 2>/dev/null)" = "1,2,3" \
  && test "$(jq -r .stop "$J")" = target
check "rounds of rank 1, 2, 3, stopped at C_min + epsilon" "$(jq -c '[.rounds[].rank]' "$J")" $?
for k in 1 2; do
  ok=$(jq -r --argjson k "$k" '.compare[] | select(.round == $k) |
    (.kind == "saddle" and .rel_loss_diff < 1e-3 and .rel_A_diff < 1e-2)' "$J" 2>/dev/null)
  test "$ok" = true
  check "round $k beside the rank-$k saddle: loss to 1e-3, A to 1e-2" \
    "$(jq -c --argjson k "$k" '.compare[] | select(.round == $k)' "$J")" $?
done
ok=$(jq -r '.compare[] | select(.round == 3) | (.kind == "minimum" and .rel_A_diff < 1e-2)' "$J")
test "$ok" = true
check "round 3 beside the flow's rank-3 minimum: A to 1e-2" "$(jq -c '.compare' "$J")" $?
head -n 1 "$S/g/greedy.csv" | grep -q '^round,width,loss,test_loss,excess_loss,rank,grad_c_norm,' \
  && test "$(wc -l <"$S/g/greedy.csv")" -eq 4 \
  && test -s "$S/g/A_round_1.npy" && test -s "$S/g/A_round_3.npy"
check "greedy.csv (header and 3 rows) and A_round_K.npy written" "$(head -n 1 "$S/g/greedy.csv")" $?

# ---- 2. bad input: exit 2, nothing written ---------------------------------------------------
refuse() { # refuse WHAT PATTERN ARGS...: exit 2, stderr names PATTERN, no $S/bad
  what=$1
  pattern=$2
  shift 2
  rm -rf "$S/bad"
  "$BIN" greedy "$FIG1" --out "$S/bad" "$@" >"$S/bad.out" 2>"$S/bad.err"
  rc=$?
  test "$rc" -eq 2 && grep -q -e "$pattern" "$S/bad.err" && test ! -e "$S/bad"
  check "$what: exit 2 naming it, nothing written" "rc $rc: $(cat "$S/bad.err")" $?
}
refuse "--epsilon 0" "--epsilon" --epsilon 0
refuse "--epsilon abc" "--epsilon" --epsilon abc
refuse "--epsilon 2" "--epsilon" --epsilon 2
refuse "--inner newton" "--inner" --inner newton
refuse "--max-width 0" "--max-width" --max-width 0
refuse "a missing --compare folder" "events.json" --compare "$S/nowhere"
mkdir -p "$S/broken"
printf '{"plateaus": [' >"$S/broken/events.json"
refuse "a truncated events.json" "events.json" --compare "$S/broken"
printf '{"plateaus": [{"kind": "saddle", "rank": 1, "loss": 1.5}]}' >"$S/broken/events.json"
refuse "an events.json record without files" "A_closest" --compare "$S/broken"
printf '{"plateaus": [{"kind": "saddle", "rank": 1, "loss": 1.5, "files": {"A_closest": "A.npy"}}]}' \
  >"$S/broken/events.json"
refuse "an events.json naming a missing A file" "A.npy" --compare "$S/broken"
# Faults a fresh-user review found, each kind pinned.
refuse "--epsilon below what double-precision time resolves at depth 4" "too small" --epsilon 1e-10
touch "$S/a-file"
"$BIN" greedy "$FIG1" --out "$S/a-file" >/dev/null 2>"$S/afile.err"
rc=$?
[ "$rc" -eq 2 ] && grep -q "not a folder" "$S/afile.err" && [ ! -s "$S/a-file" ]
check "--out naming a file: exit 2 before any round" "rc $rc: $(head -n 1 "$S/afile.err")" $?
# A round whose flow hits its horizon still at the saddle fails the run (exit 1), keeping the
# rounds before it and saying so in greedy.json.
"$BIN" greedy "$SRC/tests/data/mc.ini" --epsilon 1e-10 --out "$S/stuck" >/dev/null 2>"$S/stuck.err"
rc=$?
got=$(jq -r '"\(.stop) \(.rounds | length)"' "$S/stuck/greedy.json" 2>/dev/null)
[ "$rc" -eq 1 ] && [ "$got" = "failed 1" ] && grep -q "horizon" "$S/stuck.err"
check "a round stuck at its saddle: exit 1, stop failed, earlier rounds kept" "rc $rc, '$got'" $?
# An interrupted run never records itself as finished: exit status and greedy.json agree.
timeout --preserve-status -s INT 0.2 "$BIN" greedy "$FIG1" --out "$S/int" >/dev/null 2>&1
rc=$?
stop=$(jq -r .stop "$S/int/greedy.json" 2>/dev/null)
{ [ "$rc" -eq 130 ] && { [ "$stop" = interrupted ] || [ ! -e "$S/int/greedy.json" ]; }; } ||
  { [ "$rc" -eq 0 ] && [ "$stop" = target ]; }
check "SIGINT: exit 130 with stop interrupted (or a finished run, exit 0)" "rc $rc, stop '$stop'" $?

# θ(0) is not greedy's: a config whose init files do not fit the net still runs (depth 4 here,
# files for depth 3), and round k reaches the best rank-k loss of M = diag(3, 2, 1): 5, 1, 0.
"$BIN" greedy "$SRC/tests/data/aligned3/aligned3.ini" network.widths=3,3,3,3,3 --out "$S/nofile" \
  >/dev/null 2>"$S/nofile.err"
rc=$?
got=$(jq -r '[.rounds[].loss] | map(. * 1e6 | round / 1e6 | tostring) | join(" ")' "$S/nofile/greedy.json" 2>/dev/null)
[ "$rc" -eq 0 ] && [ "$got" = "5 1 0" ]
check "init files that do not fit are not read; rounds reach 5, 1, 0" "rc $rc, losses '$got': $(head -n 1 "$S/nofile.err")" $?

# A first round that fails leaves greedy.json saying why; gd's divergence names --lr.
"$BIN" greedy "$SRC/tests/data/teacher-l3.ini" --inner gd --lr 100 --out "$S/lr" >/dev/null 2>"$S/lr.err"
rc=$?
got=$(jq -r '"\(.stop) \(.rounds | length)"' "$S/lr/greedy.json" 2>/dev/null)
[ "$rc" -eq 1 ] && [ "$got" = "failed 0" ] && grep -q "lower --lr = 100" "$S/lr.err" &&
  jq -e '.message | test("--lr")' "$S/lr/greedy.json" >/dev/null 2>&1
check "--inner gd --lr 100 diverges in round 1: exit 1 naming --lr, greedy.json stop failed" \
      "rc $rc, '$got': $(head -n 1 "$S/lr.err")" $?

# Gradient descent rounds that never leave the saddle are a failure, not a result.
"$BIN" greedy "$FIG1" --inner gd --out "$S/gd-stuck" >/dev/null 2>"$S/gd-stuck.err"
rc=$?
[ "$rc" -eq 1 ] && grep -q "did not leave the saddle" "$S/gd-stuck.err"
check "--inner gd that cannot escape in T steps: exit 1 naming it" "rc $rc: $(head -n 1 "$S/gd-stuck.err")" $?

finish
