#!/usr/bin/env bash
# bbans report and bits-back compress/decompress with the shipped MNIST model, as a user runs them.
# usage: report_cli.sh BBANS SAMPLES_DIR MODEL
set -u
cli_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bbans=$(realpath "$1"); samples=$(realpath "$2"); model=$(realpath "$3")
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT; cd "$work"
source "$cli_dir/lib.sh"

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
# The -ELBO splits into the likelihood's and the latent's (KL) bits; the latent's are what the
# discretized posterior and prior give a latent of 2^prior_precision buckets: > 0 and small here.
lik, lat = r["neg_elbo_likelihood_bpd"], r["neg_elbo_latent_bpd"]
assert abs(lik + lat - r["neg_elbo_bpd"]) < 2e-6, "likelihood + latent != -ELBO"
assert 0 < lat < 0.2 * r["neg_elbo_bpd"], "latent bits out of range"
PY
grep -q "likelihood .* + latent (KL) .* bits per image" table.txt || bad "the table does not split the -ELBO into likelihood and latent bits"
# The JSON says what was measured: input, bytes, images, model, method, chunks, seeds, version.
python3 - r.json "$("$bbans" --version)" "$(nproc)" "$(nproc --all)" <<'PY' || bad "JSON does not describe the run: $(cat r.json)"
import json, re, sys
r = json.load(open(sys.argv[1]))
assert r["bbans_version"] and sys.argv[2] == "bbans " + r["bbans_version"], "version"
assert r["input"] == "digits.idx" and r["input_bytes"] == 16 + 200 * 784 and r["input_kind"] == "images", "input"
assert (r["rows"], r["cols"], r["pixels_per_image"]) == (28, 28, 784), "shape"
assert r["method"] == "bits-back" and r["model_used"] is True and r["why_not_bits_back"] is None, "method"
assert r["model_name"] == "mnist" and re.fullmatch("[0-9a-f]{32}", r["model_identity"]), "model"
assert r["chunks"] >= 1 and r["seed_images"] == r["chunks"] and r["seed_bits"] >= r["first_image_bits"] > 0, "chunks and seeds"
assert r["threads"] in (int(sys.argv[3]), int(sys.argv[4])), "threads: default is all cores"
assert r["rate_unit"] == "bits/dim" and r["elbo_s"] > 0, "unit, ELBO time"
PY
# The table says the same.
grep -q "^  input *digits.idx, 156816 bytes$" table.txt || bad "table lacks the input: $(head -3 table.txt)"
grep -Eq "^  chunks *[0-9]+, with [0-9]+ seed units? \(images, or bands of one image\) costing" table.txt || bad "table lacks chunks and seeds"
# The plot: well-formed XML, round ticks (0, 50, ..., 200 images; bits/dim with 2-3 decimals),
# axis labels, and the curve's end label shows the table's total and net rates as printed.
total=$(sed -n 's/^  total rate *\([0-9.]*\) bits\/dim.*/\1/p' table.txt)
net=$(sed -n 's/^  net rate *\([0-9.]*\) bits\/dim.*/\1/p' table.txt)
python3 - r.svg "$total" "$net" <<'PY' || bad "SVG axes or labels"
import re, sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
texts = ["".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")]
assert [t for t in texts if t in ("0", "50", "100", "150", "200")] == ["0", "50", "100", "150", "200"], texts
y = [t for t in texts if re.fullmatch(r"\d\.\d{2,3}", t)]
assert len(y) >= 3 and len(set(len(t) for t in y)) == 1, ("y ticks", y)
steps = {round(float(b) - float(a), 6) for a, b in zip(y, y[1:])}
assert len(steps) == 1, ("y ticks not evenly spaced", y)
assert "images coded" in texts and "bits/dim" in texts, "axis labels"
want = "bbans total %s, net %s" % (sys.argv[2], sys.argv[3])
assert want in texts, (want, [t for t in texts if t.startswith("bbans")])
PY
# Existing outputs are not overwritten without -f.
expect=$(cat r.json)
"$bbans" report digits.idx --model "$model" --json r.json > /dev/null 2>&1 && bad "report overwrote r.json without -f"
[ "$(cat r.json)" = "$expect" ] || bad "r.json changed"

# Output paths are checked before the work: on a big input the refusal is immediate.
for i in 1 2 3 4 5 6 7 8 9 10; do tail -c +17 "$samples/mnist-test-1000-images-idx3-ubyte"; done > big.raw  # 10,000 images
t0=$(date +%s.%N)
expect_error "$bbans" report big.raw --shape 28x28 --model "$model" --json r.json
expect_error "$bbans" report big.raw --shape 28x28 --model "$model" --svg nodir/r.svg
expect_error "$bbans" report big.raw --shape 28x28 --model "$model" --json same.out --svg ./same.out
expect_error "$bbans" report big.raw --shape 28x28 --model "$model" --json - --svg -
t1=$(date +%s.%N)
python3 -c "import sys; sys.exit(float(sys.argv[2]) - float(sys.argv[1]) > 2.0)" "$t0" "$t1" \
  || bad "refusing four unwritable outputs took $(python3 -c "print(round($t1 - $t0, 2))") s: checked after the work?"
[ -e same.out ] || [ -e nodir ] && bad "a refused report wrote something"
[ "$(cat r.json)" = "$expect" ] || bad "r.json changed"
expect_error "$bbans" report missing.idx --model "$model"
expect_error "$bbans" report digits.idx --model "$model" --shape 28y28

# --json - writes only JSON on standard output (the table goes to standard error); - reads
# standard input; -T sets the threads; -q prints nothing else.
"$bbans" report -T 1 --model "$model" --json - - < digits.idx > stdout.json 2> stderr.txt || bad "report - --json - failed"
python3 - stdout.json <<'PY' || bad "stdout of --json - is not the JSON: $(head -c 300 stdout.json)"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["input"] == "-" and r["images"] == 200 and r["threads"] == 1 and r["exact"] is True, r
PY
grep -q "exact round trip *yes" stderr.txt || bad "with --json -, the table is not on standard error"
"$bbans" report -q --model "$model" digits.idx > q.out 2>&1 || bad "report -q failed"
[ -s q.out ] && bad "report -q printed: $(head -3 q.out)"
"$bbans" report -q -T 2 --model "$model" --json - digits.idx 2> q.err | python3 -c "import json, sys; assert json.load(sys.stdin)['threads'] == 2" \
  || bad "report -q --json - -T 2"
[ -s q.err ] && bad "report -q --json - printed on stderr: $(cat q.err)"
# A terminal is not read as input.
python3 - "$bbans" <<'PY' || bad "report - reads a terminal"
import os, pty, subprocess, sys
master, slave = pty.openpty()
p = subprocess.run([sys.argv[1], "report", "-"], stdin=slave, capture_output=True, timeout=60)
err = p.stderr.decode()
assert p.returncode == 1 and err.startswith("bbans: ") and err.count("\n") == 1 and "terminal" in err, (p.returncode, err)
PY

# A file name with quotes, a backslash and a non-UTF-8 byte: valid JSON and SVG, name kept.
weird=$(printf 'we"ird\\na\xffme <&>.idx')
cp digits.idx "$weird"
"$bbans" report -q --model "$model" --json w.json --svg w.svg "$weird" || bad "report on an odd file name failed"
python3 - w.json w.svg <<'PY' || bad "odd file name breaks the JSON or SVG: $(head -c 200 w.json)"
import json, sys, xml.etree.ElementTree as ET
r = json.load(open(sys.argv[1], encoding="utf-8"))
assert r["input"] == 'we"ird\\na\ufffdme <&>.idx', r["input"]
ET.parse(sys.argv[2])
PY

# Not images (a text file): works, says so, no image figures.
for i in $(seq 1 300); do echo "line $i of a text that is not images"; done > notes.txt
"$bbans" report --model "$model" --json t.json --svg t.svg notes.txt > t.txt || bad "report on a text file failed"
grep -q "not images" t.txt || bad "report on text does not say it is not images: $(cat t.txt)"
grep -q "exact round trip *yes" t.txt || bad "text round trip"
python3 - t.json t.svg <<'PY' || bad "text report JSON: $(cat t.json)"
import json, sys, xml.etree.ElementTree as ET
r = json.load(open(sys.argv[1]))
assert r["method"] in ("zstd", "xz", "stored") and r["input_kind"] == "bytes" and r["images"] == 0, "kind"
assert r["neg_elbo_bpd"] is None and r["net_bpd"] is None and r["model_name"] is None and r["rate_unit"] == "bits/byte", "figures"
assert "not" in r["why_not_bits_back"] and r["exact"] is True, "why"
ET.parse(sys.argv[2])
PY

# Images that zstd stores better (all black): the image count, the model and its -ELBO are
# still reported.
head -c 16 digits.idx > black.idx; head -c $((300 * 784)) /dev/zero >> black.idx
printf '\x00\x00\x01\x2c' | dd of=black.idx bs=1 seek=4 conv=notrunc status=none
"$bbans" report --model "$model" --json b.json black.idx > b.txt || bad "report on black images failed"
python3 - b.json <<'PY' || bad "black images JSON: $(cat b.json)"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["method"] != "bits-back" and r["model_used"] is False, "method"
assert r["images"] == 300 and r["input_kind"] == "images" and r["model_name"] == "mnist", "images and model"
assert r["neg_elbo_bpd"] is not None and r["neg_elbo_bpd"] > 0 and r["net_bpd"] is None, "ELBO"
PY
grep -q "model -ELBO" b.txt && grep -q "images *300 of 28x28" b.txt || bad "black images table: $(cat b.txt)"

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

# A colour image that zstd codes smaller than the grey model as planes: the report still gives
# the unused model's -ELBO on the planes (it once asked the model for RGB pixels and failed).
python3 -c "open('flat.ppm', 'wb').write(b'P6\\n40 30\\n255\\n' + bytes([10, 200, 30] * 1200))"
"$bbans" report --model "$model" --json flat.json flat.ppm > flat.txt 2> flat.err || bad "report of a flat colour image failed: $(cat flat.err)"
grep -q '"method": "zstd"' flat.json && grep -q '"model_planes": 3' flat.json || bad "flat colour image: not zstd with a planes model: $(cat flat.json)"
grep -q "model -ELBO" flat.txt || bad "flat colour image: no -ELBO of the unused model: $(cat flat.txt)"

if [ $fails -eq 0 ]; then echo "report cli: all checks passed"; else echo "report cli: $fails checks failed"; exit 1; fi
