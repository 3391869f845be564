# Shared by the `dlnflow plot` tests (sourced after checks.sh and scratch): running the command
# and looking into what it drew.

first_err() { if [ -s "$1" ]; then head -n 1 "$1" | cut -c 1-300; else echo "no stderr"; fi; }
# plot NAME ARGS...: dlnflow plot ARGS..., exit status in $rc, stdout and stderr in $S/NAME.*.
plot() {
  name=$1
  shift
  "$BIN" plot "$@" >"$S/$name.out" 2>"$S/$name.err"
  rc=$?
}
# Prints "" if $1 is a PNG file (8-byte signature 89 50 4E 47 0D 0A 1A 0A), else what it is.
png_problem() {
  if [ ! -s "$1" ]; then printf 'no file %s' "$1"; return; fi
  sig=$(od -A n -t x1 -N 8 "$1" | tr -d ' \n')
  [ "$sig" = 89504e470d0a1a0a ] || printf 'starts %s' "$sig"
}
# Occurrences of fixed string $2 in file $1.
count() { grep -o -F -e "$2" "$1" 2>/dev/null | wc -l | tr -d ' '; }
