#!/usr/bin/env bash
# Held-out photo baselines (issue 10, "Targets"): prints figures, it is not a test.
#
#   tests/bench/photo_baselines.sh [BBANS]      (or BBANS=path/to/bbans in the environment)
#   tests/bench/photo_baselines.sh --sums       print the SHA-256 lines of the decoded inputs
#
# The held-out set is the 8-bit photos of Debian's libjxl-testdata (never train or tune on it):
#   RGB (20): jxl/flower/flower.png, external/wesaturate/500px/*_srgb8.png,
#             external/wesaturate/64px/*_srgb8.png, external/raw.pixls/*_srgb8*.png
#   grey (22): the luma of those 20 as ImageMagick `-colorspace Gray` makes it, plus
#             jxl/flower/flower.pgm and external/wesaturate/500px/*_grayscale.png
# Every image is first decoded to its pixels (PPM/PGM, 8-bit, no metadata: ICC profiles, Exif and
# text chunks are dropped), and every baseline compresses those pixels: zstd -19 and xz -9e the
# PPM/PGM file, optipng -o2 a PNG it makes from the PPM/PGM, cwebp -lossless -z 9 and
# cjxl -d 0 -e 7 / -e 9 the PPM/PGM. All on one core (taskset -c 0 and each tool's one-thread
# setting). Aggregate rate = all output bits / all samples (pixels x channels) of the set.
# With a bbans binary, `bbans compress -T 1` is run twice per image, decompressed, and the pixels
# compared: "bbans" on the PPM/PGM pixels the baselines get (the like-for-like figure), and
# "bbans file" on each file as the set defines it (the original PNG, whose ICC profiles, Exif
# and text chunks bbans keeps, or the PGM).
# The decoded inputs are checked against the SHA-256 sums at the end of this file.
set -euo pipefail

want_sums=0
[[ ${1:-} != --sums ]] || { want_sums=1; shift; }
bbans=${1:-${BBANS:-}}
[[ -z "$bbans" ]] || bbans=$(realpath "$bbans")
data=/usr/share/libjxl-testdata

say() { echo "photo_baselines: $*" >&2; }
die() { echo "photo_baselines: ERROR: $*" >&2; exit 1; }

