#!/usr/bin/env bash
# cmake --install into a temporary prefix: the installed binary finds the installed models (not
# the source tree's) with BBANS_MODEL_DIR unset, also after the tree is moved, and the manual
# page renders without warnings.
# usage: install_cli.sh CMAKE BUILD_DIR SAMPLES_DIR
set -u
cli_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cmake=$1; build=$(realpath "$2"); samples=$(realpath "$3")
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT; work=$(realpath "$work"); cd "$work"
unset BBANS_MODEL_DIR
source "$cli_dir/lib.sh"
row() { printf '%s\n' "$1" | awk -v n="$2" '$1 == n'; }

prefix="$work/prefix"
"$cmake" --install "$build" --prefix "$prefix" > install.log 2>&1 || { cat install.log; echo "FAIL: cmake --install"; exit 1; }
[ -x "$prefix/bin/bbans" ] || bad "bin/bbans not installed"
for f in mnist.bbm mnist.bbm.md fashion-mnist.bbm fashion-mnist.bbm.md; do
  [ -s "$prefix/share/bbans/models/$f" ] || bad "share/bbans/models/$f not installed"
done
page="$prefix/share/man/man1/bbans.1"
[ -s "$page" ] || bad "share/man/man1/bbans.1 not installed"

# The installed binary lists the installed models, from the installed directory.
check_models() {  # PREFIX
  local out; out=$("$1/bin/bbans" models 2> err.txt) || bad "$1/bin/bbans models failed: $(cat err.txt)"
  [ -s err.txt ] && bad "$1/bin/bbans models warned: $(cat err.txt)"
  for name in mnist fashion-mnist; do
    [[ "$(row "$out" $name)" == *" $1/share/bbans/models/$name.bbm" ]] || bad "$name not listed from $1/share/bbans/models: $out"
  done
}
check_models "$prefix"
# A round trip with the installed binary and models.
head -c $((16 + 10 * 784)) "$samples/mnist-test-1000-images-idx3-ubyte" > d.idx
printf '\x00\x00\x00\x0a' | dd of=d.idx bs=1 seek=4 conv=notrunc status=none
"$prefix/bin/bbans" compress -q d.idx && "$prefix/bin/bbans" decompress -q d.idx.bbx d.out && cmp -s d.idx d.out \
  || bad "round trip with the installed binary"
"$prefix/bin/bbans" info d.idx.bbx | grep -Eq "\(shipped model mnist(-v1)?\)" || bad "info with the installed binary does not name the MNIST model"
# The tree is relocatable: moved elsewhere, it finds its models where it now is.
mv "$prefix" "$work/moved"
check_models "$work/moved"
page="$work/moved/share/man/man1/bbans.1"

# The manual page renders without warnings.
if command -v groff > /dev/null; then
  warnings=$(groff -man -Tutf8 -ww -z "$page" 2>&1)
  [ -z "$warnings" ] || bad "groff warns about bbans.1: $warnings"
  groff -man -Tutf8 "$page" 2>/dev/null | grep -q "BBANS_MODEL_DIR" || bad "bbans.1 does not render the environment"
elif command -v man > /dev/null; then
  warnings=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 > /dev/null)
  [ -z "$warnings" ] || bad "man warns about bbans.1: $warnings"
else
  echo "install cli: neither groff nor man is installed: the manual page was not rendered"
fi

if [ $fails -eq 0 ]; then echo "install cli: all checks passed"; else echo "install cli: $fails checks failed"; exit 1; fi
