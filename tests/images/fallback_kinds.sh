#!/usr/bin/env bash
# Images of kinds the models do not fit (a text page, a screenshot, uniform noise; grey and RGB;
# PNG and PGM/PPM), made by make_test_image: bbans compress's archive must be at most 1% larger
# than the smallest archive of a forced fallback (--method zstd, xz or stored), and decode exactly.
# Prints a table (bytes) with zstd -19 and xz -9e of the file for reference when they are installed.
# KINDS (environment) lists KIND:ROWSxCOLS, by default the sizes of the README's table.
# usage: fallback_kinds.sh BBANS MAKE_TEST_IMAGE [PNG_CHECK]
set -uo pipefail
bbans=$1; make=$2; png_check=${3:-}
work=$(mktemp -d "${TMPDIR:-/tmp}/bbans-kinds.XXXXXX")
trap 'rm -rf "$work"' EXIT
fails=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
size() { stat -c %s "$1"; }
printf '%-22s %9s %9s %9s %9s %9s %9s %9s  %s\n' file input "zstd -19" "xz -9e" "m=stored" "m=zstd" "m=xz" bbans "bbans/best, method"
for kind in ${KINDS:-text:1100x850 screenshot:768x1024 noise:256x256}; do
  IFS=: read -r name dims <<< "$kind"; IFS=x read -r rows cols <<< "$dims"
  for ch in 1 3; do
    for ext in png $([ $ch = 1 ] && echo pgm || echo ppm); do
      f="$work/$name-$([ $ch = 1 ] && echo grey || echo rgb).$ext"
      "$make" "$name" "$rows" "$cols" "$ch" "$f" || { bad "make_test_image $name"; continue; }
      z=-; x=-
      command -v zstd >/dev/null && z=$(zstd -19 -q -c "$f" | wc -c)
      command -v xz >/dev/null && x=$(xz -9e -c "$f" | wc -c)
      best=
      declare -A m=()
      for method in stored zstd xz; do
        "$bbans" compress -q -f --method $method "$f" "$work/m.bbx" || { bad "$f: --method $method failed"; continue; }
        m[$method]=$(size "$work/m.bbx")
        [ -z "$best" ] || [ "${m[$method]}" -lt "$best" ] && best=${m[$method]}
      done
      "$bbans" compress -q -f "$f" "$work/a.bbx" || { bad "$f: compress failed"; continue; }
      a=$(size "$work/a.bbx")
      method=$("$bbans" decompress -l "$work/a.bbx" | awk '$1 == "file" { print $2; exit }')
      "$bbans" decompress -q -f "$work/a.bbx" "$work/back.$ext" || bad "$f: decompress failed"
      if [ $ext = png ]; then
        [ -z "$png_check" ] || "$png_check" same "$f" "$work/back.$ext" || bad "$f: the PNG does not come back pixel-exact"
      else
        cmp -s "$f" "$work/back.$ext" || bad "$f: the round trip is not exact"
      fi
      ratio=$(awk -v a="$a" -v b="$best" 'BEGIN { printf "%.4f", a / b }')
      printf '%-22s %9s %9s %9s %9s %9s %9s %9s  %s %s\n' "$(basename "$f")" "$(size "$f")" "$z" "$x" "${m[stored]}" "${m[zstd]}" "${m[xz]}" "$a" "$ratio" "$method"
      awk -v a="$a" -v b="$best" 'BEGIN { exit !(a <= 1.01 * b) }' || bad "$f: bbans compress made $a bytes, over 1.01 x the best forced fallback ($best)"
    done
  done
done
[ $fails -eq 0 ] && echo "fallback_kinds: all passed"
exit $((fails > 0))
