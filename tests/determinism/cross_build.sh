#!/usr/bin/env bash
# Builds freq_hash with other compilers and flags and checks that every build prints the same
# frequency hash as the build under test:
#   g++     -O3 -march=native -ffp-contract=fast
#   clang++ -O0 -ffp-contract=fast
# usage: cross_build.sh SOURCE_DIR WORK_DIR FREQ_HASH_OF_THIS_BUILD
set -euo pipefail
src=$1; work=$2; this=$3
want=$("$this")
echo "this build:                 $want"
status=0
build() {  # name cxx flags
  local dir="$work/$1"
  cmake -S "$src" -B "$dir" -DCMAKE_CXX_COMPILER="$2" -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS="$3" \
        -DBBANS_BUILD_BENCHMARKS=OFF -DBBANS_NATIVE=OFF >"$dir.log" 2>&1 || { echo "$1: configure failed"; tail -5 "$dir.log"; return 1; }
  cmake --build "$dir" --target freq_hash -j2 >>"$dir.log" 2>&1 || { echo "$1: build failed"; tail -20 "$dir.log"; return 1; }
  local got
  got=$("$dir/tests/determinism/freq_hash")
  printf '%-27s %s\n' "$1:" "$got"
  [ "$got" = "$want" ] || { echo "MISMATCH: $1 computes other frequencies than this build"; status=1; }
}
mkdir -p "$work"
build gcc-O3-native-fpcontract g++ "-O3 -march=native -ffp-contract=fast" || status=1
if command -v clang++ >/dev/null; then
  build clang-O0-fpcontract clang++ "-O0 -ffp-contract=fast" || status=1
else
  echo "clang++ not found (install Debian's clang)"; status=1
fi
[ $status -eq 0 ] && echo "all builds agree"
exit $status
