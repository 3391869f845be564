# Bad input to `dlnflow run`: every case must exit with status 2, name the offending key or
# file (or file:line) on stderr, and leave no output folder behind.
#
# Usage (as meson runs it, from the build's tests folder): sh cli_errors.sh DLNFLOW SOURCE_ROOT
# POSIX sh; one "PASS: ..." or "FAIL: ... (detail)" line per check, then "N passed, M failed".

if [ $# -ne 2 ]; then
  echo "usage: sh cli_errors.sh DLNFLOW_BINARY SOURCE_ROOT" >&2
  exit 2
fi
BIN=$1
case $BIN in /*) ;; *) BIN=$(pwd)/$BIN ;; esac
SRC=$(cd "$2" && pwd) || exit 2
DATA=$SRC/tests/data

. "$(dirname "$0")/checks.sh"

S=$(mktemp -d ./cli_errors.XXXXXX) || exit 2
S=$(cd "$S" && pwd) || exit 2
trap 'rm -rf "$S"' EXIT
trap 'exit 2' HUP INT PIPE TERM
OUT=$S/out

# First line of stderr (or "no stderr"), for failure details.
first_err() {
  if [ -s "$S/err" ]; then head -n 1 "$S/err" | cut -c 1-300; else echo "no stderr"; fi
}

# bad WHAT 'PATTERN1|PATTERN2|...' ARGS...
# Runs `dlnflow run --out $OUT ARGS...` and checks: exit status 2, every pattern found
# (fixed string) on stderr, and no $OUT afterwards.
bad() {
  what=$1
  pats=$2
  shift 2
  rm -rf "$OUT"
  "$BIN" run --out "$OUT" "$@" >"$S/stdout" 2>"$S/err"
  rc=$?
  problems=""
  [ "$rc" -eq 2 ] || problems="exit status $rc, expected 2"
  missing=""
  set -f
  old_ifs=$IFS
  IFS='|'
  for p in $pats; do
    grep -F -q -e "$p" "$S/err" || missing="$missing '$p'"
  done
  IFS=$old_ifs
  set +f
  [ -z "$missing" ] || problems="${problems:+$problems; }stderr lacks$missing"
  if [ -e "$OUT" ]; then
    problems="${problems:+$problems; }output folder was created: $(ls -A "$OUT" | tr '\n' ' ')"
  fi
  if [ -z "$problems" ]; then
    pass "$what"
  else
    fail "$what" "$problems; stderr: $(first_err)"
  fi
}

# Writes $S/$1: the regression fixture with absolute data paths, edited by the sed script $2.
make_cfg() {
  sed -e "s|^x = x.csv\$|x = $DATA/x.csv|" -e "s|^y = y.csv\$|y = $DATA/y.csv|" \
      -e "$2" "$DATA/regress.ini" >"$S/$1"
}

# Line of the first match of a fixed string in a file.
line_of() { grep -n -F -e "$2" "$1" | head -n 1 | cut -d: -f1; }

REG=$DATA/regress.ini
MC=$DATA/mc.ini

# ---- controls: the fixtures themselves are good, so each failure below is the bad input ----

for cfg in regress mc; do
  rm -rf "$OUT"
  "$BIN" run --out "$OUT" --quiet "$DATA/$cfg.ini" >"$S/stdout" 2>"$S/err"
  rc=$?
  if [ "$rc" -eq 0 ] && [ -s "$OUT/trajectory.csv" ] && [ -s "$OUT/summary.json" ]; then
    pass "control: tests/data/$cfg.ini runs (exit 0, outputs written)"
  else
    fail "control: tests/data/$cfg.ini runs (exit 0, outputs written)" \
         "exit status $rc; stderr: $(first_err)"
  fi
done
rm -rf "$OUT"

# ---- files ------------------------------------------------------------------------------

bad "missing config file" "$S/nope.ini|cannot open" "$S/nope.ini"

# A relative data path resolves against the config file's folder, and the message says where.
make_cfg missing-x.ini 's|^x = .*|x = missing-x.csv|'
bad "missing data file (relative data.x resolved next to the config)" \
    "data.x|$S/missing-x.csv|cannot open" "$S/missing-x.ini"
bad "missing data file (data.x override)" "data.x|$S/no-such-x.csv" "$REG" "data.x=$S/no-such-x.csv"
bad "data file is a folder" "data.y|$S" "$REG" "data.y=$S"

# ---- dimensions ---------------------------------------------------------------------------

bad "x and y with different sample counts" "data.x|data.y|20|19" \
    "$REG" "data.y=$DATA/y-19rows.csv"
bad "network.widths with the wrong number of inputs" "network.widths|3 inputs" \
    "$REG" network.depth= network.width= network.widths=4,5,2
bad "network.widths with the wrong number of outputs" "network.widths|2 outputs" \
    "$REG" network.depth= network.width= network.widths=3,5,3
bad "network.widths combined with network.depth" "network.widths|network.depth" \
    "$REG" network.widths=3,5,2

# ---- bad values in data files -------------------------------------------------------------

bad "NaN in a data file (csv cell 'nan')" "data.x|x-nan.csv:5|column 2|nan" \
    "$REG" "data.x=$DATA/x-nan.csv"
bad "ragged CSV" "data.x|x-ragged.csv:7|expected 3 values|found 2" \
    "$REG" "data.x=$DATA/x-ragged.csv"
bad "matrix-completion observed index out of range" \
    "data.observed|mc-observed-out-of-range.csv:6|row 4" \
    "$MC" "data.observed=$DATA/mc-observed-out-of-range.csv"

# ---- bad values in the config file (reported as file:line) -------------------------------

make_cfg neg-width.ini 's|^width = 4$|width = -3|'
bad "negative width in the config file" \
    "network.width|$S/neg-width.ini:$(line_of "$S/neg-width.ini" 'width = -3'):|-3" \
    "$S/neg-width.ini"
make_cfg alpha0.ini 's|^alpha = .*|alpha = 0|'
bad "init.alpha = 0 in the config file" \
    "init.alpha|$S/alpha0.ini:$(line_of "$S/alpha0.ini" 'alpha = 0'):" "$S/alpha0.ini"
make_cfg rtol2.ini 's|^rtol = .*|rtol = 2|'
bad "solver.rtol = 2 in the config file" \
    "solver.rtol|$S/rtol2.ini:$(line_of "$S/rtol2.ini" 'rtol = 2'):" "$S/rtol2.ini"
make_cfg alpha-text.ini 's|^alpha = .*|alpha = 1e-3x|'
bad "malformed number in the config file" \
    "init.alpha|$S/alpha-text.ini:$(line_of "$S/alpha-text.ini" '1e-3x'):|1e-3x" "$S/alpha-text.ini"
make_cfg unknown-key.ini 's|^rtol = \(.*\)|rtol = \1\nfrobnicate = 3|'
bad "unknown key in the config file" \
    "frobnicate|[solver]|$S/unknown-key.ini:$(line_of "$S/unknown-key.ini" frobnicate):" \
    "$S/unknown-key.ini"
make_cfg unknown-section.ini '$ a\
[bogus]\
key = 1'
bad "unknown section in the config file" \
    "[bogus]|$S/unknown-section.ini:$(line_of "$S/unknown-section.ini" '[bogus]'):" \
    "$S/unknown-section.ini"
make_cfg syntax.ini 's|^\[init\]$|this line is not ini\n[init]|'
bad "syntax error in the config file" \
    "$S/syntax.ini:$(line_of "$S/syntax.ini" 'this line is not ini'):|syntax error" "$S/syntax.ini"

# ---- bad values on the command line -------------------------------------------------------

bad "negative width (network.width=-3)" "network.width|-3" "$REG" network.width=-3
bad "init.alpha=0" "init.alpha|'0'" "$REG" init.alpha=0
bad "init.alpha=-1" "init.alpha|'-1'" "$REG" init.alpha=-1
bad "solver.rtol=0" "solver.rtol|'0'" "$REG" solver.rtol=0
bad "solver.rtol=1" "solver.rtol|'1'" "$REG" solver.rtol=1
bad "solver.rtol=-1e-3" "solver.rtol" "$REG" solver.rtol=-1e-3
bad "override with a bad value (solver.rtol=abc)" "solver.rtol|abc" "$REG" solver.rtol=abc
bad "unknown key on the command line (solver.frobnicate=1)" "frobnicate|[solver]" \
    "$REG" solver.frobnicate=1
bad "unknown section on the command line (bogus.key=1)" "[bogus]" "$REG" bogus.key=1
bad "override that is not section.key=value (rtol=1e-3)" "rtol=1e-3" "$REG" rtol=1e-3
bad "output.times not increasing, from the command line" "output.times|command-line overrides" "$REG" output.times=5,2
bad "explicit solver.atol too large for the initial weights" "solver.atol" \
    "$REG" init.alpha=1e-3 solver.atol=1e-4

# ---- init.scheme = file -------------------------------------------------------------------

bad "init.scheme=file without init.dir" "init.dir" "$REG" init.scheme=file
bad "init.scheme=file with a missing init.dir folder" "init.dir|$S/no-init-dir/W1" \
    "$REG" init.scheme=file "init.dir=$S/no-init-dir"
mkdir -p "$S/w-shape"
printf '1,0,0\n0,1,0\n0,0,1\n' >"$S/w-shape/W1.csv"
bad "init.dir with a wrongly shaped W1.csv" "init.dir|$S/w-shape/W1.csv|3 x 3|4 x 3" \
    "$REG" init.scheme=file "init.dir=$S/w-shape"

# ---- command line -------------------------------------------------------------------------

bad "unknown command-line option" "--frobnicate" "$REG" --frobnicate
bad "--out without a folder" "--out" "$REG" --out
bad "two config files" "unexpected argument|$DATA/mc.ini" "$REG" "$MC"
bad "no config file" "missing CONFIG" solver.rtol=1e-6

# ---- faults a fresh user found, each kind kept as a check ----

make_cfg dup.ini '/^width = 4$/a width = 5'
bad "a key given twice in a file" "$S/dup.ini:|network.width is given twice|first at line" "$S/dup.ini"
bad "a hexadecimal number" "solver.t_max|0x10" "$REG" solver.t_max=0x10
bad "gd step larger than t_max" "solver.learning_rate|solver.t_max" "$REG" solver.method=gd \
  solver.learning_rate=1e300
bad "a seed too large for its type" "init.seed|too large" "$REG" init.seed=99999999999999999999999
bad "an overflowing start names the keys to check" "init.alpha" "$REG" init.alpha=1e300
bad "a regression file key under matrix completion" "data.x|data.cost = mc" "$MC" data.x=foo.csv
bad "a completion file key under regression" "data.target|data.cost = mse" "$REG" \
  data.target=foo.csv

# Diverging gradient descent fails (exit 1) and says to lower the learning rate, keeping rows.
rm -rf "$OUT"
"$BIN" run --out "$OUT" "$MC" solver.method=gd solver.learning_rate=100 solver.t_max=300 \
  >"$S/stdout" 2>"$S/err"
rc=$?
if [ "$rc" -eq 1 ] && grep -q "diverged" "$S/err" && grep -q "solver.learning_rate" "$S/err" \
   && grep -q '"status": "failed"' "$OUT/summary.json" 2>/dev/null; then
  pass "diverging gradient descent fails with exit 1 and a learning-rate hint"
else
  fail "diverging gradient descent fails with exit 1 and a learning-rate hint" \
       "exit $rc; stderr: $(first_err)"
fi

# A second run into a folder another live run is writing is refused, and the first is unharmed.
rm -rf "$OUT"
"$BIN" run --out "$OUT" "$SRC/examples/fig1-mc-rank3.ini" solver.t_max=1e9 solver.rtol=1e-12 -q \
  >/dev/null 2>&1 &
first=$!
tries=0
while [ ! -e "$OUT/trajectory.csv.tmp" ] && [ "$tries" -lt 100 ]; do sleep 0.1; tries=$((tries + 1)); done
"$BIN" run --out "$OUT" "$MC" -q >"$S/stdout" 2>"$S/err"
rc=$?
kill -INT "$first" 2>/dev/null
wait "$first"
first_rc=$?
cols=$(awk -F, 'NR == 1 { n = NF } NF != n { bad = 1 } END { print bad ? "ragged" : n }' \
       "$OUT/trajectory.csv" 2>/dev/null)
if [ "$rc" -eq 2 ] && grep -q "another dlnflow run" "$S/err" && [ "$first_rc" -eq 130 ] \
   && [ "$cols" = "$(head -n 1 "$OUT/trajectory.csv" | awk -F, '{print NF}')" ]; then
  pass "a concurrent run into the same folder is refused; the first keeps a whole file"
else
  fail "a concurrent run into the same folder is refused; the first keeps a whole file" \
       "second exit $rc, first exit $first_rc, columns $cols; stderr: $(first_err)"
fi

# Extremes that once got past the checks (a fresh-user review): t_max at the ends of the
# double range, and a width whose n x n balancedness blocks cannot fit in memory.
bad "solver.t_max = 1e308" "solver.t_max|outside" "$REG" solver.t_max=1e308
bad "solver.t_max = 1e-300" "solver.t_max|outside" "$REG" solver.t_max=1e-300 output.t_min=0
bad "network.width = 100000 (balancedness blocks of 80 GB)" "GB|network.width" "$REG" network.width=100000

"$BIN" run --out '' "$REG" >/dev/null 2>"$S/err"
rc=$?
[ "$rc" -eq 2 ] && grep -q -- "--out needs a folder" "$S/err"
check "--out '' is refused, not replaced by the default folder" "exit $rc: $(first_err)" $?

finish
