#!/usr/bin/env bash
# Cross-build determinism: builds bbans and freq_hash with other compilers and flags,
#   g++     -O3 -march=native -ffp-contract=fast
#   clang++ -O0 -ffp-contract=fast, run with BBANS_PORTABLE_KERNELS=1 (the plain C++ integer
#           kernels of models/packed.cpp instead of AVX2)
# and checks against the build under test that
#   1. every codec frequency for fixed integer parameters is the same (freq_hash),
#   2. every frequency the model codes the images with is the same (freq_hash MODEL IMAGES),
#   3. each build writes byte-identical .bbx files, and each decodes what the others wrote.
# usage: cross_build.sh SOURCE_DIR WORK_DIR THIS_FREQ_HASH THIS_BBANS MODEL IMAGES
set -euo pipefail
src=$1; work=$2; this_hash=$3; this_bbans=$4; model=$5; images=$6
unset BBANS_PORTABLE_KERNELS  # only the build that asks for them runs the portable kernels
mkdir -p "$work"
status=0
fail() { echo "MISMATCH: $*"; status=1; }

# A small IDX file: the first 60 images of the sample (count field patched to 60).
small="$work/images-60.idx"
head -c $((16 + 60 * 28 * 28)) "$images" > "$small"
printf '\x00\x00\x00\x3c' | dd of="$small" bs=1 seek=4 conv=notrunc status=none

codec_want=$("$this_hash")
model_want=$("$this_hash" "$model" "$small" 60)
"$this_bbans" compress -q -f --model "$model" "$small" "$work/this.bbx"
echo "this build:                 $codec_want; $model_want"

build() {  # name cxx flags [VAR=value: environment of the build's runs]
  local name=$1 dir="$work/$1" env=${4:-BBANS_UNUSED=1}
  cmake -S "$src" -B "$dir" -DCMAKE_CXX_COMPILER="$2" -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS="$3" \
        -DBBANS_BUILD_BENCHMARKS=OFF -DBBANS_NATIVE=OFF >"$dir.log" 2>&1 || { echo "$name: configure failed"; tail -5 "$dir.log"; return 1; }
  cmake --build "$dir" --target freq_hash bbans -j2 >>"$dir.log" 2>&1 || { echo "$name: build failed"; tail -20 "$dir.log"; return 1; }
  local fh=(env "$env" "$dir/tests/determinism/freq_hash") bb=(env "$env" "$dir/src/bbans") got_codec got_model
  got_codec=$("${fh[@]}"); got_model=$("${fh[@]}" "$model" "$small" 60)
  printf '%-27s %s; %s\n' "$name:" "$got_codec" "$got_model"
  [ "$got_codec" = "$codec_want" ] || fail "$name computes other codec frequencies than this build"
  [ "$got_model" = "$model_want" ] || fail "$name computes other model frequencies than this build"
  # Files: identical bytes, and decodable across builds in both directions.
  "${bb[@]}" compress -q -f --model "$model" "$small" "$work/$name.bbx" || fail "$name could not compress"
  cmp -s "$work/$name.bbx" "$work/this.bbx" || fail "$name writes a different .bbx file than this build"
  "${bb[@]}" decompress -q -f --model "$model" "$work/this.bbx" "$work/$name.out" && cmp -s "$work/$name.out" "$small" \
    || fail "$name does not decode this build's file"
  "$this_bbans" decompress -q -f --model "$model" "$work/$name.bbx" "$work/$name.back" && cmp -s "$work/$name.back" "$small" \
    || fail "this build does not decode $name's file"
}
build gcc-O3-native-fpcontract g++ "-O3 -march=native -ffp-contract=fast" || status=1
if command -v clang++ >/dev/null; then
  build clang-O0-fpcontract-portable clang++ "-O0 -ffp-contract=fast" BBANS_PORTABLE_KERNELS=1 || status=1
else
  echo "clang++ not found (install Debian's clang)"; status=1
fi
[ $status -eq 0 ] && echo "all builds agree: same frequencies, same files, each decodes the others'"
exit $status
