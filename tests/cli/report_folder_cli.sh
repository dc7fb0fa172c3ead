#!/usr/bin/env bash
# bbans report on a folder: one row per image and the aggregate against PNG, WebP and JPEG XL
# (the last two where compiled in), the JSON's fields and sums, progress, and the errors.
# usage: report_folder_cli.sh BBANS HAVE_WEBP HAVE_JXL   (HAVE_*: 1 if compiled in, else 0)
set -u
cli_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bbans=$(realpath "$1"); have_webp=$2; have_jxl=$3
work=$(mktemp -d); trap 'chmod -R u+rwx "$work"; rm -rf "$work"' EXIT; cd "$work"
source "$cli_dir/lib.sh"

# Three small images: grey PGM 64x40, RGB PPM 36x28, grey PNG 24x30 (in a subfolder), smooth
# with a little noise; and a text file, which is skipped.
mkdir -p imgs/sub
python3 - imgs <<'PY'
import random, struct, sys, zlib
d = sys.argv[1]
rng = random.Random(7)
def px(x, y, c):
    return (x * 3 + y * 2 + c * 50 + rng.randrange(6)) % 256
def grey(rows, cols):
    return bytes(px(x, y, 0) for y in range(rows) for x in range(cols))
open(d + "/a.pgm", "wb").write(b"P5\n40 64\n255\n" + grey(64, 40))
open(d + "/b.ppm", "wb").write(b"P6\n28 36\n255\n" + bytes(px(x, y, c) for y in range(36) for x in range(28) for c in range(3)))
rows, cols = 30, 24
raw = b"".join(b"\x00" + bytes(px(x, y, 0) for x in range(cols)) for y in range(rows))
def chunk(t, data):
    return struct.pack(">I", len(data)) + t + data + struct.pack(">I", zlib.crc32(t + data) & 0xFFFFFFFF)
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", cols, rows, 8, 0, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
open(d + "/sub/c.png", "wb").write(png)
open(d + "/notes.txt", "w").write("not an image\n")
PY

"$bbans" report imgs -T 1 --json r.json > table.txt 2> progress.txt || bad "report on a folder failed: $(cat progress.txt)"
# Three rows and the aggregate, in the table.
for name in a.pgm b.ppm sub/c.png; do grep -q "^$name " table.txt || bad "table lacks a row for $name"; done
grep -q "^all 3 files " table.txt || bad "table lacks the aggregate row"
grep -q "exact round trip.*yes" table.txt || bad "table does not say the round trips were exact"
grep -q "NOT included" table.txt || bad "table does not say whether the container overhead is included"
grep -q "skipped: notes.txt" table.txt || bad "table does not list the skipped text file"
[ "$have_webp" = 1 ] && ! grep -q "WebP *libwebp" table.txt && bad "WebP compiled in but not in the table"
[ "$have_jxl" = 1 ] && ! grep -q "JPEG XL *libjxl.*effort 7" table.txt && bad "JPEG XL compiled in but not in the table"
[ "$have_webp" = 0 ] && ! grep -q "not compiled in: WebP" table.txt && bad "table does not say WebP is not compiled in"
# Progress: one line a file on standard error.
[ "$(grep -c '^report \[[1-4]/4\]' progress.txt)" = 4 ] || bad "progress is not one line a file: $(cat progress.txt)"

python3 - r.json "$("$bbans" --version)" "$have_webp" "$have_jxl" <<'PY' || bad "JSON fields or sums: $(head -c 600 r.json)"
import json, sys
r = json.load(open(sys.argv[1]))
have = {"webp": sys.argv[3] == "1", "jxl": sys.argv[4] == "1"}
assert sys.argv[2] == "bbans " + r["bbans_version"], "version"
assert r["input"] == "imgs" and r["input_kind"] == "folder" and r["rate_unit"] == "bits/subpixel", "header"
assert "not included" in r["bbans_bits_are"], "overhead statement"
keys = [c["key"] for c in r["codecs"]]
want = ["bbans", "png"] + [k for k in ("webp", "jxl") if have[k]]
assert keys == want, ("codecs", keys)
assert all(c["name"] and c["settings"] for c in r["codecs"]), "codec names"
assert len(r["codecs_missing"]) == 2 - sum(have.values()), "missing codecs"
assert [s["name"] for s in r["skipped"]] == ["notes.txt"], r["skipped"]
im = r["images"]
assert [i["name"] for i in im] == ["a.pgm", "b.ppm", "sub/c.png"], [i["name"] for i in im]
assert [(i["rows"], i["cols"], i["channels"]) for i in im] == [(64, 40, 1), (36, 28, 3), (30, 24, 1)], "shapes"
assert [i["format"] for i in im] == ["PGM", "PPM", "PNG"], "formats"
for i in im:
    assert i["samples"] == i["rows"] * i["cols"] * i["channels"], "samples"
    assert i["exact"] is True and i["bbans_bits"] > 0 and i["bbx_bits"] > i["bbans_bits"], i["name"]
    assert abs(i["bbans_bpsp"] - i["bbans_bits"] / i["samples"]) < 1e-6, "bbans rate"
    if i["method"] == "bits-back":
        assert i["model_name"] and len(i["model_identity"]) == 32, "model"
    for k in want[1:]:
        c = i[k]
        assert c["error"] is None and c["bits"] > 0 and abs(c["bpsp"] - c["bits"] / i["samples"]) < 1e-6, (i["name"], k, c)
    for k in ("webp", "jxl"):
        assert (k in i) == have[k], (k, "present only when compiled in")
