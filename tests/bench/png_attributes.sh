#!/usr/bin/env bash
# The saving of packed PNG attributes (docs/format.md, version 2) on a folder of PNGs: each
# file compressed with --method xz (so only the attributes field differs) by two bbans builds,
# OLD (attributes always version 1) and NEW, and the archive sizes compared. 16-bit PNGs are
# kept as opaque bytes (no attributes) and show no difference.
# Every NEW archive is decompressed and checked with PNG_CHECK (tests/png/png_check same).
# usage: png_attributes.sh OLD_BBANS NEW_BBANS PNG_CHECK DIR
set -euo pipefail
old=$1; new=$2; check=$3; dir=$4
work=$(mktemp -d "${TMPDIR:-/tmp}/bbans-attr.XXXXXX")
trap 'rm -rf "$work"' EXIT
total_old=0; total_new=0; n=0; changed=0
while IFS= read -r f; do
  "$old" compress -q -f --method xz "$f" "$work/o.bbx"
  "$new" compress -q -f --method xz "$f" "$work/n.bbx"
  "$new" decompress -q -f "$work/n.bbx" "$work/back.png"
  cmp -s "$f" "$work/back.png" || "$check" same "$f" "$work/back.png" >/dev/null || { echo "png_attributes: $f does not come back pixel-exact"; exit 1; }
  o=$(stat -c %s "$work/o.bbx"); w=$(stat -c %s "$work/n.bbx")
  total_old=$((total_old + o)); total_new=$((total_new + w)); n=$((n + 1))
  [ "$o" = "$w" ] || { changed=$((changed + 1)); printf '%8d -> %8d  (-%d)  %s\n' "$o" "$w" $((o - w)) "${f#"$dir"/}"; }
done < <(find "$dir" -name '*.png' | sort)
echo "png_attributes: $n PNGs, $changed smaller; archives $total_old -> $total_new bytes (-$((total_old - total_new)))"
