#!/usr/bin/env bash
# A default build runs on any x86-64 CPU: its binaries hold AVX instructions (VEX or EVEX
# encoded: any ymm/zmm register or v-prefixed mnemonic) only in the AVX2 kernels of
# models/packed.cpp, which are compiled with __attribute__((target("avx2"))) and called only
# when the CPU has AVX2 (PackedLinear::has_avx2). Those kernels must be there too: without them
# the build would have lost its fast path. CTest registers this only for builds without
# -march/-mavx flags and with BBANS_NATIVE=OFF.
# usage: avx_only_in_kernels.sh BINARY...
set -euo pipefail
kernels='^(bbans::models::PackedLinear::accumulate_avx2|void bbans::models::\(anonymous namespace\)::((dense_)?block|hidden_rows|output_rows)<[0-9, ]+>|bbans::models::\(anonymous namespace\)::requantize8)\('
status=0
for bin in "$@"; do
  # function name <TAB> number of AVX instructions in it, for every function that has any
  found=$(objdump -d -C --no-show-raw-insn "$bin" | awk '
    /^[0-9a-f]+ <.*>:$/ { fn = substr($0, index($0, "<") + 1); sub(/>:$/, "", fn); next }
    /:\tv[a-z]|%[yz]mm/ { n[fn]++ }
    END { for (f in n) printf "%s\t%d\n", f, n[f] }')
  outside=$(printf '%s\n' "$found" | grep -v '^$' | grep -Ev "$kernels" || true)
  inside=$(printf '%s\n' "$found" | grep -Ec "$kernels" || true)
  if [ -n "$outside" ]; then
    echo "FAIL: $(basename "$bin"): AVX instructions outside the dispatched kernels:"
    head -20 <<<"$outside"
    status=1
  fi
  # A here-string, not a pipe: under pipefail, grep -q quitting at its first match can kill a
  # printf still writing (bash writes line by line) and turn a found kernel into a failure.
  if ! grep -Eq '^bbans::models::PackedLinear::accumulate_avx2\(' <<<"$found"; then
    echo "FAIL: $(basename "$bin"): no AVX2 kernel (PackedLinear::accumulate_avx2) found"
    status=1
  fi
  [ $status -ne 0 ] || echo "$(basename "$bin"): AVX only in the $inside dispatched kernel functions"
done
exit $status
