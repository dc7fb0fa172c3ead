// png_check: test helper for the PNG round trips (tests/png/*.sh).
//   png_check same A.png B.png   exit 0 if libpng decodes both to the same IHDR fields, PLTE and
//                                8-bit RGBA pixels, and both have the same ancillary chunks (raw
//                                bytes, order and place); else prints the difference, exit 1
//   png_check make DIR           writes test PNGs to DIR: every colour type, a palette with
//                                tRNS, 1/2/4-bit, interlaced, text/gamma/iCCP chunks, a photo-like one
#include <cmath>
#include <cstdio>
#include <string>

#include "../io/io_test_util.hpp"
#include "src/io/png.hpp"

using namespace io_test;

namespace {

int same(const std::string& a_path, const std::string& b_path) {
    const Bytes a = read_bytes(a_path), b = read_bytes(b_path);
    const auto da = libpng_decode(a), db = libpng_decode(b);
    if (!da || !db) return std::printf("png_check: libpng cannot decode %s\n", !da ? a_path.c_str() : b_path.c_str()), 1;
    if (da->width != db->width || da->height != db->height || da->depth != db->depth || da->color_type != db->color_type ||
        da->interlace != db->interlace)
        return std::printf("png_check: IHDR differs\n"), 1;
    if (da->palette != db->palette) return std::printf("png_check: palette differs\n"), 1;
    if (da->rgba != db->rgba) return std::printf("png_check: pixels differ\n"), 1;
    const auto pa = bbans::io::read_png(a), pb = bbans::io::read_png(b);
    if (!pa || !pb) return std::printf("png_check: %s\n", (!pa ? pa.error() : pb.error()).message.c_str()), 1;
    if (pa->attributes.chunks != pb->attributes.chunks) return std::printf("png_check: ancillary chunks differ\n"), 1;
    return 0;
}

Bytes text_chunk(const std::string& key, const std::string& value) {
    Bytes t = to_bytes(key);
    t.push_back(0);
    append(t, to_bytes(value));
    return t;
}

int make(const std::string& dir) {
    auto put = [&](const std::string& name, const Bytes& png) {
        if (png.empty()) std::printf("png_check: cannot make %s\n", name.c_str()), std::exit(1);
        write_bytes(dir + "/" + name, png);
    };
    PngSpec s;
    s.rows = 40, s.cols = 30;
    for (int ct : {0, 2, 4, 6}) {
        s.color_type = ct;
        const std::size_t ch = ct == 0 ? 1 : ct == 2 ? 3 : ct == 4 ? 2 : 4;
        s.stored = random_pixels(40 * 30 * ch, static_cast<std::uint32_t>(ct + 1));
        put("type" + std::to_string(ct) + ".png", libpng_png(s));
    }
    s.color_type = 3, s.depth = 4, s.interlace = true;
    s.palette = random_pixels(16 * 3, 7);
    s.trns = {0, 64, 128};
    s.stored = random_pixels(40 * 30, 8);
    for (auto& v : s.stored) v &= 15;
    put("palette4-trns-interlaced.png", libpng_png(s));
    s.color_type = 0, s.depth = 1, s.interlace = false, s.palette.clear(), s.trns.clear();
    for (auto& v : s.stored) v &= 1;
    Bytes bilevel = libpng_png(s);
    bilevel = with_chunk(bilevel, "IDAT", "gAMA", Bytes{0, 0, 0xB1, 0x8F});
    bilevel = with_chunk(bilevel, "IEND", "tEXt", text_chunk("Comment", "a 1-bit image with text"));
    bilevel = with_chunk(bilevel, "IEND", "tEXt", text_chunk("Author", "bbans tests"));
    put("bilevel-text.png", bilevel);
    // Photo-like: smooth RGB gradients with a little noise, written as a fast encoder (a camera,
    // a screenshot tool) does: no filters, zlib level 1.
    s.rows = 192, s.cols = 256, s.color_type = 2, s.depth = 8, s.zlib_level = 1, s.no_filter = true;
    s.stored.assign(192 * 256 * 3, 0);
    const Bytes noise = random_pixels(s.stored.size(), 9);
    for (std::size_t y = 0; y < 192; ++y)
        for (std::size_t x = 0; x < 256; ++x)
            for (std::size_t c = 0; c < 3; ++c) {
                const double v = 128 + 60 * std::sin(0.03 * x * (c + 1) + 0.02 * y) + 40 * std::cos(0.025 * y * (3 - c));
                s.stored[(y * 256 + x) * 3 + c] = static_cast<std::uint8_t>(std::lround(v) + (noise[(y * 256 + x) * 3 + c] % 3 == 0));
            }
    put("photo.png", libpng_png(s));
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string cmd = argc > 1 ? argv[1] : "";
    if (cmd == "same" && argc == 4) return same(argv[2], argv[3]);
    if (cmd == "make" && argc == 3) return make(argv[2]);
    std::fprintf(stderr, "usage: png_check same A.png B.png | png_check make DIR\n");
    return 2;
}
