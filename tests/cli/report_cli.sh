#!/usr/bin/env bash
# bbans report and bits-back compress/decompress with the shipped MNIST model, as a user runs them.
# usage: report_cli.sh BBANS SAMPLES_DIR MODEL
set -u
bbans=$(realpath "$1"); samples=$(realpath "$2"); model=$(realpath "$3")
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT; cd "$work"
fails=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

# 200 images of the MNIST sample (count field patched), so the test stays quick.
head -c $((16 + 200 * 784)) "$samples/mnist-test-1000-images-idx3-ubyte" > digits.idx
printf '\x00\x00\x00\xc8' | dd of=digits.idx bs=1 seek=4 conv=notrunc status=none

"$bbans" report digits.idx --model "$model" --json r.json --svg r.svg > table.txt || bad "report failed"
grep -q "exact round trip *yes" table.txt || bad "report does not say the round trip was exact"
for key in images net_bpd total_bpd neg_elbo_bpd zstd_bpd xz_bpd compress_s decompress_s zstd_s xz_s exact; do
  grep -q "\"$key\":" r.json || bad "JSON lacks $key"
done
grep -q '"exact": true' r.json || bad "JSON exact is not true"
grep -q '"images": 200' r.json || bad "JSON image count is not 200"
grep -q '<polyline' r.svg && grep -q '</svg>' r.svg || bad "SVG has no curve"
# The rate beats zstd and xz on these digits, and the net rate is within 2% of the model's -ELBO.
python3 - r.json <<'PY' || bad "figures out of line: $(cat r.json)"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["total_bpd"] < r["zstd_bpd"] and r["total_bpd"] < r["xz_bpd"], "not below zstd and xz"
assert abs(r["net_bpd"] / r["neg_elbo_bpd"] - 1) < 0.02, "net rate far from the ELBO"
PY
# Existing outputs are not overwritten without -f.
expect=$(cat r.json)
"$bbans" report digits.idx --model "$model" --json r.json > /dev/null 2>&1 && bad "report overwrote r.json without -f"
[ "$(cat r.json)" = "$expect" ] || bad "r.json changed"

# Bits-back through the CLI: -v names the model; the file decodes with the model found by identity.
"$bbans" compress -v --model "$model" digits.idx 2> summary.txt || bad "compress failed"
grep -q "bits-back with model" summary.txt || bad "compress -v does not report bits-back: $(cat summary.txt)"
"$bbans" info digits.idx.bbx | grep -q "model:" || bad "info does not show the model"
mv digits.idx orig.idx
"$bbans" decompress --model "$model" digits.idx.bbx && cmp -s digits.idx orig.idx || bad "bits-back round trip"
# (A file whose model is not found fails naming it: tests/golden unknown-model.bbx and
# tests/cli/models_cli.sh. The shipped model is always on the search path of a build-tree binary.)
# A corrupted bits-back message fails cleanly.
cp digits.idx.bbx broken.bbx
printf '\x55' | dd of=broken.bbx bs=1 seek=20000 conv=notrunc status=none
"$bbans" decompress --model "$model" broken.bbx broken.out 2>/dev/null && bad "corrupt bits-back file decoded"
[ -e broken.out ] && bad "corrupt bits-back file left output"

if [ $fails -eq 0 ]; then echo "report cli: all checks passed"; else echo "report cli: $fails checks failed"; exit 1; fi
