#!/usr/bin/env bash
# The coding path on a CPU without AVX2, within the build under test. models/packed.cpp carries
# an AVX2 kernel (compiled with a target attribute) and a portable C++ one, and
# PackedLinear::has_avx2() picks AVX2 at run time when the CPU has it, unless
# BBANS_PORTABLE_KERNELS=1 is set; with it, every run below takes the path a CPU without AVX2
# takes. (avx_only_in_kernels.sh checks that nothing else in a default build needs AVX.)
#   1. the dispatch: the packed kernel tests say that AVX2 is tested exactly when the CPU has it
#      and BBANS_PORTABLE_KERNELS=1 is not set;
#   2. the coding tests (bits-back coding, quantized and packed networks) pass with the portable
#      kernels;
#   3. for every shipped model: the same frequencies (on the first 200 images) and
#      byte-identical .bbx files (of all 1000 bundled MNIST test images) with both kernels, each
#      decoding the other's (compare.sh);
#   4. with the portable kernels, the golden files decode or fail as frozen (tests/golden) and
#      the fuzz corpus keeps the decompression invariants (tests/fuzz).
# usage: portable_kernels.sh SOURCE_DIR WORK_DIR FREQ_HASH BBANS CODING_TESTS FUZZ_REPLAY IMAGES
set -euo pipefail
src=$1; work=$2; this_hash=$3; this_bbans=$4; coding_tests=$5; fuzz_replay=$6; images=$7; count=200  # freq_hash: the first 200 images; the files: all
unset BBANS_PORTABLE_KERNELS
mkdir -p "$work"
status=0
source "$(dirname "$0")/compare.sh"
portable=BBANS_PORTABLE_KERNELS=1

# 1. The dispatch (the packed tests warn when only the portable kernel is tested).
warning="no AVX2 here"
with_avx2=$("$coding_tests" "[packed]" 2>&1) || fail "packed kernel tests fail"
without=$(env "$portable" "$coding_tests" "[packed]" 2>&1) || fail "packed kernel tests fail with $portable"
if grep -qw avx2 /proc/cpuinfo 2>/dev/null; then
  [[ "$with_avx2" != *"$warning"* ]] || fail "the CPU has AVX2 but the AVX2 kernel is not chosen"
  echo "dispatch: this CPU has AVX2, and the AVX2 kernel is chosen unless $portable"
else
  echo "dispatch: this CPU has no AVX2: the comparisons below run the portable kernel twice"
fi
[[ "$without" == *"$warning"* ]] || fail "$portable does not select the portable kernel"

# 2. The coding tests.
env "$portable" "$coding_tests" > "$work/coding_tests.log" 2>&1 || { tail -30 "$work/coding_tests.log"; fail "coding tests fail with the portable kernels"; }

# 3. Frequencies and files, per shipped model.
base=$work
for model in "$src"/models/shipped/*.bbm; do
  work="$base/$(basename "$model" .bbm)"
  mkdir -p "$work"
  echo "model $(basename "$model"):"
  reference
  compare portable-kernels "$this_hash" "$this_bbans" "$portable"
done
work=$base

# 4. Golden files and fuzz corpus.
env "$portable" bash "$src/tests/golden/check.sh" "$this_bbans" "$src/tests/golden" || fail "golden files, portable kernels"
env "$portable" "$fuzz_replay" --min-files 50 "$src/tests/fuzz/corpus" "$src/tests/golden" > "$work/replay.log" 2>&1 \
  || { tail -5 "$work/replay.log"; fail "fuzz corpus replay, portable kernels"; }
tail -1 "$work/replay.log"

[ $status -eq 0 ] && echo "the portable kernels decode and write the same bytes as this build's AVX2 kernels"
exit $status
