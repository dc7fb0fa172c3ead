#!/usr/bin/env bash
# The bundled samples must match the SHA-256 sums recorded in corpora/SHA256SUMS.
# usage: check_samples.sh <corpora dir>
set -euo pipefail
cd "$1"
lines=$(grep -E '  samples/' SHA256SUMS)
[[ $(wc -l <<<"$lines") -eq 2 ]] || { echo "expected 2 sample entries in SHA256SUMS" >&2; exit 1; }
sha256sum --check --strict <<<"$lines"
