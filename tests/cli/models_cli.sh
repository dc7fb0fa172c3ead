#!/usr/bin/env bash
# bbans models and the model search path as a user meets them: the shipped models are listed,
# --model-dir and $BBANS_MODEL_DIR add directories (earlier ones win a name), a broken model file
# is skipped with one warning line, and an unknown model is one error line.
# usage: models_cli.sh BBANS SHIPPED_MODELS_DIR SAMPLES_DIR GOLDEN_DIR
set -u
cli_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bbans=$(realpath "$1"); shipped=$(realpath "$2"); samples=$(realpath "$3"); golden=$(realpath "$4")
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT; cd "$work"
unset BBANS_MODEL_DIR
source "$cli_dir/lib.sh"
# row OUTPUT NAME: the line of `bbans models` output for NAME
row() { printf '%s\n' "$1" | awk -v n="$2" '$1 == n'; }

# The shipped models, with their shape, latent size, -ELBO from the card, size and path.
out=$("$bbans" models 2> err.txt); rc=$?
[ $rc -eq 0 ] || bad "bbans models exited $rc"
[ -s err.txt ] && bad "bbans models warned: $(cat err.txt)"
[[ "$(printf '%s\n' "$out" | head -n 1)" == "NAME "*"SHAPE"*"LATENT"*"-ELBO"*"SIZE"*"PATH" ]] || bad "no header line: $out"
for name in mnist fashion-mnist; do
  line=$(row "$out" $name)
  [ -n "$line" ] || { bad "$name not listed: $out"; continue; }
  [[ "$line" == *" 28x28x1 "* ]] || bad "$name: no shape 28x28x1: $line"
  [[ "$line" == *" $shipped/$name.bbm" ]] || bad "$name: not listed from $shipped: $line"
