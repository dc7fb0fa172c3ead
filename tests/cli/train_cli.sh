#!/usr/bin/env bash
# bbans train as a user runs it, on a tiny architecture and a few images: it writes a model and
# its card, refuses bad input with one line and writes nothing, and resumes from a checkpoint.
# usage: train_cli.sh BBANS SAMPLES_DIR
set -u
cli_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bbans=$(realpath "$1"); samples=$(realpath "$2")
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT; cd "$work"
source "$cli_dir/lib.sh"
idx_head() {  # FILE COUNT OUT: the first COUNT images of an IDX file
  head -c $((16 + $2 * 784)) "$1" > "$3"
  printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' 0 0 $(($2 / 256)) $(($2 % 256)))" | dd of="$3" bs=1 seek=4 conv=notrunc status=none
}
idx_head "$samples/mnist-test-1000-images-idx3-ubyte" 200 train.idx
idx_head "$samples/fashion-mnist-test-first1000-images-idx3-ubyte" 50 test.idx
tiny=(--latent 4 --encoder-hidden 16 --decoder-hidden 16 --channels 2 --head-hidden 8 --components 2 --batch-size 50 --calibration 50)

"$bbans" train --corpus train.idx --test test.idx -o m.bbm --epochs 1 -q "${tiny[@]}" || bad "train failed"
[ -s m.bbm ] && [ -s m.bbm.md ] && [ -s m.bbm.ckpt ] || bad "model, card or checkpoint missing"
grep -q "held-out negative ELBO, integer model as it codes" m.bbm.md || bad "card lacks the integer -ELBO"
"$bbans" compress -q --model m.bbm train.idx c.bbx && "$bbans" decompress -q --model m.bbm c.bbx c.out && cmp -s c.out train.idx \
  || bad "the trained model does not round-trip"
# A hierarchical model (--latent2): its card names the second layer and splits the latent bits,
# it round-trips, and the report shows the z1 and z2 parts.
"$bbans" train --corpus train.idx --test test.idx -o h.bbm --epochs 1 -q --latent2 3 --latent2-hidden 8 "${tiny[@]}" || bad "hierarchical train failed"
grep -q "second latent layer z2 of 3" h.bbm.md && grep -q "held-out latent split" h.bbm.md || bad "the card does not show the second latent layer"
"$bbans" compress -q --model h.bbm train.idx h.bbx && "$bbans" decompress -q --model h.bbm h.bbx h.out && cmp -s h.out train.idx \
  || bad "the hierarchical model does not round-trip"
"$bbans" report --model h.bbm test.idx 2>/dev/null | grep -q "  of which .*(z1 .*, z2 .*)" || bad "the report does not split z1 and z2"

# An existing output is not overwritten without -f, and nothing else is written.
before=$(sha256sum m.bbm)
expect_error "$bbans" train --corpus train.idx --test test.idx -o m.bbm --epochs 1 -q "${tiny[@]}"
[ "$(sha256sum m.bbm)" = "$before" ] || bad "m.bbm changed without -f"
# Unreadable corpus, shape mismatch, same images for training and test.
expect_error "$bbans" train --corpus missing.idx --test test.idx -o x.bbm "${tiny[@]}"
cp test.idx wide.idx; printf '\x00\x00\x00\x0e\x00\x00\x00\x38' | dd of=wide.idx bs=1 seek=8 conv=notrunc status=none  # 50 of 14x56
expect_error "$bbans" train --corpus train.idx --test wide.idx -o x.bbm "${tiny[@]}"
expect_error "$bbans" train --corpus train.idx --test train.idx -o x.bbm "${tiny[@]}"
[ -e x.bbm ] || [ -e x.bbm.md ] && bad "a failed train wrote a model or card"

