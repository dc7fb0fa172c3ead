#!/usr/bin/env bash
# bbans --version prints the version and exits 0; --help lists usage; an unknown option fails.
set -u
bbans=$1
out=$("$bbans" --version) || { echo "--version failed"; exit 1; }
[[ "$out" =~ ^bbans\ [0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "unexpected --version output: $out"; exit 1; }
"$bbans" --help | grep -q "bits-back" || { echo "--help does not describe bbans"; exit 1; }
if "$bbans" --no-such-option >/dev/null 2>&1; then echo "unknown option accepted"; exit 1; fi
echo ok
