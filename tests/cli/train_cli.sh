#!/usr/bin/env bash
# bbans train as a user runs it, on a tiny architecture and a few images: it writes a model and
# its card, refuses bad input with one line and writes nothing, and resumes from a checkpoint.
# usage: train_cli.sh BBANS SAMPLES_DIR
set -u
bbans=$(realpath "$1"); samples=$(realpath "$2")
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT; cd "$work"
fails=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
expect_error() {  # CMD...: non-zero exit, one line "bbans: ..."
  local err rc; err=$("$@" 2>&1 >/dev/null); rc=$?
  [ $rc -ne 0 ] || { bad "expected failure: $*"; return; }
  [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] && [[ "$err" == "bbans: "* ]] || bad "expected one error line from: $* (got: $err)"
}
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

# Resume: one more epoch from the checkpoint.
"$bbans" train --corpus train.idx --test test.idx -o m2.bbm --resume m.bbm.ckpt --epochs 2 -q || bad "resume failed"
grep -q "| training | 2 epochs" m2.bbm.md || bad "resumed run did not reach 2 epochs: $(grep training m2.bbm.md)"
# Resuming on other images is refused.
expect_error "$bbans" train --corpus test.idx --test train.idx -o m3.bbm --resume m.bbm.ckpt --epochs 3 -q

if [ $fails -eq 0 ]; then echo "train cli: all checks passed"; else echo "train cli: $fails checks failed"; exit 1; fi