# Debian packages, installed with apt-get (as root) when missing.
need() {  # need <command or path> <package>
  if [[ $1 == /* ]]; then [[ -e $1 ]] && return 0; else command -v "$1" >/dev/null 2>&1 && return 0; fi
  [[ $(id -u) -eq 0 ]] || die "$1 is missing: install the Debian package $2"
  say "installing $2 with apt-get"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null 2>&1 ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null; } ||
    die "apt-get install $2 failed"
}
need "$data/jxl/flower/flower.png" libjxl-testdata
need zstd zstd; need xz xz-utils; need optipng optipng; need cwebp webp
need cjxl libjxl-tools; need convert imagemagick; need taskset util-linux
need python3 python3; need /usr/bin/time time

work=$(mktemp -d "${TMPDIR:-/tmp}/photo-baselines.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work"/{in,out,back}

# The sets, in a fixed order; names are unique (the 500px and 64px folders share file names).
name_of() {  # a source path -> a short unique name
  local p=${1#"$data"/}
  p=${p#external/}; p=${p#wesaturate/}; p=${p#jxl/flower/}
  p=${p//\//-}; echo "${p%.*}"
}
rgb_src=("$data/jxl/flower/flower.png")
shopt -s nullglob
rgb_src+=("$data"/external/wesaturate/500px/*_srgb8.png)
rgb_src+=("$data"/external/wesaturate/64px/*_srgb8.png)
rgb_src+=("$data"/external/raw.pixls/*_srgb8*.png)
extra_grey=("$data/jxl/flower/flower.pgm" "$data"/external/wesaturate/500px/*_grayscale.png)
shopt -u nullglob
[[ ${#rgb_src[@]} -eq 20 ]] || say "WARNING: the RGB set has ${#rgb_src[@]} images, the issue says 20"
[[ $((${#rgb_src[@]} + ${#extra_grey[@]})) -eq 22 ]] ||
  say "WARNING: the grey set has $((${#rgb_src[@]} + ${#extra_grey[@]})) images, the issue says 22"

# Decode: rgb/NAME.ppm (the PNG's pixels), grey/NAME.pgm (their luma, ImageMagick -colorspace Gray,
# which is round(0.212656 R + 0.715158 G + 0.072186 B) of the 8-bit values, see corpora/README.md).
# orig_* is the file bbans is given.
rgb_names=() grey_names=()
declare -A orig
for src in "${rgb_src[@]}"; do
  n=$(name_of "$src")
  convert "$src" -depth 8 "ppm:$work/in/$n.ppm"
  convert "$work/in/$n.ppm" -colorspace Gray -depth 8 "pgm:$work/in/$n-luma.pgm"
  rgb_names+=("$n.ppm"); grey_names+=("$n-luma.pgm")
  orig[$n.ppm]=$src; orig[$n-luma.pgm]=$work/in/$n-luma.pgm
done
for src in "${extra_grey[@]}"; do
  n=$(name_of "$src")
  convert "$src" -depth 8 "pgm:$work/in/$n.pgm"
  grey_names+=("$n.pgm"); orig[$n.pgm]=$src
done
say "RGB set: ${#rgb_names[@]} images; grey set: ${#grey_names[@]} images"

if [[ $want_sums -eq 1 ]]; then
  (cd "$work/in" && sha256sum "${rgb_names[@]}" "${grey_names[@]}" | sed 's/^/#   /')
  exit 0
fi

# The decoded inputs must be the recorded ones (a changed package or decoder is reported).
sed -n '/^# SHA-256 of the decoded inputs/,$p' "${BASH_SOURCE[0]}" | sed -n 's/^#   //p' >"$work/sums"
if (cd "$work/in" && sha256sum --quiet --strict -c "$work/sums" >"$work/sums.log" 2>&1) &&
   [[ $(wc -l <"$work/sums") -eq $((${#rgb_names[@]} + ${#grey_names[@]})) ]]; then
  say "decoded inputs: SHA-256 of all $(wc -l <"$work/sums") as recorded"
else
  say "WARNING: decoded inputs differ from the recorded SHA-256:"; grep -v ': OK$' "$work/sums.log" >&2 || true
fi

# core <command...>: run on CPU 0 and leave "wall-seconds cpu-seconds" (CPU = user + system, of the
# command and its children; on a busy shared machine it is the steadier figure) in $work/t.
core() {
  /usr/bin/time -f '%e %U %S' -o "$work/t.raw" taskset -c 0 "$@"
  awk '{ printf "%.2f %.2f\n", $1, $2 + $3 }' "$work/t.raw" >"$work/t"
}
add_times() {  # add_times "w c" "w c" -> "w c"
  awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " "); printf "%.2f %.2f\n", x[1] + y[1], x[2] + y[2] }'
}

# run_method <method> <input> <output>: compress on one core.
run_method() {
  case $1 in
    zstd) core zstd -19 -T1 -q -f "$2" -o "$3" ;;
    xz) core xz -9e -T1 -c "$2" >"$3" ;;
    optipng) rm -f "$3"; core optipng -o2 -quiet -out "$3" "$2" ;;
    webp) core cwebp -lossless -z 9 -quiet "$2" -o "$3" ;;
    jxl7) core cjxl "$2" "$3" -d 0 -e 7 --num_threads=0 --quiet 2>/dev/null ;;
    jxl9) core cjxl "$2" "$3" -d 0 -e 9 --num_threads=0 --quiet 2>/dev/null ;;
  esac
}
methods=(zstd xz optipng webp jxl7 jxl9)

samples_of() {  # samples (pixels x channels) of a PPM/PGM
  python3 -c '
import sys
d = open(sys.argv[1], "rb").read(64).split()
print(int(d[1]) * int(d[2]) * (3 if d[0] == b"P6" else 1))' "$1"
}

# measure <set name> <files...>: one table row per method, per-image rates kept in $work/per.
measure() {
  local set=$1; shift
  local f m bytes total_samples=0 s
  declare -A bytes_sum=() time_sum=()
  : >"$work/per.$set"
  for f in "$@"; do
    s=$(samples_of "$work/in/$f"); total_samples=$((total_samples + s))
    local line="$f $s"
    for m in "${methods[@]}"; do
      run_method "$m" "$work/in/$f" "$work/out/$f.$m"
      bytes=$(stat -c %s "$work/out/$f.$m")
      bytes_sum[$m]=$((${bytes_sum[$m]:-0} + bytes))
      time_sum[$m]=$(add_times "${time_sum[$m]:-0 0}" "$(cat "$work/t")")
      line+=" $m:$bytes:$(tr ' ' : <"$work/t")"
    done
    echo "$line" >>"$work/per.$set"
  done
  {
    echo "set $set $# $total_samples"
    for m in "${methods[@]}"; do echo "$m ${bytes_sum[$m]} ${time_sum[$m]}"; done
  } >"$work/agg.$set"
}

# bbans on each file as the set defines it: compress, decompress, compare pixels.
measure_bbans() {
  local set=$1 what=$2; shift 2
  local f src ext bytes ok exact=yes bsum=0 ctime="0 0" dtime="0 0"
  for f in "$@"; do
    if [[ $what == bbans ]]; then src=$work/in/$f; else src=${orig[$f]}; fi
    ext=${src##*.}
    cp "$src" "$work/back/in.$ext"
    rm -f "$work/back/in.$ext.bbx" "$work/back/out.$ext"
    core "$bbans" compress -q -T 1 "$work/back/in.$ext" "$work/back/in.$ext.bbx"
    ctime=$(add_times "$ctime" "$(cat "$work/t")")
    core "$bbans" decompress -q -T 1 "$work/back/in.$ext.bbx" "$work/back/out.$ext"
    dtime=$(add_times "$dtime" "$(cat "$work/t")")
    bytes=$(stat -c %s "$work/back/in.$ext.bbx"); bsum=$((bsum + bytes))
    # Pixel comparison through ImageMagick's decoder (for PGM it is also a byte comparison).
    if convert "$work/back/out.$ext" -depth 8 "ppm:$work/back/a.ppm" &&
       convert "$src" -depth 8 "ppm:$work/back/b.ppm" && cmp -s "$work/back/a.ppm" "$work/back/b.ppm"; then
      ok=yes; cmp -s "$src" "$work/back/out.$ext" && ok="yes (bytes too)"
    else
      ok=NO; exact=no
    fi
    echo "$f $(stat -c %s "$src") $bytes $ok" >>"$work/$what.$set"
  done
  echo "$what $bsum $ctime $dtime $exact" >>"$work/agg.$set"  # bytes, wall cpu, wall cpu
}

say "measuring (one core; this takes minutes)"
measure rgb "${rgb_names[@]}"
measure grey "${grey_names[@]}"
if [[ -n "$bbans" ]]; then
  for what in bbans bbans-file; do
    : >"$work/$what.rgb"; : >"$work/$what.grey"
    measure_bbans rgb $what "${rgb_names[@]}"
    measure_bbans grey $what "${grey_names[@]}"
  done
fi

python3 - "$work" "$(nproc)" "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')" \
  "$(cjxl --version 2>/dev/null | head -1 | tr -s ' ')" "$(cwebp -version 2>/dev/null | head -1)" \
  "$(zstd --version | head -1)" "$(xz --version | head -1)" "$(optipng --version | head -1)" \
  "${bbans:+$("$bbans" --version 2>/dev/null | head -1)}" <<'PY'
import sys, os, datetime
work, ncpu, cpu, *versions = sys.argv[1:]
label = {"zstd": "zstd -19", "xz": "xz -9e", "optipng": "optipng -o2", "webp": "WebP -z 9",
         "jxl7": "JXL -e 7", "jxl9": "JXL -e 9", "bbans": "bbans", "bbans-file": "bbans file"}
ref = {"grey": dict(zstd=4.556, xz=3.757, optipng=3.548, webp=3.109, jxl7=2.788, jxl9=2.776),
       "rgb": dict(zstd=5.374, xz=4.745, optipng=3.353, webp=2.509, jxl7=2.090, jxl9=2.064)}
print(f"photo_baselines: {datetime.date.today()}, {cpu}, {ncpu} cores visible, one used")
print("  tools: " + "; ".join(v for v in versions if v))
for s in ("grey", "rgb"):
    lines = open(f"{work}/agg.{s}").read().split("\n")
    _, _, n, samples = lines[0].split()
    samples = int(samples)
    print(f"\n{s}: {n} images, {samples} samples")
    print(f"  {'method':<12} {'bytes':>10} {'bits/sample':>11} {'issue':>6} {'wall s':>8} {'CPU s':>8}")
    for row in lines[1:]:
        if not row:
            continue
        f = row.split()
        m, b = f[0], int(f[1])
        r = ref[s].get(m)
        extra = (f"  (compress; decompress {float(f[4]):.2f} s wall, {float(f[5]):.2f} s CPU;"
                 f" exact round trip: {f[6]})") if m.startswith("bbans") else ""
        print(f"  {label[m]:<12} {b:>10} {8 * b / samples:>11.3f} {r if r else '':>6}"
              f" {float(f[2]):>8.2f} {float(f[3]):>8.2f}{extra}")
    print(f"  per image, bits/sample (samples = pixels x channels):")
    print(f"  {'image':<48} {'samples':>8}" + "".join(f" {label[m]:>11}" for m in
          ("zstd", "xz", "optipng", "webp", "jxl7", "jxl9")))
    for row in open(f"{work}/per.{s}"):
        f = row.split()
        name, smp = f[0], int(f[1])
        rates = {x.split(":")[0]: int(x.split(":")[1]) for x in f[2:]}
        print(f"  {name:<48} {smp:>8}" + "".join(f" {8 * rates[m] / smp:>11.3f}" for m in
              ("zstd", "xz", "optipng", "webp", "jxl7", "jxl9")))
    for what, text in (("bbans", "the PPM/PGM pixels, as the baselines"),
                       ("bbans-file", "the file as the set defines it, with any PNG metadata")):
        if not os.path.exists(f"{work}/{what}.{s}"):
            continue
        smp = {row.split()[0]: int(row.split()[1]) for row in open(f"{work}/per.{s}")}
        print(f"  {label[what]} per file ({text}): input bytes, output bytes, bits/sample, exact")
        for row in open(f"{work}/{what}.{s}"):
            name, ib, b, ok = row.rstrip("\n").split(" ", 3)
            print(f"    {name:<48} {ib:>9} {b:>9} {8 * int(b) / smp[name]:>7.3f}  {ok}")
# cjxl -e 7 speed on flower.png (RGB), from its timed run above.
for row in open(f"{work}/per.rgb"):
    f = row.split()
    if f[0] == "flower.ppm":
        _, _, wall, cpu = [x for x in f[2:] if x.startswith("jxl7:")][0].split(":")
        px = int(f[1]) // 3
        print(f"\ncjxl -d 0 -e 7 on flower ({px} pixels), one core: {float(wall):.2f} s wall ="
              f" {px / 1e6 / float(wall):.2f} MP/s; {float(cpu):.2f} s CPU = {px / 1e6 / float(cpu):.2f} MP/s")
PY

# SHA-256 of the decoded inputs (Debian 12: libjxl-testdata 0.0~git20230110.d6168ff-1, ImageMagick
# 6.9.11-60 Q16); `photo_baselines.sh --sums` prints these lines.
#   b134697d49b86668c188f8fb1dfd68f05f8d1a7bae7039f1fc60743b9ed4003f  flower.ppm
#   f66e5348f4436c69aa7a216b477012564487edc41f94bca481f3e77b55460a06  500px-cvo9xd_keong_macan_srgb8.ppm
#   721626907fab98b2efbd1632e260ed1baee38ceb788951782861c77f4b7c4199  500px-tmshre_riaphotographs_srgb8.ppm
#   f6d5fa1946b72dff75492b1583fbede4376acda3b8b894da76dc30e0d5d4139e  500px-u76c0g_bliznaca_srgb8.ppm
#   742cc650a7cadf9d5aec8c459690c9331186d94157f33481da6a06885f5b9a81  64px-Nikon-D3-14bit_srgb8.ppm
#   59a8037370134a4baa22563532c0eb3b8e3413fe87f1e6065e42600cb09b17a4  64px-a2d1un_nkitzmiller_srgb8.ppm
#   eb4bf083fe00fc300ec66549331c54fc667dadf56405ff6c290ddc5f465199c0  64px-cvo9xd_keong_macan_srgb8.ppm
#   5838da855a4aa257cfc1f8129da803865a1ffcddf75605a06b0506d5ecd32da6  64px-l1qnb5_nkitzmiller_srgb8.ppm
#   f27113d4b0038d36526c03c8762203f99aec2c0f900a4cc3e6fedbaa8d94e509  64px-phu1or_alfann24_srgb8.ppm
#   63d2b6cb4073b3010d7e4ff83c600372ccc38f2423f277b451db4fc339d33aa1  64px-q3a0b3_d17ws_srgb8.ppm
#   80bb9b7e14ba9ee8cdaf829ecec7d8688334b57a04b9fd6adcc414ccf5a85abd  64px-ra0ed45_alfann24_srgb8.ppm
#   563f519cc4985c6b622e7ebe48d878c2b661a4011fc116f0c3cc9b019399e324  64px-t0gho7_orlaustral_srgb8.ppm
#   232b2b2bdffabefe7d654d3ecb964e627e15cd76389d73b08d6b6990f8182113  64px-tmshre_riaphotographs_srgb8.ppm
#   1e7f9e04b8f2b8495176f64339fb09f93e9d634536d297295188d010958c88f4  64px-u76c0g_bliznaca_srgb8.ppm
#   222e646016cf72c10e592fbd5be163bc903f748cce1ffe05c9738c7ec1ecc135  64px-vgqcws_vin_srgb8.ppm
#   80e0d45ad7cd2b69fef41bd1ebc8ba8ffd5d1e856801f4806009d8b3e8ec84fa  raw.pixls-DJI-FC6310-16bit_srgb8_v4_krita.ppm
#   6d89c56d272abf1c17682d9eac201fa591fdd8dbc3203afec6069daf5084dd2d  raw.pixls-Google-Pixel2XL-16bit_srgb8_v4_krita.ppm
#   113dc01ed9fc519e0d53e0aece42c693e7da6ac6605f47627512df849665688a  raw.pixls-HUAWEI-EVA-L09-16bit_srgb8_dt.ppm
#   a42d590c61022e09a1f2070e37ad2d24396454f27179bde4df62a470bb0124af  raw.pixls-Nikon-D300-12bit_srgb8_dt.ppm
#   0cf3d99aa68cd002423194ce995083fc9ca2c2463428765bd2d574b0a97d6033  raw.pixls-Sony-DSC-RX1RM2-14bit_srgb8_v4_krita.ppm
#   4981d7faf7dbedaf61353140beb9cf5a605746f318438788b78fd72192493231  flower-luma.pgm
#   7e8723f617af338c13a7532e22c3427627e217ab9771e5995f86e6a6f329fb4b  500px-cvo9xd_keong_macan_srgb8-luma.pgm
#   93e9906cc07a9225cd22922633fca73ed4ba79c13ae861033db78e5fcb60a478  500px-tmshre_riaphotographs_srgb8-luma.pgm
#   75a88918f845eced034aab7339284850ea436f67d3d21ddd6b02678a45a6e8d1  500px-u76c0g_bliznaca_srgb8-luma.pgm
#   cc24e136bdb7adf939af789997753fa4fa986e2ed6cf9741024caf2d3d084b9b  64px-Nikon-D3-14bit_srgb8-luma.pgm
#   01c91c7d8752bee486284b2876ce48981751217245d6091e482e93b74abde947  64px-a2d1un_nkitzmiller_srgb8-luma.pgm
#   775710a344f58ee37b792eec488f9f8c3038c2bb525ee5bb15fdc855ba7d0c37  64px-cvo9xd_keong_macan_srgb8-luma.pgm
#   1051e79593690cffa074300215714c01f2e5609683f956d37f10e30ad6104164  64px-l1qnb5_nkitzmiller_srgb8-luma.pgm
#   b0a485e3aedcca4d9e8bfb8e611fe706e0874866d6fd72e9847a9f1e60a399d5  64px-phu1or_alfann24_srgb8-luma.pgm
#   b1c7028ae3871ec77466876672640cc6b4de309401b1b4f61dd6e964acac0876  64px-q3a0b3_d17ws_srgb8-luma.pgm
#   36b89617586c375753a252a4264bb2f8c280ba77244ed9b0e38dffc8dba49865  64px-ra0ed45_alfann24_srgb8-luma.pgm
#   83413fa11be6d22516300c68bf2a0ee62c40841e22fac73f03621852b5c21d25  64px-t0gho7_orlaustral_srgb8-luma.pgm
#   d3a6ea0d3f14bbe5b6de6d8a5f66a0d117adef223a4120494717a064d36c8ae4  64px-tmshre_riaphotographs_srgb8-luma.pgm
#   4b0a21afa3cf3c7cb33a2ffeccd6cc2e5435b21eb1fba99aa5722e79ef47c7a6  64px-u76c0g_bliznaca_srgb8-luma.pgm
#   eb71bc66dd0355fdd4b0cda5fb6dfe715cb8f3fc2dd852a8dd74cbfa9cb2e71e  64px-vgqcws_vin_srgb8-luma.pgm
#   4a21851a11c241c663008e4b63d124cd76092cfd6dc76fdd5da83432ccb89d80  raw.pixls-DJI-FC6310-16bit_srgb8_v4_krita-luma.pgm
#   de1f00a92a082f0c84841ba7f039b1f6147d458261415bdb70e62c26354cf594  raw.pixls-Google-Pixel2XL-16bit_srgb8_v4_krita-luma.pgm
#   594e19d0135377ec35d0525d7da9c5b8f1fd0cdc00f81492cf35895c1792efeb  raw.pixls-HUAWEI-EVA-L09-16bit_srgb8_dt-luma.pgm
#   36ff652a86e43a2347b3f0727d8aed5049eee6cce3ec2799dbaf86aa16970e63  raw.pixls-Nikon-D300-12bit_srgb8_dt-luma.pgm
#   171ec0ae702417dc070b688c241f802982f43637a2172870fe0c91a05c6145f4  raw.pixls-Sony-DSC-RX1RM2-14bit_srgb8_v4_krita-luma.pgm
#   91fe6f6c982a8f58855eaee2f4cc8b89ec437d981e86bb40b429d4dc0b671e25  flower.pgm
#   d4b10fe7c10b364c9608a9f1d2f3394a4c2631453bdace39220563be70997bfc  500px-cvo9xd_keong_macan_grayscale.pgm
