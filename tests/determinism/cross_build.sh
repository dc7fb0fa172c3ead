#!/usr/bin/env bash
# Cross-build determinism: builds bbans and freq_hash with other compilers and flags,
#   g++     -O3 -march=native -ffp-contract=fast
#   clang++ -O0 -ffp-contract=fast, run with BBANS_PORTABLE_KERNELS=1 (the plain C++ integer
#           kernels of models/packed.cpp instead of AVX2)
# and checks against the build under test that
#   1. every codec frequency for fixed integer parameters is the same (freq_hash),
#   2. every frequency the model codes the images with is the same (freq_hash MODEL IMAGES),
#   3. each build writes byte-identical .bbx files, and each decodes what the others wrote
# (compare.sh). portable_kernels.sh makes the same comparison within the build under test,
# between its AVX2 and portable kernels, in seconds; this test takes minutes (CTest label slow).
# usage: cross_build.sh SOURCE_DIR WORK_DIR THIS_FREQ_HASH THIS_BBANS MODEL[:MODEL...] IMAGES
# (each model is compared in turn: a 28x28 one, grey tile models (one with a head skip), a colour tile model)
# The builds use 2 jobs, or CMAKE_BUILD_PARALLEL_LEVEL from the environment.
set -euo pipefail
src=$1; work=$2; this_hash=$3; this_bbans=$4; IFS=: read -r -a models <<< "$5"
unset BBANS_PORTABLE_KERNELS  # only the build that asks for them runs the portable kernels
mkdir -p "$work"
status=0
source "$(dirname "$0")/compare.sh"

# A small IDX file: the first 60 images of the sample (count field patched to 60).
images="$work/images-60.idx"; count=60
head -c $((16 + 60 * 28 * 28)) "$6" > "$images"
printf '\x00\x00\x00\x3c' | dd of="$images" bs=1 seek=4 conv=notrunc status=none

build() {  # name cxx flags
  local name=$1 dir="$work/$1"
  cmake -S "$src" -B "$dir" -DCMAKE_CXX_COMPILER="$2" -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS="$3" \
        -DBBANS_BUILD_BENCHMARKS=OFF -DBBANS_NATIVE=OFF >"$dir.log" 2>&1 || { echo "$name: configure failed"; tail -5 "$dir.log"; return 1; }
  cmake --build "$dir" --target freq_hash bbans -j"${CMAKE_BUILD_PARALLEL_LEVEL:-2}" >>"$dir.log" 2>&1 || { echo "$name: build failed"; tail -20 "$dir.log"; return 1; }
}
builds=()  # name|environment of its runs
build gcc-O3-native-fpcontract g++ "-O3 -march=native -ffp-contract=fast" && builds+=("gcc-O3-native-fpcontract|") || status=1
if command -v clang++ >/dev/null; then
  build clang-O0-fpcontract-portable clang++ "-O0 -ffp-contract=fast" && builds+=("clang-O0-fpcontract-portable|BBANS_PORTABLE_KERNELS=1") || status=1
else
  echo "clang++ not found (install Debian's clang)"; status=1
fi
base=$work
for model in "${models[@]}"; do
  work="$base/$(basename "$model" .bbm)"
  mkdir -p "$work"
  echo "model $(basename "$model"):"
  reference
  for b in "${builds[@]}"; do
    name=${b%%|*}; env=${b#*|}
    compare "$name" "$base/$name/tests/determinism/freq_hash" "$base/$name/src/bbans" "$env"
  done
done
work=$base
[ $status -eq 0 ] && echo "all builds agree: same frequencies, same files, each decodes the others'"
exit $status
