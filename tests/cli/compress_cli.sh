#!/usr/bin/env bash
# The compress / decompress / info commands as a user meets them: round trips of every kind of
# input, stdin/stdout, no overwriting without -f, one-line errors and no partial output.
# usage: compress_cli.sh BBANS SAMPLES_DIR
set -u
cli_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bbans=$(realpath "$1")
samples=$(realpath "$2")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
source "$cli_dir/lib.sh"

# Inputs of every kind.
: > empty
printf 'hello, bits back\n' > text
head -c 100000 /dev/urandom > random
yes "some very compressible text" | head -c 200000 > repetitive
cp "$samples/mnist-test-1000-images-idx3-ubyte" digits.idx
tail -c +17 digits.idx > digits.raw
for f in empty text random repetitive digits.idx; do
  "$bbans" compress -q "$f" || bad "compress $f"
  mv "$f" "$f.orig"
  "$bbans" decompress -q "$f.bbx" || bad "decompress $f.bbx"
  cmp -s "$f" "$f.orig" || bad "round trip of $f differs"
  [ -f "$f.orig" ] && mv "$f.orig" "$f"
done
"$bbans" compress --shape 28x28 digits.raw raw.bbx || bad "compress raw with --shape"
"$bbans" decompress raw.bbx raw.out && cmp -s raw.out digits.raw || bad "raw round trip"
expect_error "$bbans" compress --shape 27x28 digits.raw odd.bbx   # 784000 is not a multiple of 756
[ -e odd.bbx ] && bad "a failed compress left odd.bbx"
expect_error "$bbans" compress --shape 28by28 digits.raw odd.bbx

# Random files grow by no more than the archive's fixed parts (header, directory entry with one
# chunk record, trailer: 150 bytes plus the name; docs/format.md).
size_in=$(stat -c %s random); size_out=$(stat -c %s random.bbx)
[ "$size_out" -le $((size_in + 150 + 6)) ] || bad "random input grew from $size_in to $size_out"

# Standard input and output.
"$bbans" compress - < text > piped.bbx || bad "compress from stdin"
"$bbans" decompress - < piped.bbx > piped.out && cmp -s piped.out text || bad "stdin/stdout round trip"

# Nothing is overwritten without -f; with -f it is.
echo precious > text.bbx
expect_error "$bbans" compress text
[ "$(cat text.bbx)" = precious ] || bad "text.bbx was overwritten without -f"
"$bbans" compress -f text && ! grep -qx precious text.bbx || bad "-f did not overwrite"
expect_error "$bbans" decompress text.bbx    # text exists
"$bbans" decompress -f text.bbx || bad "decompress -f"
expect_error "$bbans" compress text text     # output is the input

# Bad inputs: one line, non-zero exit, no output file.
expect_error "$bbans" compress missing-file
expect_error "$bbans" compress -q /dev/null      # not a regular file
expect_error "$bbans" compress text "$work/no-such-dir/out.bbx"
expect_error "$bbans" decompress text         # no .bbx suffix and no output name
expect_error "$bbans" decompress missing.bbx
cp digits.idx.bbx good.bbx
head -c 1000 good.bbx > truncated.bbx
expect_error "$bbans" decompress truncated.bbx
[ -e truncated ] && bad "a failed decompress left an output file"
cp good.bbx flipped.bbx
printf '\xff' | dd of=flipped.bbx bs=1 seek=5000 conv=notrunc status=none
expect_error "$bbans" decompress flipped.bbx
[ -e flipped ] && bad "a corrupt file produced output"
printf 'PK\x03\x04 not a bbx file at all......................................' > wrong.bbx
expect_error "$bbans" decompress wrong.bbx
expect_error "$bbans" info wrong.bbx
cp good.bbx future.bbx
printf '\x07' | dd of=future.bbx bs=1 seek=4 conv=notrunc status=none
err=$("$bbans" decompress future.bbx 2>&1); [[ "$err" == *"version 7"* ]] || bad "unknown version not named: $err"

# info describes a file.
"$bbans" info good.bbx | grep -q "original size:     784016 bytes" || bad "info does not show the original size"
"$bbans" info good.bbx | grep -q "(shipped model mnist)" || bad "info does not name the shipped model"

# --scale-offset: forced, stored, shown, decoded; out of range refused before any work.
"$bbans" compress -f --model mnist --scale-offset -20 digits.idx offset.bbx || bad "compress --scale-offset"
"$bbans" info offset.bbx | grep -q "log-scales offset by -0.312 nat" || bad "info does not show the scale offset: $("$bbans" info offset.bbx | grep model)"
"$bbans" decompress -f offset.bbx -o offset.out && cmp -s offset.out digits.idx || bad "--scale-offset round trip"
cmp -s offset.bbx good.bbx && bad "--scale-offset -20 made the same file as the default"
expect_error "$bbans" compress -f --scale-offset 128 digits.idx wide.bbx
[[ "$last_error" == *"--scale-offset"* ]] || bad "--scale-offset 128: $last_error"
[ -e wide.bbx ] && bad "a refused --scale-offset left an output"

# No temporary files are left behind anywhere.
leftovers=$(find . -name '.*tmp*' | head -5)
[ -z "$leftovers" ] || bad "temporary files left: $leftovers"

if [ $fails -eq 0 ]; then echo "compress cli: all checks passed"; else echo "compress cli: $fails checks failed"; exit 1; fi
