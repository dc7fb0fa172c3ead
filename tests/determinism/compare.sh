# Sourced by cross_build.sh and portable_kernels.sh: runs another build of freq_hash and bbans
# (or the same one with another environment) on a model and images, and checks against the
# build under test that
#   1. every codec frequency for fixed integer parameters is the same (freq_hash),
#   2. every frequency the model codes the images with is the same (freq_hash MODEL IMAGES N),
#   3. both write byte-identical .bbx files, and each decodes what the other wrote.
# The caller sets model, images, count (of images), this_hash and this_bbans (the build under
# test), work (a scratch directory) and status=0; compare() sets status=1 on a mismatch.
# reference() sets file_images, the file the models compress.

fail() { echo "MISMATCH: $*"; status=1; }

# reference: what the build under test computes and writes (run once, before compare).
# The files the model compresses (file_images): a grey model codes the IDX file, and the same
# bytes as a 28-pixel-wide colour PPM, which it codes as YCoCg-R planes (forced bits-back); a
# colour model (SHAPE RxCxS in `bbans models`) codes the PPM (freq_hash makes its own colour
# images).
reference() {
  codec_want=$("$this_hash")
  model_want=$("$this_hash" "$model" "$images" "$count")
  local name shape rows
  name=$(basename "$model" .bbm)
  shape=$("$this_bbans" models --model-dir "$(dirname "$model")" | awk -v n="$name" '$1 == n { print $2 }')
  rows=$(( ($(stat -c %s "$images") - 16) / (28 * 3) ))
  { printf 'P6\n28 %d\n255\n' "$rows"; tail -c +17 "$images" | head -c $((rows * 28 * 3)); } > "$work/colour.ppm"
  file_images=("$images" "$work/colour.ppm")
  [[ $shape == *x*x3 ]] && file_images=("$work/colour.ppm")
  local i
  for i in "${!file_images[@]}"; do
    "$this_bbans" compress -q -f --method bits-back --model "$model" "${file_images[$i]}" "$work/this-$i.bbx"
  done
  echo "this build:                 $codec_want; $model_want"
}

# compare NAME FREQ_HASH BBANS [VAR=value: the environment of NAME's runs]
compare() {
  local name=$1 env=${4:-BBANS_UNUSED=1}
  local fh=(env "$env" "$2") bb=(env "$env" "$3") got_codec got_model i f
  got_codec=$("${fh[@]}"); got_model=$("${fh[@]}" "$model" "$images" "$count")
  printf '%-27s %s; %s\n' "$name:" "$got_codec" "$got_model"
  [ "$got_codec" = "$codec_want" ] || fail "$name computes other codec frequencies than this build"
  [ "$got_model" = "$model_want" ] || fail "$name computes other model frequencies than this build"
  # Files: identical bytes, and decodable across builds in both directions.
  for i in "${!file_images[@]}"; do
    f=${file_images[$i]}
    "${bb[@]}" compress -q -f --method bits-back --model "$model" "$f" "$work/$name-$i.bbx" || fail "$name could not compress $f"
    cmp -s "$work/$name-$i.bbx" "$work/this-$i.bbx" || fail "$name writes a different .bbx file than this build for $f"
    "${bb[@]}" decompress -q -f --model "$model" "$work/this-$i.bbx" "$work/$name-$i.out" && cmp -s "$work/$name-$i.out" "$f" \
      || fail "$name does not decode this build's file of $f"
    "$this_bbans" decompress -q -f --model "$model" "$work/$name-$i.bbx" "$work/$name-$i.back" && cmp -s "$work/$name-$i.back" "$f" \
      || fail "this build does not decode $name's file of $f"
  done
}
