#!/usr/bin/env bash
# The golden .bbx files (README.md here): format version 1, frozen.
#   NAME.bbx + NAME.out     must decompress to exactly NAME.out
#   NAME.bbx + NAME.sha256  must decompress to bytes with that SHA-256
#   NAME.bbx + NAME.png     must decompress to a PNG that PNG_CHECK (tests/png/png_check) finds
#                           pixel-exact with the same chunks as NAME.png (PNG entries are
#                           rebuilt, not byte-exact: docs/format.md, layout 4)
#   NAME.bbx + NAME.err     must fail: non-zero exit, one line on stderr containing the text of
#                           NAME.err (its first line), and no output file
# Every .bbx must have exactly one of the four, and a row in README.md.
# usage: check.sh BBANS_BINARY GOLDEN_DIR [PNG_CHECK]
set -u
bbans=$(realpath "$1")
golden=$(realpath "$2")
png_check=${3:+$(realpath "$3")}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0
checked=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

shopt -s nullglob
for bbx in "$golden"/*.bbx; do
  name=$(basename "$bbx" .bbx)
  kinds=0
  for ext in out sha256 png err; do [ -f "$golden/$name.$ext" ] && kinds=$((kinds + 1)); done
  if [ $kinds -ne 1 ]; then bad "$name.bbx needs exactly one of $name.out, $name.sha256, $name.png, $name.err (has $kinds)"; continue; fi
  grep -q "\`$name.bbx\`" "$golden/README.md" || bad "$name.bbx is not listed in README.md"
  checked=$((checked + 1))
  dir="$work/$name"
  mkdir "$dir"
  cp "$bbx" "$dir/$name.bbx"
  err=$(cd "$dir" && "$bbans" decompress "$name.bbx" 2>&1 >/dev/null); rc=$?
  if [ -f "$golden/$name.err" ]; then
    want=$(head -n 1 "$golden/$name.err")
    [ -n "$want" ] || bad "$name.err is empty"
    [ $rc -ne 0 ] || bad "$name.bbx: decompress succeeded, expected failure with '$want'"
    [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] || bad "$name.bbx: expected one line on stderr, got: $err"
    [[ "$err" == *"$want"* ]] || bad "$name.bbx: error does not contain '$want': $err"
    [ -e "$dir/$name" ] && bad "$name.bbx: a failed decompress left the output file $name"
    leftovers=$(ls -A "$dir" | grep -vx "$name.bbx")
    [ -z "$leftovers" ] || bad "$name.bbx: a failed decompress left files: $leftovers"
  else
    if [ $rc -ne 0 ]; then bad "$name.bbx: decompress failed: $err"; continue; fi
    [ -z "$err" ] || bad "$name.bbx: decompress printed on stderr: $err"
    if [ ! -f "$dir/$name" ]; then bad "$name.bbx: no output file $name"; continue; fi
    if [ -f "$golden/$name.out" ]; then
      cmp "$dir/$name" "$golden/$name.out" || bad "$name.bbx: output differs from $name.out"
    elif [ -f "$golden/$name.png" ]; then
      if [ -z "$png_check" ]; then bad "$name.bbx: a .png golden file needs check.sh's PNG_CHECK argument"; continue; fi
      "$png_check" same "$golden/$name.png" "$dir/$name" || bad "$name.bbx: output is not $name.png's pixels and chunks"
    else
      want=$(head -n 1 "$golden/$name.sha256")
      got=$(sha256sum < "$dir/$name" | cut -d' ' -f1)
      [ "$got" = "$want" ] || bad "$name.bbx: output SHA-256 $got, expected $want"
    fi
  fi
done
[ $checked -ge 10 ] || bad "only $checked golden files found in $golden"

if [ $fails -eq 0 ]; then echo "golden: all $checked files behave as frozen"; else echo "golden: $fails checks failed"; exit 1; fi