# --epochs 0 is refused. Output paths are checked before the corpora are read and before any
# training (a run of 500 epochs would take minutes): an existing card or checkpoint, a missing
# directory for the model, card or checkpoint.
expect_error "$bbans" train --corpus train.idx --test test.idx -o x.bbm --epochs 0 "${tiny[@]}"
echo card > y.bbm.md
echo ckpt > z.bbm.ckpt
t0=$(date +%s.%N)
expect_error "$bbans" train --corpus train.idx --test test.idx -o y.bbm --epochs 500 "${tiny[@]}"
expect_error "$bbans" train --corpus train.idx --test test.idx -o z.bbm --epochs 500 "${tiny[@]}"
expect_error "$bbans" train --corpus train.idx --test test.idx -o nodir/x.bbm --epochs 500 "${tiny[@]}"
expect_error "$bbans" train --corpus train.idx --test test.idx -o x.bbm --checkpoint nodir/x.ckpt --epochs 500 "${tiny[@]}"
expect_error "$bbans" train --corpus train.idx --test test.idx -o x.bbm --checkpoint x.bbm --epochs 500 "${tiny[@]}"
expect_error "$bbans" train --corpus train.idx --test test.idx -o train.idx -f --epochs 500 "${tiny[@]}"
t1=$(date +%s.%N)
python3 -c "import sys; sys.exit(float(sys.argv[2]) - float(sys.argv[1]) > 3.0)" "$t0" "$t1" || bad "refusing outputs took too long: checked after training?"
"$bbans" train --corpus train.idx --test test.idx -o z.bbm --epochs 500 "${tiny[@]}" 2>&1 | grep -q -- "--resume z.bbm.ckpt" \
  || bad "an existing checkpoint's error does not suggest --resume"
[ "$(cat y.bbm.md)" = card ] && [ "$(cat z.bbm.ckpt)" = ckpt ] || bad "a refused run changed an existing file"
[ -e x.bbm ] || [ -e x.bbm.md ] || [ -e x.bbm.ckpt ] || [ -e y.bbm ] || [ -e z.bbm ] && bad "a refused run wrote a model, card or checkpoint"

# Ctrl-C: training stops, keeps the last checkpoint and prints the command that resumes it
# (exit 130); that command finishes the run. (set -m: a background job of a script would
# otherwise start with SIGINT ignored, which bbans respects.)
cp "$samples/mnist-test-1000-images-idx3-ubyte" "mnist 1000's.idx"  # the command quotes it for the shell
set -m
"$bbans" train --corpus "mnist 1000's.idx" --test test.idx -o int.bbm --epochs 12 -q "${tiny[@]}" 2> int.err &
pid=$!
set +m
for _ in $(seq 1 600); do [ -e int.bbm.ckpt ] && break; sleep 0.05; done
[ -e int.bbm.ckpt ] || bad "no checkpoint after 30 s"
kill -INT $pid
wait $pid; rc=$?
[ $rc -eq 130 ] || bad "interrupted train exited $rc, not 130"
[ "$(wc -l < int.err)" -eq 1 ] || bad "interrupted train printed more than one line: $(cat int.err)"
msg=$(cat int.err)
prefix='bbans: interrupted; resume with: bbans train --resume int.bbm.ckpt '
[[ "$msg" == "$prefix"* ]] || bad "interrupt message: $msg"
[[ "$msg" == *" --corpus 'mnist 1000'\\''s.idx' --test test.idx -o int.bbm "* ]] || bad "resume command lacks corpora or output: $msg"
[ -s int.bbm.ckpt ] || bad "the checkpoint is gone after Ctrl-C"
[ -e int.bbm ] || [ -e int.bbm.md ] && bad "an interrupted run wrote a model"
ls -a | grep -q '\.tmp-' && bad "an interrupted run left a temporary file: $(ls -a | grep tmp)"
eval "\"\$bbans\" ${msg#bbans: interrupted; resume with: bbans }" || bad "the printed resume command failed: $msg"
grep -q "| training | 12 epochs" int.bbm.md || bad "the resumed run did not reach 12 epochs: $(grep training int.bbm.md)"
# Ctrl-C before the first checkpoint: nothing to resume, and it says so.
set -m
"$bbans" train --corpus "$samples/mnist-test-1000-images-idx3-ubyte" --test test.idx -o early.bbm --epochs 50 --calibration 50 2> early.err &
pid=$!
set +m
for _ in $(seq 1 600); do grep -q "^bbans train: " early.err && break; sleep 0.02; done
kill -INT $pid
wait $pid; rc=$?
[ $rc -eq 130 ] || bad "train interrupted in its first epoch exited $rc, not 130"
[ "$(tail -n 1 early.err)" = "bbans: interrupted before the first checkpoint was written; nothing to resume" ] \
  || bad "early interrupt message: $(tail -n 1 early.err)"