done
# The card's integer -ELBO (what `models` shows for a model with its card).
card_elbo() { grep -o "integer model as it codes | [0-9.]*" "$1" | grep -o "[0-9.]*$"; }
mnist_elbo=$(card_elbo "$shipped/mnist.bbm.md")
[ -n "$mnist_elbo" ] || bad "no integer -ELBO in mnist's card"
[[ "$(row "$out" mnist)" =~ \ 32\ +${mnist_elbo//./\\.}\ +1\.1\ MiB\  ]] || bad "mnist row lacks latent 32, -ELBO $mnist_elbo (its card), 1.1 MiB: $(row "$out" mnist)"
[[ "$(row "$out" fashion-mnist)" == *" $(card_elbo "$shipped/fashion-mnist.bbm.md") "* ]] || bad "fashion-mnist row lacks its card's -ELBO: $(row "$out" fashion-mnist)"

# --model-dir: a copy under a new name is listed from there; without its card the -ELBO is the
# one the model file records (the float model's); with the card, the card's. (mnist-v2: its
# file records 1.1925, its card 1.1936.)
mkdir mine other
cp "$shipped/mnist-v2.bbm" mine/digits.bbm
out=$("$bbans" models --model-dir mine 2> err.txt) || bad "models --model-dir failed"
[ -s err.txt ] && bad "models --model-dir warned: $(cat err.txt)"
[[ "$(row "$out" digits)" == *" $work/mine/digits.bbm" || "$(row "$out" digits)" == *" mine/digits.bbm" ]] \
  || bad "digits not listed from mine/: $out"
[[ "$(row "$out" digits)" == *" 1.1925 "* ]] || bad "digits without a card: -ELBO not the file's 1.1925: $(row "$out" digits)"
[ -n "$(row "$out" mnist)" ] && [ -n "$(row "$out" fashion-mnist)" ] || bad "shipped models missing with --model-dir: $out"
cp "$shipped/mnist-v2.bbm.md" mine/digits.bbm.md
[[ "$(row "$("$bbans" models --model-dir mine)" digits)" == *" 1.1936 "* ]] || bad "digits with its card: -ELBO not 1.1936"
# A card of another model is not believed, and says so.
cp "$shipped/fashion-mnist.bbm.md" mine/digits.bbm.md
out=$("$bbans" models --model-dir mine 2> err.txt)
[[ "$(row "$out" digits)" == *" 1.1925 "* ]] || bad "digits with a wrong card: $(row "$out" digits)"
grep -q "^bbans: warning: mine/digits.bbm.md: the card of another model" err.txt || bad "wrong card not warned: $(cat err.txt)"
rm mine/digits.bbm.md

# A broken model file: one warning line, the others are still listed, exit 0.
head -c 5000 /dev/urandom > mine/junk.bbm
out=$("$bbans" models --model-dir mine 2> err.txt); rc=$?
[ $rc -eq 0 ] || bad "a junk model made bbans models exit $rc"
[ "$(wc -l < err.txt)" -eq 1 ] || bad "expected one warning line, got: $(cat err.txt)"
grep -qx "bbans: warning: mine/junk.bbm: not a bbans model file (bad magic)" err.txt || bad "junk warning: $(cat err.txt)"
[ -z "$(row "$out" junk)" ] || bad "junk listed: $out"
for name in digits mnist fashion-mnist; do [ -n "$(row "$out" $name)" ] || bad "$name not listed beside junk: $out"; done
# Model files are read only when an input has images to code: compressing a text file beside
# the broken model warns of nothing (and takes no model-loading time); an image file warns.
printf 'plain text, not images\n' > notes.txt
"$bbans" compress --model-dir mine notes.txt notes.bbx 2> err.txt || bad "compress of a text file failed: $(cat err.txt)"
[ -s err.txt ] && bad "compress of a text file read the model files: $(cat err.txt)"
"$bbans" decompress -q notes.bbx -o notes.out && cmp -s notes.txt notes.out || bad "text file round trip"
"$bbans" report --model-dir mine notes.txt > /dev/null 2> err.txt || bad "report of a text file failed: $(cat err.txt)"
[ -s err.txt ] && bad "report of a text file read the model files: $(cat err.txt)"
gzip -c "$samples/mnist-test-1000-images-idx3-ubyte" > digits.gz   # kept as bytes (gzip): no model needed
"$bbans" report --model-dir mine digits.gz > /dev/null 2> err.txt || bad "report of a gzip file failed: $(cat err.txt)"
[ -s err.txt ] && bad "report of a gzip file read the model files: $(cat err.txt)"
# ... but a model directory that cannot be read is a warning, whatever the input.
"$bbans" compress --model-dir no-such-dir notes.txt -f -o notes.bbx 2> err.txt || bad "compress with a missing --model-dir failed"
grep -q "^bbans: warning: no-such-dir: cannot read model directory" err.txt || bad "compress: no warning for a missing --model-dir: $(cat err.txt)"
rm digits.gz
"$bbans" compress --model-dir mine "$samples/mnist-test-1000-images-idx3-ubyte" -o digits.bbx 2> err.txt || bad "compress of digits failed"
grep -q "^bbans: warning: mine/junk.bbm: " err.txt || bad "compress of images did not load the models: $(cat err.txt)"
"$bbans" report --model-dir mine "$samples/mnist-test-1000-images-idx3-ubyte" > report.txt 2> err.txt || bad "report of digits failed"
grep -q "^bbans: warning: mine/junk.bbm: " err.txt || bad "report of images did not load the models: $(cat err.txt)"
grep -q "method  *bits-back, model mnist " report.txt || bad "report of digits did not use mnist: $(cat report.txt)"
# decompress, too, says when a model directory cannot be read (the model may be the one it needs).
"$bbans" decompress --model-dir no-such-dir digits.bbx -o digits.out 2> err.txt || bad "decompress with a missing --model-dir failed"
grep -q "^bbans: warning: no-such-dir: cannot read model directory" err.txt || bad "decompress: no warning for a missing --model-dir: $(cat err.txt)"
rm digits.out
rm report.txt
rm notes.txt notes.bbx notes.out digits.bbx
# ... and only the models that can code the input's channels: a truncated RGB model is not read
# for grey images (its first bytes say RGB), and is read, and warned about, for an RGB image.
mkdir rgbonly && head -c 200000 "$shipped/photo-rgb.bbm" > rgbonly/rgbcut.bbm
"$bbans" compress --model-dir rgbonly "$samples/mnist-test-1000-images-idx3-ubyte" -o digits.bbx 2> err.txt || bad "compress of digits failed"
[ -s err.txt ] && bad "compress of grey images read an RGB model file: $(cat err.txt)"
{ printf 'P6\n16 16\n255\n'; head -c 768 /dev/urandom; } > c.ppm
"$bbans" compress --model-dir rgbonly c.ppm -o c.bbx 2> err.txt || bad "compress of an RGB PPM failed: $(cat err.txt)"
grep -q "^bbans: warning: rgbonly/rgbcut.bbm: model file is truncated" err.txt || bad "compress of RGB did not read the RGB model: $(cat err.txt)"
"$bbans" decompress -q c.bbx -o c.out && cmp -s c.ppm c.out || bad "RGB PPM round trip"
rm -r rgbonly digits.bbx c.ppm c.bbx c.out
# A folder whose first image needs a photo model and whose second needs fashion-mnist, which
# sorts before it: decompress loads the first entry's model by name, then finds the other on the
# search path (a model loaded later may sort before those loaded earlier).
mkdir mixed
LC_ALL=C awk 'BEGIN { printf "P6\n96 64\n255\n"; for (y = 0; y < 64; y++) for (x = 0; x < 96; x++)
  printf "%c%c%c", 1 + (2 * x + y) % 250, 1 + (3 * y + x % 3) % 250, 1 + int((x + y) / 2) % 250 }' > mixed/0.ppm
{ printf 'P5\n28 28\n255\n'; tail -c +17 "$samples/fashion-mnist-test-first1000-images-idx3-ubyte" | head -c 784; } > mixed/a.pgm
"$bbans" compress -v mixed -o mixed.bbx 2> err.txt || bad "compress of a mixed folder failed"
grep -q "0.ppm: .* bits-back with model photo-" err.txt && grep -q "a.pgm: .* bits-back with model fashion-mnist" err.txt ||
  bad "mixed folder: not a photo model first and fashion-mnist second (the case this checks): $(cat err.txt)"
"$bbans" decompress -q mixed.bbx -o mixed.out 2> err.txt && diff -r mixed mixed.out > /dev/null ||
  bad "mixed folder round trip: $(cat err.txt)"
rm -rf mixed mixed.bbx mixed.out
# An explicitly named broken model is an error.
printf 'x' > x.idx
expect_error "$bbans" report --model-dir mine --model junk x.idx
[[ "$last_error" == "bbans: mine/junk.bbm: not a bbans model file"* ]] || bad "junk --model error: $last_error"
expect_error "$bbans" compress --model mine/junk.bbm x.idx
[[ "$last_error" == *"not a bbans model file"* ]] || bad "junk file --model error: $last_error"
[ -e x.idx.bbx ] && bad "a failed compress left x.idx.bbx"

# Earlier directories win a name; --model-dir is repeatable and comes before $BBANS_MODEL_DIR.
cp "$shipped/mnist.bbm" other/fashion-mnist.bbm
cp "$shipped/mnist.bbm" other/digits.bbm
out=$("$bbans" models --model-dir other --model-dir mine 2>/dev/null)
[[ "$(row "$out" fashion-mnist)" == *" other/fashion-mnist.bbm" ]] || bad "--model-dir did not win fashion-mnist: $out"
[[ "$(row "$out" digits)" == *" other/digits.bbm" ]] || bad "first --model-dir did not win digits: $out"
out=$(BBANS_MODEL_DIR=other "$bbans" models --model-dir mine 2>/dev/null)
[[ "$(row "$out" digits)" == *" mine/digits.bbm" ]] || bad "--model-dir did not come before BBANS_MODEL_DIR: $out"

# $BBANS_MODEL_DIR, colon-separated; a directory that does not exist is a warning.
out=$(BBANS_MODEL_DIR="$work/nowhere:$work/mine" "$bbans" models 2> err.txt); rc=$?
[ $rc -eq 0 ] || bad "BBANS_MODEL_DIR with a missing directory: exit $rc"
[[ "$(row "$out" digits)" == *" $work/mine/digits.bbm" ]] || bad "BBANS_MODEL_DIR: digits not listed: $out"
grep -q "^bbans: warning: $work/nowhere: cannot read model directory" err.txt || bad "missing directory not warned: $(cat err.txt)"
grep -q "^bbans: warning: $work/mine/junk.bbm: " err.txt || bad "junk not warned through BBANS_MODEL_DIR: $(cat err.txt)"
# ... and the models it finds are used by name.
head -c $((16 + 20 * 784)) "$samples/mnist-test-1000-images-idx3-ubyte" > d.idx
printf '\x00\x00\x00\x14' | dd of=d.idx bs=1 seek=4 conv=notrunc status=none
BBANS_MODEL_DIR=other "$bbans" compress -q --model digits d.idx d.bbx || bad "compress --model digits through BBANS_MODEL_DIR"
"$bbans" decompress -q d.bbx d.out && cmp -s d.out d.idx || bad "decompress of a file made with a copied model"
"$bbans" report --model-dir other --model digits d.idx > report.txt || bad "report --model-dir --model digits"
grep -q "model digits" report.txt || bad "report does not name the model digits: $(cat report.txt)"

# JSON.
"$bbans" models --json --model-dir mine 2>/dev/null > list.json || bad "models --json failed"
python3 - list.json "$mnist_elbo" <<'PY' || bad "models --json: $(cat list.json)"
import json, sys
rows = {r["name"]: r for r in json.load(open(sys.argv[1]))}
assert {"mnist", "fashion-mnist", "digits"} <= set(rows), rows.keys()
m = rows["mnist"]
assert (m["rows"], m["cols"], m["channels"], m["latent"], m["neg_elbo_bpd"]) == (28, 28, 1, 32, float(sys.argv[2])), m
assert m["bytes"] > 1000000 and m["path"].endswith("/mnist.bbm"), m
PY

# Unknown models: one error line, exit 1.
expect_error "$bbans" compress --model nosuch x.idx
[[ "$last_error" == "bbans: no model named 'nosuch'"* ]] || bad "unknown model error: $last_error"
expect_error "$bbans" compress --model nosuch.bbm x.idx
expect_error "$bbans" report --model nosuch x.idx
[ -e x.idx.bbx ] && bad "a failed compress left x.idx.bbx"
# A file whose model is nowhere on the path names the model it needs.
cp "$golden/unknown-model.bbx" u.bbx
expect_error env BBANS_MODEL_DIR="$work/mine" "$bbans" decompress -q u.bbx
[[ "$last_error" == *"needs model f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"* ]] || bad "missing model not named: $last_error"
# Without -q, the model files that could not be read are named first (one may be the model needed).
env BBANS_MODEL_DIR="$work/mine" "$bbans" decompress u.bbx 2> err.txt && bad "decompress without its model succeeded"
[[ "$(head -n 1 err.txt)" == "bbans: warning: $work/mine/junk.bbm: "* && "$(tail -n 1 err.txt)" == *"needs model f0f1"* ]] ||
  bad "decompress without its model: no warning about the broken model file first: $(cat err.txt)"
[ -e u ] && bad "a failed decompress left output"

if [ $fails -eq 0 ]; then echo "models cli: all checks passed"; else echo "models cli: $fails checks failed"; exit 1; fi
