#!/usr/bin/env bash
# Large images through bbans: for each ROWSxCOLSxCHANNELS, a generated PGM (1) or PPM (3)
# (make_test_image gradient) is compressed and decompressed (-T 2); the round trip must be
# exact and the peak RSS of each run below MAX_MB megabytes, a bound set below the image's own
# pixels for the large case, so that a whole-image buffer (pixels, floats) would fail it.
# usage: big_images.sh BBANS MAKE_TEST_IMAGE SHAPE[,SHAPE...] MAX_MB
set -uo pipefail
bbans=$1; make=$2; shapes=$3; max_mb=$4
work=$(mktemp -d "${TMPDIR:-/tmp}/bbans-bigimg.XXXXXX")
trap 'rm -rf "$work"' EXIT
fails=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
IFS=, read -ra list <<< "$shapes"
for shape in "${list[@]}"; do
  IFS=x read -r rows cols ch <<< "$shape"
  ext=$([ "$ch" = 1 ] && echo pgm || echo ppm)
  in="$work/img.$ext"
  "$make" gradient "$rows" "$cols" "$ch" "$in" || { bad "make_test_image $shape"; continue; }
  for step in compress decompress; do
    if [ $step = compress ]; then args=(compress -q -f -T 2 "$in" "$work/img.bbx"); else args=(decompress -q -f -T 2 "$work/img.bbx" "$work/back.$ext"); fi
    /usr/bin/time -f "%e %M" -o "$work/time" "$bbans" "${args[@]}" || { bad "$shape: bbans $step failed"; continue 2; }
    read -r secs kb < "$work/time"
    echo "$shape $step: $secs s, peak RSS $((kb / 1024)) MB"
    [ $((kb / 1024)) -lt "$max_mb" ] || bad "$shape $step: peak RSS $((kb / 1024)) MB, over the bound of $max_mb MB"
  done
  cmp "$in" "$work/back.$ext" || bad "$shape: the round trip is not exact"
  method=$("$bbans" decompress -l "$work/img.bbx" | tail -n +1)
  echo "$shape: $(stat -c %s "$in") -> $(stat -c %s "$work/img.bbx") bytes; $method"
  rm -f "$in" "$work/back.$ext" "$work/img.bbx"
done
[ $fails -eq 0 ] && echo "big_images: all passed"
exit $((fails > 0))