[ -e early.bbm.ckpt ] && bad "a checkpoint appeared although training stopped in its first epoch"

# Resume: one more epoch from the checkpoint.
"$bbans" train --corpus train.idx --test test.idx -o m2.bbm --resume m.bbm.ckpt --epochs 2 -q || bad "resume failed"
grep -q "| training | 2 epochs" m2.bbm.md || bad "resumed run did not reach 2 epochs: $(grep training m2.bbm.md)"
# Resuming on other images is refused.
expect_error "$bbans" train --corpus test.idx --test train.idx -o m3.bbm --resume m.bbm.ckpt --epochs 3 -q


# --validation: the last images of the training corpus choose the epoch; the card says which,
# and what the latent carries. --patience stops a run whose validation figure stops improving.
# The latent-use settings are recorded in the card and the run still round-trips.
"$bbans" train --corpus train.idx --test test.idx -o v.bbm --epochs 3 --validation 0.2 --kl-warmup 5 --free-bits 0.5 --shift 1 \
  "${tiny[@]}" 2> v.err || bad "train --validation failed: $(tail -n 1 v.err)"
grep -q "160 training and 50 held-out images of 28x28; 40 validation images" v.err || bad "the validation split is not 40 of 200 images"
grep -q "validation -ELBO" v.err || bad "epochs do not report the validation -ELBO"
grep -Eq "\| epoch chosen on validation \| epoch [1-3] of 3 run" v.bbm.md || bad "the card does not say which epoch was chosen"
grep -q "latent (KL)" v.bbm.md || bad "the card does not split likelihood and KL bits"
grep -q "KL warm-up 5 steps, free bits 0.5 per latent dimension, shifts of up to 1 pixels" v.bbm.md || bad "the card lacks the latent-use settings"
[ -s v.bbm.ckpt.best ] || bad "the best epoch is not kept beside the checkpoint"
"$bbans" compress -q --model v.bbm train.idx v.bbx && "$bbans" decompress -q -c --model v.bbm v.bbx | cmp -s - train.idx \
  || bad "the validated model does not round-trip"
"$bbans" train --corpus train.idx --test test.idx -o p.bbm --epochs 40 --validation 0.2 --patience 1 --lr 0.5 --warmup 1 \
  "${tiny[@]}" 2> p.err || bad "train --patience failed: $(tail -n 1 p.err)"
grep -q "stopping early" p.err || bad "--patience 1 with a learning rate of 0.5 did not stop early"
[ "$(grep -c '^epoch' p.err)" -lt 40 ] || bad "--patience did not shorten the run"
# --no-context: the head sees only the decoder's channels (the card says so) and the model still codes.
"$bbans" train --corpus train.idx --test test.idx -o nc.bbm --epochs 1 --no-context "${tiny[@]}" 2> nc.err \
  || bad "train --no-context failed: $(tail -n 1 nc.err)"
grep -q "autoregressive" nc.err && bad "a --no-context run says it is autoregressive"
grep -q "causal neighbours" nc.bbm.md && bad "the --no-context card lists causal neighbours"
"$bbans" compress -q --method bits-back --model nc.bbm train.idx nc.bbx && "$bbans" decompress -q -c --model nc.bbm nc.bbx | cmp -s - train.idx \
  || bad "the --no-context model does not round-trip"
# --head-skip: the head's last layer also reads its 14 inputs (2 channels, 12 neighbours); the
# run and the card say so, the model round-trips, and a run resumed without the flag keeps the
# checkpoint's skip. A likelihood without a head cannot have one.
"$bbans" train --corpus train.idx --test test.idx -o hs.bbm --epochs 1 --head-skip "${tiny[@]}" 2> hs.err \
  || bad "train --head-skip failed: $(tail -n 1 hs.err)"
grep -q "head skip" hs.err || bad "the --head-skip run does not say so"
grep -q "per-sample head 14 -> 8 -> 6 (.*linear skip from the 14 inputs" hs.bbm.md || bad "the --head-skip card lacks the skip: $(grep architecture hs.bbm.md)"
grep -q "linear skip" m.bbm.md && bad "a card without --head-skip names a skip"
"$bbans" compress -q --method bits-back --model hs.bbm train.idx hs.bbx && "$bbans" decompress -q -c --model hs.bbm hs.bbx | cmp -s - train.idx \
  || bad "the --head-skip model does not round-trip"
