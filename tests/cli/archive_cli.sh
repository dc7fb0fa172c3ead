#!/usr/bin/env bash
# The archive side of the CLI as a zstd/xz user meets it: several files (-m), folders,
# -o/-c/-t/-l/--rm/-T/--method, modes and times kept, usage errors, and no partial output
# when a run is killed.
# usage: archive_cli.sh BBANS SAMPLES_DIR
set -u
cli_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bbans=$(realpath "$1")
samples=$(realpath "$2")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
source "$cli_dir/lib.sh"

head -c $((16 + 300 * 784)) "$samples/mnist-test-1000-images-idx3-ubyte" > digits.idx
printf '\x00\x00\x01\x2c' | dd of=digits.idx bs=1 seek=4 conv=notrunc status=none   # 300 images
yes "a line of text for the archive" | head -c 50000 > notes.txt
head -c 3000 /dev/urandom > noise.bin

# -m: each input to its own .bbx; an input is never taken for an output.
"$bbans" compress -q -m digits.idx notes.txt noise.bin || bad "compress -m"
for f in digits.idx notes.txt noise.bin; do [ -f "$f.bbx" ] || bad "-m did not write $f.bbx"; done
cmp -s noise.bin <(head -c 3000 noise.bin) || bad "noise.bin changed"
mkdir m && cp digits.idx.bbx notes.txt.bbx noise.bin.bbx m/ && (cd m && "$bbans" decompress -q -m digits.idx.bbx notes.txt.bbx noise.bin.bbx) \
  || bad "decompress -m"
for f in digits.idx notes.txt noise.bin; do cmp -s "$f" "m/$f" || bad "-m round trip of $f"; done
expect_error "$bbans" compress digits.idx notes.txt noise.bin    # three positionals without -m
err=$("$bbans" compress digits.idx notes.txt noise.bin 2>&1); [[ "$err" == *"-m"* ]] || bad "no -m hint: $err"
expect_error "$bbans" compress -m -o x.bbx digits.idx notes.txt
expect_error "$bbans" compress digits.idx out.bbx -o other.bbx   # output named twice

# -o, -c, -t, -l.
"$bbans" compress -q -o named.bbx notes.txt && [ -f named.bbx ] || bad "-o"
"$bbans" compress -q -c notes.txt > piped.bbx && cmp -s piped.bbx named.bbx || bad "-c differs from -o"
"$bbans" decompress -q -c piped.bbx | cmp -s - notes.txt || bad "decompress -c"
"$bbans" decompress -t digits.idx.bbx || bad "-t on a good archive"
[ -e digits.idx.out ] && bad "-t wrote something"
"$bbans" decompress -l digits.idx.bbx | grep -q "bits-back.*digits.idx" || bad "-l does not list the entry"
cp digits.idx.bbx broken.bbx
printf '\x55' | dd of=broken.bbx bs=1 seek=3000 conv=notrunc status=none
expect_error "$bbans" decompress -t broken.bbx

# Thread counts do not change a byte.
for t in 1 2 7; do "$bbans" compress -q -T $t --chunk 40 -o t$t.bbx digits.idx || bad "-T $t"; done
cmp -s t1.bbx t2.bbx && cmp -s t1.bbx t7.bbx || bad "output depends on the thread count"
"$bbans" decompress -q -T 2 -o t2.out t1.bbx && cmp -s t2.out digits.idx || bad "-T 2 decompress"

# --method.
for m in stored zstd xz; do
  "$bbans" compress -q --method $m -o m-$m.bbx notes.txt || bad "--method $m"
  "$bbans" decompress -l m-$m.bbx | grep -q " $m " || bad "--method $m not used"
  "$bbans" decompress -q -o m-$m.out m-$m.bbx && cmp -s m-$m.out notes.txt || bad "--method $m round trip"
done
expect_error "$bbans" compress --method bits-back -o nope.bbx notes.txt   # no model codes text
[ -e nope.bbx ] && bad "a failed --method bits-back left nope.bbx"
expect_error "$bbans" compress --method brotli notes.txt
expect_error "$bbans" compress --model no-such-model digits.idx
expect_error "$bbans" compress --model mnist -o nope.bbx notes.txt   # a named model that cannot code it
[ -e nope.bbx ] && bad "compress --model of text left nope.bbx"

# Mode and modification time travel with the data; --rm removes the input only on success.
cp notes.txt private.txt && chmod 600 private.txt && touch -d '2001-02-03 04:05:06.5' private.txt
"$bbans" compress -q --rm private.txt || bad "compress --rm"
[ -e private.txt ] && bad "--rm kept the input"
[ "$(stat -c %a private.txt.bbx)" = 600 ] || bad "the .bbx of a 600 file is $(stat -c %a private.txt.bbx)"
"$bbans" decompress -q private.txt.bbx || bad "decompress"
[ "$(stat -c %a private.txt)" = 600 ] || bad "the restored file is $(stat -c %a private.txt)"
[ "$(stat -c %Y private.txt)" = "$(date -d '2001-02-03 04:05:06' +%s)" ] || bad "mtime not restored"
cp notes.txt keep.txt && touch keep.txt.bbx
expect_error "$bbans" compress --rm keep.txt     # output exists: nothing removed
[ -e keep.txt ] || bad "--rm removed the input of a failed run"

