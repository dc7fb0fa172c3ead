#!/usr/bin/env bash
# The real PNGs of Debian's libjxl-testdata, or of the folders given (skipped if absent): each compressed
# and decompressed by bbans, the result checked pixel-exact with the same chunks (png_check).
# Prints how many were rebuilt pixel-exact, kept byte for byte (16-bit or not rebuildable), and
# the total sizes. Fails if any rebuilt PNG differs.
# usage: real_pngs.sh BBANS PNG_CHECK [DIR...]
set -u
bbans=$(realpath "$1")
check=$(realpath "$2")
shift 2
dirs=("$@")
# Default: libjxl-testdata (66 PNGs, minutes); the wallpapers (large PNGs, much longer) on request.
[ ${#dirs[@]} -gt 0 ] || dirs=(/usr/share/libjxl-testdata)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
total=0 exact=0 opaque=0 failed=0 png_bytes=0 bbx_bytes=0
while IFS= read -r -d '' f; do
  total=$((total + 1))
  "$bbans" compress -q -f -T 1 -o "$work/x.bbx" "$f" 2>/dev/null || { echo "FAIL: compress $f"; failed=$((failed + 1)); continue; }
  "$bbans" decompress -q -f -T 1 -c "$work/x.bbx" > "$work/x.png" || { echo "FAIL: decompress $f"; failed=$((failed + 1)); continue; }
  png_bytes=$((png_bytes + $(stat -c %s "$f"))); bbx_bytes=$((bbx_bytes + $(stat -c %s "$work/x.bbx")))
  if "$bbans" decompress -l "$work/x.bbx" | grep -q "rebuilt pixel-exact"; then
    if "$check" same "$f" "$work/x.png" > /dev/null; then exact=$((exact + 1)); else echo "FAIL: $f not pixel-exact"; failed=$((failed + 1)); fi
  else
    cmp -s "$f" "$work/x.png" && opaque=$((opaque + 1)) || { echo "FAIL: $f not byte for byte"; failed=$((failed + 1)); }
  fi
done < <(find "${dirs[@]}" -iname '*.png' -type f -print0 2>/dev/null | sort -z)
echo "real PNGs: $total found, $exact rebuilt pixel-exact, $opaque kept byte for byte, $failed failed; $png_bytes bytes of PNG -> $bbx_bytes bytes of .bbx"
[ $total -eq 0 ] && echo "no PNGs found: skipped"
exit $((failed > 0))