"$bbans" train --corpus train.idx --test test.idx -o hs2.bbm --resume hs.bbm.ckpt --epochs 2 -q || bad "resuming a --head-skip run failed"
grep -q "linear skip from the 14 inputs" hs2.bbm.md && grep -q "| training | 2 epochs" hs2.bbm.md || bad "the resumed run lost the head skip"
expect_error "$bbans" train --corpus train.idx --test test.idx -o w.bbm --head-skip --likelihood bernoulli "${tiny[@]}"
[[ "$last_error" == *"--head-skip needs a per-pixel head"* ]] || bad "--head-skip with a Bernoulli likelihood: $last_error"
# --head-per-channel: a tiny RGB tile model (YCoCg-R) with one head per channel; the run and the
# card say so, the model codes an RGB image exactly, and a run resumed without the flag keeps
# the checkpoint's heads. A grey corpus cannot have per-channel heads.
python3 - <<'PY'
import random
rng = random.Random(11)
def ppm(name, rows, cols):
    px = bytes((x * 5 + y * 3 + c * 60 + rng.randrange(8)) % 256 for y in range(rows) for x in range(cols) for c in range(3))
    open(name, "wb").write(b"P6\n%d %d\n255\n" % (cols, rows) + px)
ppm("rgb-train.ppm", 40, 48)
ppm("rgb-test.ppm", 24, 20)
ppm("rgb.ppm", 13, 21)
PY
rgb=(--tile 8x8 --crops 200 --test-crops 20 --colour-transform ycocg-r --head-per-channel)
"$bbans" train --corpus rgb-train.ppm --test rgb-test.ppm -o pc.bbm --epochs 1 "${rgb[@]}" "${tiny[@]}" 2> pc.err \
  || bad "train --head-per-channel failed: $(tail -n 1 pc.err)"
grep -q "per-channel heads" pc.err || bad "the --head-per-channel run does not say so"
grep -q "3 per-channel heads, each 22 -> 8 -> 6 (" pc.bbm.md || bad "the --head-per-channel card lacks the heads: $(grep architecture pc.bbm.md)"
grep -q "per-channel" m.bbm.md && bad "a card without --head-per-channel names per-channel heads"
"$bbans" compress -q --method bits-back --model pc.bbm rgb.ppm pc.bbx && "$bbans" decompress -q -c --model pc.bbm pc.bbx | cmp -s - rgb.ppm \
  || bad "the --head-per-channel model does not round-trip"
"$bbans" train --corpus rgb-train.ppm --test rgb-test.ppm -o pc2.bbm --resume pc.bbm.ckpt --epochs 2 -q \
  --tile 8x8 --crops 200 --test-crops 20 || bad "resuming a --head-per-channel run failed"
grep -q "3 per-channel heads" pc2.bbm.md && grep -q "| training | 2 epochs" pc2.bbm.md || bad "the resumed run lost the per-channel heads"
expect_error "$bbans" train --corpus train.idx --test test.idx -o w.bbm --head-per-channel "${tiny[@]}"
[[ "$last_error" == *"per-channel heads need at least 2 samples per pixel"* ]] || bad "--head-per-channel on a grey corpus: $last_error"
# --planes: a grey tile model trained on the RGB images' YCoCg-R planes; it codes an RGB image
# as planes, and a resume keeps the flag in its printed command. Grey corpora and --planes
# without --tile are refused.
"$bbans" train --corpus rgb-train.ppm --test rgb-test.ppm -o pl.bbm --epochs 1 --tile 8x8 --crops 200 --test-crops 20 --planes "${tiny[@]}" 2> pl.err \
  || bad "train --planes failed: $(tail -n 1 pl.err)"
grep -q "colour images as their YCoCg-R planes" pl.err || bad "the --planes run does not say so"
grep -q "image shape | 8x8 (a tile" pl.bbm.md || bad "the --planes model is not a grey 8x8 tile model: $(grep 'image shape' pl.bbm.md)"
"$bbans" compress -v --method bits-back --model pl.bbm rgb.ppm pl.bbx 2> pl.out && "$bbans" decompress -q -c --model pl.bbm pl.bbx | cmp -s - rgb.ppm \
  || bad "the --planes model does not round-trip an RGB image"
