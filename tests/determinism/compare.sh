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
# A colour model (SHAPE RxCxS in `bbans models`) codes a colour file made of the same bytes:
# the IDX file's samples as a 28-pixel-wide PPM (freq_hash makes its own colour images).
reference() {
  codec_want=$("$this_hash")
  model_want=$("$this_hash" "$model" "$images" "$count")
  file_images=$images
  local name shape
  name=$(basename "$model" .bbm)
  shape=$("$this_bbans" models --model-dir "$(dirname "$model")" | awk -v n="$name" '$1 == n { print $2 }')
  if [[ $shape == *x*x3 ]]; then
    local rows=$(( ($(stat -c %s "$images") - 16) / (28 * 3) ))
    file_images=$work/colour.ppm
    { printf 'P6\n28 %d\n255\n' "$rows"; tail -c +17 "$images" | head -c $((rows * 28 * 3)); } > "$file_images"
  fi
  "$this_bbans" compress -q -f --model "$model" "$file_images" "$work/this.bbx"
  echo "this build:                 $codec_want; $model_want"
}

# compare NAME FREQ_HASH BBANS [VAR=value: the environment of NAME's runs]
compare() {
  local name=$1 env=${4:-BBANS_UNUSED=1}
  local fh=(env "$env" "$2") bb=(env "$env" "$3") got_codec got_model
  got_codec=$("${fh[@]}"); got_model=$("${fh[@]}" "$model" "$images" "$count")
  printf '%-27s %s; %s\n' "$name:" "$got_codec" "$got_model"
  [ "$got_codec" = "$codec_want" ] || fail "$name computes other codec frequencies than this build"
  [ "$got_model" = "$model_want" ] || fail "$name computes other model frequencies than this build"
  # Files: identical bytes, and decodable across builds in both directions.
  "${bb[@]}" compress -q -f --model "$model" "$file_images" "$work/$name.bbx" || fail "$name could not compress"
  cmp -s "$work/$name.bbx" "$work/this.bbx" || fail "$name writes a different .bbx file than this build"
  "${bb[@]}" decompress -q -f --model "$model" "$work/this.bbx" "$work/$name.out" && cmp -s "$work/$name.out" "$file_images" \
    || fail "$name does not decode this build's file"
  "$this_bbans" decompress -q -f --model "$model" "$work/$name.bbx" "$work/$name.back" && cmp -s "$work/$name.back" "$file_images" \
    || fail "this build does not decode $name's file"
}
