#!/usr/bin/env bash
# PNG and PPM files through the CLI: a folder of generated PNGs (every colour type, a palette
# with tRNS, 1-bit with text and gamma chunks, a photo-like one) and a PPM compressed and
# decompressed: each PNG rebuilt pixel-exact with the same chunks (png_check, libpng), the PPM
# byte for byte; the photo-like PNG (written by a fast encoder: no filters, zlib level 1) smaller as an archive; info and -l say so.
# usage: png_cli.sh BBANS PNG_CHECK
set -u
cli_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../cli" && pwd)
bbans=$(realpath "$1")
check=$(realpath "$2")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
source "$cli_dir/lib.sh"

mkdir -p shots/deeper
"$check" make shots || bad "png_check make"
mv shots/photo.png shots/deeper/photo.png
{ printf 'P6\n# colour\n16 8\n255\n'; head -c $((16 * 8 * 3)) /dev/urandom; } > shots/deeper/noise.ppm

"$bbans" compress -q shots || bad "compress the folder"
"$bbans" decompress -l shots.bbx > listing.txt || bad "-l"
grep -q "rebuilt pixel-exact" listing.txt || bad "-l does not say a PNG is rebuilt pixel-exact"
"$bbans" info shots.bbx > info.txt || bad "info"
grep -q "input layout:      PNG, 1 images of 40x30 RGBA" info.txt || bad "info: no RGBA PNG layout"
grep -q "decompresses to:   pixel-exact PNG" info.txt || bad "info: no pixel-exact note"
grep -q "input layout:      PPM, 1 images of 8x16 RGB" info.txt || bad "info: no PPM layout"
"$bbans" decompress -q -o out shots.bbx || bad "decompress the folder"
n=0
while IFS= read -r -d '' f; do
  n=$((n + 1))
  "$check" same "$f" "out/${f#shots/}" || bad "$f not rebuilt pixel-exact"
done < <(find shots -name '*.png' -print0)
[ "$n" -eq 7 ] || bad "expected 7 PNGs, found $n"
cmp -s shots/deeper/noise.ppm out/deeper/noise.ppm || bad "the PPM is not byte for byte"

# A photo-like PNG: its archive is smaller than the PNG (samples coded by xz beat deflate).
"$bbans" compress -q -o photo.bbx shots/deeper/photo.png || bad "compress photo.png"
png_size=$(stat -c %s shots/deeper/photo.png); bbx_size=$(stat -c %s photo.bbx)
echo "photo.png: $png_size bytes, photo.bbx: $bbx_size bytes"
[ "$bbx_size" -lt "$png_size" ] || bad "photo.bbx ($bbx_size) is not smaller than photo.png ($png_size)"
"$bbans" decompress -q -c photo.bbx > photo-again.png && "$check" same shots/deeper/photo.png photo-again.png || bad "photo round trip"

# A 16-bit PNG is kept byte for byte (opaque bytes), with the reason given by -v.
printf '\x89PNG\r\n\x1a\n' > deep.png
python3 - >> deep.png <<'PY' 2>/dev/null || bad "cannot make a 16-bit PNG"
import struct, sys, zlib
def chunk(t, d): return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
raw = b''.join(b'\x00' + bytes(range(16)) for _ in range(4))
sys.stdout.buffer.write(chunk(b'IHDR', struct.pack('>IIBBBBB', 8, 4, 16, 0, 0, 0, 0)) + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b''))
PY
"$bbans" compress -v deep.png 2> deep.txt || bad "compress a 16-bit PNG"
grep -q "16-bit samples" deep.txt || bad "no 16-bit note: $(cat deep.txt)"
mv deep.png deep-orig.png && "$bbans" decompress -q deep.png.bbx && cmp -s deep.png deep-orig.png || bad "16-bit PNG not byte for byte"

[ $fails -eq 0 ] && echo "PNG CLI ok"
exit $((fails > 0))
