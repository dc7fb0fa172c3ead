#!/usr/bin/python3
"""Build the photo training corpus from the photos listed in corpora/photos.sources.

usage: photos.py SOURCES OUTDIR

For every source photo (sorted by name; the 10th, 20th, ... go to the validation split):
  1. check its SHA-256 against SOURCES,
  2. decode it with `djpeg -dct int -pnm` (libjpeg-turbo; a one-component JPEG gives grey,
     which is replicated to R = G = B),
  3. downscale by f = 2 and f = 3 with area averaging: crop to floor(W/f)*f x floor(H/f)*f
     (top-left corner kept), each output sample = (sum of the f x f input samples + f*f//2) // (f*f)
     (integer arithmetic, round half up; only f = 2 can have a tie),
  4. write OUTDIR/photos/{rgb,rgb-val}/NAME-xF.ppm (P6) and OUTDIR/photos/{grey,grey-val}/NAME-xF.pgm
     (P5), grey = Rec.709 luma of the downscaled 8-bit sRGB values without linearization,
     (212656 R + 715158 G + 72186 B + 500000) // 1000000, which equals ImageMagick 6.9.11's
     `-colorspace Gray` for all 2^24 colours (checked; there are no ties).
Prints one line per photo and the totals. Needs numpy (Debian: python3-numpy).
"""
import hashlib
import subprocess
import sys
import time

import numpy as np


def read_sources(path):
    rows = []
    with open(path) as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            name, package, version, sha, src = line.rstrip("\n").split("\t")
            rows.append((name, package, version, sha, src))
    names = [r[0] for r in rows]
    if len(set(names)) != len(names):
        sys.exit("photos: duplicate names in " + path)
    return sorted(rows)


def parse_pnm(data):
    """P5/P6 with maxval 255 -> uint8 array H x W x 3 (grey replicated)."""
    fields, pos = [], 0
    while len(fields) < 4:
        while data[pos:pos + 1].isspace():
            pos += 1
        if data[pos:pos + 1] == b"#":
            pos = data.index(b"\n", pos) + 1
            continue
        end = pos
        while not data[end:end + 1].isspace():
            end += 1
        fields.append(data[pos:end])
        pos = end
    pos += 1  # the single whitespace byte after maxval
    magic, w, h, maxval = fields[0], int(fields[1]), int(fields[2]), int(fields[3])
    if maxval != 255 or magic not in (b"P5", b"P6"):
        raise ValueError(f"unexpected PNM {magic!r} maxval {maxval}")
    c = 3 if magic == b"P6" else 1
    pix = np.frombuffer(data, np.uint8, w * h * c, pos).reshape(h, w, c)
    if len(data) != pos + w * h * c:
        raise ValueError("trailing bytes after the PNM raster")
    return np.repeat(pix, 3, axis=2) if c == 1 else pix, c


def box(pix, f):
    h, w = pix.shape[0] // f * f, pix.shape[1] // f * f
    blocks = pix[:h, :w].reshape(h // f, f, w // f, f, 3).astype(np.uint32)
    s = blocks.sum(axis=(1, 3))
    return ((s + (f * f) // 2) // (f * f)).astype(np.uint8)


def luma(rgb):
    r, g, b = (rgb[..., k].astype(np.int64) for k in range(3))
    return ((212656 * r + 715158 * g + 72186 * b + 500000) // 1000000).astype(np.uint8)


def write_pnm(path, pix):
    h, w = pix.shape[:2]
    magic = b"P6" if pix.ndim == 3 else b"P5"
    with open(path, "wb") as f:
        f.write(magic + b"\n%d %d\n255\n" % (w, h))
        f.write(np.ascontiguousarray(pix).tobytes())


def main():
    sources, outdir = sys.argv[1], sys.argv[2]
    rows = read_sources(sources)
    t0 = time.time()
    totals = {"train": [0, 0], "val": [0, 0]}  # photos, output pixels (all scales)
    for i, (name, package, _version, sha, src) in enumerate(rows):
        if "libjxl" in src or "libjxl" in package:
            sys.exit(f"photos: {name}: {src} is from libjxl-testdata, the held-out set")
        data = open(src, "rb").read()
        got = hashlib.sha256(data).hexdigest()
        if got != sha:
            sys.exit(f"photos: SHA-256 mismatch for the source {src} ({name}, package {package})\n"
                     f"  recorded: {sha}\n  computed: {got}")
        pnm = subprocess.run(["djpeg", "-dct", "int", "-pnm"], input=data,
                             stdout=subprocess.PIPE, check=True).stdout
        pix, comps = parse_pnm(pnm)
        split = "val" if i % 10 == 9 else "train"
        suffix = "-val" if split == "val" else ""
        totals[split][0] += 1
        sizes = []
        for f in (2, 3):
            rgb = box(pix, f)
            write_pnm(f"{outdir}/photos/rgb{suffix}/{name}-x{f}.ppm", rgb)
            write_pnm(f"{outdir}/photos/grey{suffix}/{name}-x{f}.pgm", luma(rgb))
            totals[split][1] += rgb.shape[0] * rgb.shape[1]
            sizes.append(f"{rgb.shape[1]}x{rgb.shape[0]}")
        print(f"fetch:   {name}: {pix.shape[1]}x{pix.shape[0]}{' grey' if comps == 1 else ''}"
              f" -> {' and '.join(sizes)} ({split})", flush=True)
    for split, (n, px) in totals.items():
        print(f"fetch:   {split}: {n} photos, {px} pixels after downscaling (x2 and x3 together)")
    print(f"fetch:   decoded and downscaled in {time.time() - t0:.1f} s")


if __name__ == "__main__":
    main()
