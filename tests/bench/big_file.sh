#!/usr/bin/env bash
# Streaming check (not in the default suite: minutes): compress and decompress a generated IDX
# file of SIZE_GB gigabytes (images repeated from SOURCE_IDX) and print the peak memory of each,
# which must stay bounded by chunk size x threads + models, not grow with the input.
# usage: big_file.sh BBANS SOURCE_IDX SIZE_GB [THREADS]
set -euo pipefail
bbans=$(realpath "$1"); source=$(realpath "$2"); gb=$3; threads=${4:-2}
work=$(mktemp -d "${TMPDIR:-/tmp}/bbans-big.XXXXXX")
trap 'rm -rf "$work"' EXIT
python3 - "$source" "$work/big.idx" "$gb" <<'PY'
import sys
src = open(sys.argv[1], 'rb').read()
rows, cols = int.from_bytes(src[8:12], 'big'), int.from_bytes(src[12:16], 'big')
body = src[16:]
per = rows * cols
want = int(float(sys.argv[3]) * 2**30) // per
count = want
with open(sys.argv[2], 'wb') as f:
    f.write(src[:4] + count.to_bytes(4, 'big') + src[8:16])
    left = count * per
    while left:
        n = min(left, len(body))
        f.write(body[:n]); left -= n
print(f"big_file: {count} images of {rows}x{cols}, {16 + count * per} bytes")
PY
size=$(stat -c %s "$work/big.idx")
/usr/bin/time -f "big_file: compress   %e s, peak RSS %M KB" "$bbans" compress -q -T "$threads" "$work/big.idx" "$work/big.bbx"
/usr/bin/time -f "big_file: decompress %e s, peak RSS %M KB" "$bbans" decompress -q -T "$threads" "$work/big.bbx" "$work/back.idx"
cmp "$work/big.idx" "$work/back.idx"
out=$(stat -c %s "$work/big.bbx")
echo "big_file: $size -> $out bytes ($(python3 -c "print(f'{8*$out/$size:.4f}')") bits/byte), exact round trip"