# Folders: one archive, restored with the same names, bytes, modes and empty directories.
mkdir -p album/sub/deeper album/empty
cp digits.idx album/ && cp notes.txt album/sub/ && cp noise.bin album/sub/deeper/ && chmod 640 album/sub/notes.txt && chmod 700 album/sub
"$bbans" compress -q album/ || bad "compress a folder"
[ -f album.bbx ] || bad "no album.bbx"
"$bbans" decompress -l album.bbx | grep -q "album/sub/deeper/noise.bin" || bad "folder listing"
expect_error "$bbans" decompress album.bbx     # album/ exists
"$bbans" decompress -q -o restored album.bbx || bad "decompress a folder with -o"
diff -r album restored > /dev/null || bad "folder round trip differs"
[ -d restored/empty ] || bad "empty directory lost"
[ "$(stat -c %a restored/sub/notes.txt)" = 640 ] || bad "file mode in a folder lost"
[ "$(stat -c %a restored/sub)" = 700 ] || bad "directory mode lost"
expect_error "$bbans" decompress -c album.bbx
mv album album.orig && "$bbans" decompress -q album.bbx && diff -r album album.orig > /dev/null || bad "folder to its own name"

# An archive written inside the folder it archives never holds itself (nor its temporary file).
mkdir -p selfish && cp notes.txt selfish/
(cd selfish && "$bbans" compress -q . -o inside.bbx && "$bbans" compress -q -f . -o inside.bbx) || bad "compress a folder into itself"
"$bbans" decompress -l selfish/inside.bbx | tail -n +3 | grep -q "inside.bbx" && bad "the archive holds itself"

# A file name near the 255-byte limit (the temporary name must not pass it), a folder given as
# ".", and special mode bits, which are never restored.
long=$(printf 'x%.0s' $(seq 245))
mkdir -p longname && cp notes.txt "longname/$long" && cp notes.txt longname/setuid && chmod 4755 longname/setuid
"$bbans" compress -q longname || bad "compress a folder with a 245-byte file name"
"$bbans" decompress -q -o longname.out longname.bbx && cmp -s "longname.out/$long" notes.txt || bad "a 245-byte file name does not round-trip"
[ "$(stat -c %a longname.out/setuid)" = 755 ] || bad "special mode bits restored: $(stat -c %a longname.out/setuid)"
rm -f longname.bbx; (cd longname && "$bbans" compress -q .) && [ -f longname.bbx ] && [ ! -e longname/..bbx ] || bad "compress . does not write ../NAME.bbx"

# Usage errors: exit 1 and one line; a mistyped command gets a suggestion.
expect_error "$bbans" compres digits.idx
err=$("$bbans" compres digits.idx 2>&1); [[ "$err" == *"did you mean 'compress'"* ]] || bad "no suggestion: $err"
expect_error "$bbans" compress --no-such-flag digits.idx
expect_error "$bbans" compress --shape -28x28 digits.idx
expect_error "$bbans" compress --shape 99999999x2 digits.idx
expect_error "$bbans" compress -T -1 digits.idx

# Killed at any moment, compress and decompress leave nothing under the target name.
python3 - digits.idx big.idx <<'PY'
import sys
b = open(sys.argv[1], 'rb').read()
open(sys.argv[2], 'wb').write(b[:4] + (1800).to_bytes(4, 'big') + b[8:16] + b[16:] * 6)   # 1800 images
PY
for delay in 0.05 0.15 0.3; do
  "$bbans" compress -q -T 1 -f big.idx killed.bbx & pid=$!
  sleep $delay; kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
  if [ -e killed.bbx ]; then "$bbans" decompress -t killed.bbx 2>/dev/null || bad "a killed compress left a partial killed.bbx"; rm -f killed.bbx; fi
done
"$bbans" compress -q big.idx big.bbx || bad "compress big.idx"
for delay in 0.05 0.15; do
  "$bbans" decompress -q -T 1 big.bbx killed.idx & pid=$!
  sleep $delay; kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
  if [ -e killed.idx ]; then cmp -s killed.idx big.idx || bad "a killed decompress left a partial killed.idx"; rm -f killed.idx; fi
done

if [ $fails -eq 0 ]; then echo "archive cli: all checks passed"; else echo "archive cli: $fails checks failed"; exit 1; fi