assert [i["png"]["source"] for i in im] == ["libpng", "libpng", "file"], "PNG source"
assert im[2]["png"]["bits"] == 8 * im[2]["file_bytes"], "a PNG's own size"
a = r["aggregate"]
assert a["samples"] == sum(i["samples"] for i in im) and a["images"] == 3 and r["files"] == 3, "aggregate samples"
for k in ("bbans_bits", "bbx_bits", "file_bytes"):
    assert a[k] == sum(i[k] for i in im), k
assert abs(a["bbans_bpsp"] - a["bbans_bits"] / a["samples"]) < 1e-6, "aggregate rate"
for k in want[1:]:
    assert a[k]["bits"] == sum(i[k]["bits"] for i in im), k
    assert abs(a[k]["bpsp"] - a[k]["bits"] / a["samples"]) < 1e-6, k
for k in ("net", "neg_elbo"):
    have_it = [i for i in im if i[k + "_bits"] is not None]
    if have_it:
        s = k + "_samples"
        assert a[s] == sum(i[s] for i in have_it), s
        assert abs(a[k + "_bits"] - sum(i[k + "_bits"] for i in have_it)) < 1, k
for i in im:  # the latents' part of the -ELBO: at most all of it, and in the aggregate summed
    if i["neg_elbo_bits"] is not None:
        assert 0 <= i["neg_elbo_latent_bits"] <= i["neg_elbo_bits"], i["name"]
have_it = [i for i in im if i["neg_elbo_bits"] is not None]
if have_it:
    assert abs(a["neg_elbo_latent_bits"] - sum(i["neg_elbo_latent_bits"] for i in have_it)) < 1, "latent bits"
models = {m["name"]: m["identity"] for m in r["models"]}
assert all(models[i["model_name"]] == i["model_identity"] for i in im if i["model_name"]), "models"
assert r["exact"] is True
PY

# The table's aggregate row shows the JSON's aggregate rates.
python3 - r.json table.txt <<'PY' || bad "table aggregate differs from the JSON"
import json, sys
r = json.load(open(sys.argv[1])); a = r["aggregate"]
row = [l for l in open(sys.argv[2]) if l.startswith("all 3 files")][0]
assert ("%.4f" % a["bbans_bpsp"]) in row.split(), row
for k in ("png", "webp", "jxl"):
    if k in a: assert ("%.4f" % a[k]["bpsp"]) in row.split(), (k, row)
PY

# --jxl-effort; -q; --json - (JSON alone on standard output, table on standard error).
if [ "$have_jxl" = 1 ]; then
  "$bbans" report imgs -q --jxl-effort 1 --json - > e1.json 2> e1.err || bad "--jxl-effort 1 failed"
  python3 -c "import json,sys; r=json.load(open('e1.json')); assert [c for c in r['codecs'] if c['key']=='jxl'][0]['settings'].endswith('effort 1')" \
    || bad "--jxl-effort 1 not in the JSON"
  [ -s e1.err ] && bad "-q printed: $(head -3 e1.err)"
fi
"$bbans" report imgs --json - > s.json 2> s.err || bad "--json - failed"
python3 -c "import json; json.load(open('s.json'))" || bad "stdout of --json - is not JSON"
grep -q "^all 3 files" s.err || bad "with --json -, the table is not on standard error"
expect_error "$bbans" report imgs --jxl-effort 10
expect_error "$bbans" report imgs/a.pgm --jxl-effort 3
expect_error "$bbans" report imgs --svg r.svg
expect_error "$bbans" report imgs --json r.json   # exists, no -f
# A single file still gets today's report.
"$bbans" report -q imgs/a.pgm --json one.json || bad "single-file report failed"
python3 -c "import json; r=json.load(open('one.json')); assert r['input_kind']=='images' and r['exact'] is True" || bad "single-file JSON"

# Bad input: an empty folder, a folder without images, a broken image, an unreadable file.
mkdir empty; expect_error "$bbans" report empty
[[ "$last_error" == *"no files"* ]] || bad "empty folder error: $last_error"
mkdir text; cp imgs/notes.txt text/; expect_error "$bbans" report -q text
[[ "$last_error" == *"no image files"* ]] || bad "no-images error: $last_error"
mkdir broken; cp imgs/a.pgm broken/; head -c 200 imgs/sub/c.png > broken/z.png; expect_error "$bbans" report -q broken --json out.json
[[ "$last_error" == *"z.png"* ]] || bad "broken image error does not name it: $last_error"
if [ "$(id -u)" != 0 ]; then
  mkdir locked; cp imgs/a.pgm locked/; cp imgs/b.ppm locked/; chmod 000 locked/b.ppm
  expect_error "$bbans" report -q locked
  [[ "$last_error" == *"b.ppm"* ]] || bad "unreadable file error does not name it: $last_error"
fi
[ -e out.json ] && bad "a failed report wrote JSON"

if [ $fails -eq 0 ]; then echo "report folder cli: all checks passed"; else echo "report folder cli: $fails checks failed"; exit 1; fi