grep -q "coding the 3 channels as planes" pl.out || bad "compress does not say it codes planes: $(cat pl.out)"
expect_error "$bbans" train --corpus train.idx --test test.idx -o w.bbm --tile 8x8 --planes "${tiny[@]}"
[[ "$last_error" == *"--planes needs colour images"* ]] || bad "--planes on a grey corpus: $last_error"
expect_error "$bbans" train --corpus rgb-train.ppm --test rgb-test.ppm -o w.bbm --planes "${tiny[@]}"
[[ "$last_error" == *"--planes needs --tile"* ]] || bad "--planes without --tile: $last_error"
expect_error "$bbans" train --corpus rgb-train.ppm --test rgb-test.ppm -o w.bbm --tile 8x8 --planes --colour-transform ycocg-r "${tiny[@]}"
[[ "$last_error" == *"--planes has its own colour transform"* ]] || bad "--planes with --colour-transform: $last_error"
# --mirror: crops also from the training images mirrored; the run and the card say so; without
# --tile it is refused.
"$bbans" train --corpus rgb-train.ppm --test rgb-test.ppm -o mi.bbm --epochs 1 --tile 8x8 --crops 200 --test-crops 20 --planes --mirror \
  "${tiny[@]}" 2> mi.err || bad "train --mirror failed: $(tail -n 1 mi.err)"
grep -q "training crops of 2 images .*(colour images as their YCoCg-R planes; crops also from each training image mirrored left to right)" mi.err || bad "the --mirror run does not say so: $(head -n 1 mi.err)"
grep -q "crops also from each training image mirrored left to right" mi.bbm.md || bad "the --mirror card does not say so: $(grep 'training corpus' mi.bbm.md)"
# The same model as training, without --mirror, on a folder of the image and its mirror image
# made here (a folder's images are read in name order: the image, then its mirror).
mkdir mirrored && cp rgb-train.ppm mirrored/a.ppm && python3 - <<'PY'
d = open("rgb-train.ppm", "rb").read()
head, px = d[:len(b"P6\n48 40\n255\n")], d[len(b"P6\n48 40\n255\n"):]
assert head == b"P6\n48 40\n255\n"
rows = [px[r * 48 * 3:(r + 1) * 48 * 3] for r in range(40)]
out = b"".join(b"".join(row[c * 3:c * 3 + 3] for c in reversed(range(48))) for row in rows)
open("mirrored/b.ppm", "wb").write(head + out)
PY
"$bbans" train --corpus rgb-train.ppm --test rgb-test.ppm -o mi1.bbm --epochs 1 --tile 8x8 --crops 200 --test-crops 20 --planes --mirror \
  --threads 1 --description same -q "${tiny[@]}" && "$bbans" train --corpus mirrored --test rgb-test.ppm -o mi2.bbm --epochs 1 --tile 8x8 \
  --crops 200 --test-crops 20 --planes --threads 1 --description same -q "${tiny[@]}" || bad "training for the --mirror comparison failed"
cmp -s mi1.bbm mi2.bbm || bad "--mirror does not train on the image's mirror image (the folder with it gives another model)"
cmp -s mi1.bbm pl.bbm && bad "--mirror trained the same model as without it"
expect_error "$bbans" train --corpus rgb-train.ppm --test rgb-test.ppm -o w.bbm --mirror "${tiny[@]}"
[[ "$last_error" == *"--mirror needs --tile"* ]] || bad "--mirror without --tile: $last_error"
expect_error "$bbans" train --corpus train.idx --test test.idx -o w.bbm --validation 1.5 "${tiny[@]}"
expect_error "$bbans" train --corpus train.idx --test test.idx -o w.bbm --patience 3 "${tiny[@]}"
expect_error "$bbans" train --corpus train.idx --test test.idx -o w.bbm --free-bits -1 "${tiny[@]}"
expect_error "$bbans" train --corpus train.idx --test test.idx -o w.bbm --shift 40 "${tiny[@]}"
[ -e w.bbm ] && bad "a refused run wrote a model"
if [ $fails -eq 0 ]; then echo "train cli: all checks passed"; else echo "train cli: $fails checks failed"; exit 1; fi
