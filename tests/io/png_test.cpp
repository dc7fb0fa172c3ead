// PNG parsing: samples verbatim for every colour type and depth but 16-bit, hostile files rejected.
#include <catch2/catch.hpp>

#include "io_test_util.hpp"
#include "src/io/images.hpp"
#include "src/io/png.hpp"

using namespace io_test;
using bbans::io::parse_png;
using Catch::Matchers::Contains;

TEST_CASE("parse_png reads 8-bit grayscale written by libpng", "[io][png]") {
    const auto image = make_set(13, 21, 1);
    const Bytes png = libpng_gray8(image);
    REQUIRE_FALSE(png.empty());
    auto r = parse_png(png);
    REQUIRE(r);
    CHECK(r->rows == 13);
    CHECK(r->cols == 21);
    CHECK(r->count == 1);
    CHECK(r->pixels == image.pixels);
}

TEST_CASE("parse_png reads Adam7-interlaced grayscale", "[io][png]") {
    const auto image = make_set(11, 17, 1, 5);
    const Bytes png = libpng_gray8(image, true);
    REQUIRE_FALSE(png.empty());
    auto r = parse_png(png);
    REQUIRE(r);
    CHECK(r->pixels == image.pixels);
}

TEST_CASE("parse_png reads a hand-made grayscale PNG", "[io][png]") {
    const Bytes pixels = random_pixels(3 * 4, 9);
    auto r = parse_png(handmade_png(ihdr(4, 3, 8, 0), pixels, 4));
    REQUIRE(r);
    CHECK(r->cols == 4);
    CHECK(r->rows == 3);
    CHECK(r->pixels == pixels);
}

TEST_CASE("parse_png refuses 16-bit images with an error the compressor recognises", "[io][png]") {
    struct Case {
        std::uint8_t color_type;
        std::size_t bytes_per_pixel;
    };
    for (const Case c : {Case{0, 2}, Case{2, 6}, Case{4, 4}, Case{6, 8}}) {
        INFO("colour type " << int(c.color_type));
        const Bytes png = handmade_png(ihdr(8, 2, 16, c.color_type), random_pixels(2 * 8 * c.bytes_per_pixel), 8 * c.bytes_per_pixel);
        auto r = parse_png(png);
        REQUIRE_FALSE(r);
        CHECK_THAT(r.error().message, Contains("16-bit samples"));
        CHECK(bbans::io::is_png_16bit_error(r.error()));
    }
    auto other = parse_png(to_bytes("not a png"));
    REQUIRE_FALSE(other);
    CHECK_FALSE(bbans::io::is_png_16bit_error(other.error()));
}

TEST_CASE("parse_png reads hand-made colour, alpha, palette and low-depth images verbatim", "[io][png]") {
    // Grey+alpha and RGBA: the samples as stored.
    const Bytes ga = random_pixels(3 * 5 * 2, 4);
    auto r = parse_png(handmade_png(ihdr(5, 3, 8, 4), ga, 10));
    REQUIRE(r);
    CHECK(r->channels == 2);
    CHECK(r->pixels == ga);
    const Bytes rgba = random_pixels(2 * 4 * 4, 5);
    r = parse_png(handmade_png(ihdr(4, 2, 8, 6), rgba, 16));
    REQUIRE(r);
    CHECK(r->channels == 4);
    CHECK(r->pixels == rgba);
    // 2-bit grey: byte 0b00011011 is the values 0, 1, 2, 3 (not scaled to 0..255).
    r = parse_png(handmade_png(ihdr(4, 1, 2, 0), Bytes{0x1B}, 1));
    REQUIRE(r);
    CHECK(r->channels == 1);
    CHECK(r->pixels == Bytes{0, 1, 2, 3});
    // A 1-bit palette image: indices 1, 0 -> the entries' RGB.
    r = parse_png(handmade_png(ihdr(2, 1, 1, 3), Bytes{0x80}, 1, Bytes{10, 20, 30, 40, 50, 60}));
    REQUIRE(r);
    CHECK(r->channels == 3);
    CHECK(r->pixels == Bytes{40, 50, 60, 10, 20, 30});
    // An index beyond the palette is an error, not a guess.
    r = parse_png(handmade_png(ihdr(2, 1, 8, 3), Bytes{0, 2}, 2, Bytes{10, 20, 30, 40, 50, 60}));
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("beyond the palette"));
}

TEST_CASE("parse_png rejects a bad signature and invalid headers", "[io][png]") {
    auto r = parse_png(to_bytes("not a png at all"));
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("bad signature"));

    r = parse_png(png_signature());
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("PNG: "));

    // Zero width violates the PNG spec: libpng's own message is passed on.
    r = parse_png(handmade_png(ihdr(0, 2, 8, 0), {}, 1));
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("PNG: "));
}

TEST_CASE("parse_png rejects a corrupt CRC and corrupt image data", "[io][png]") {
    const Bytes good = handmade_png(ihdr(4, 4, 8, 0), random_pixels(16), 4);
    REQUIRE(parse_png(good));

    Bytes bad_crc = good;
    bad_crc[8 + 8 + 13] ^= 0x01;  // first byte of IHDR's CRC
    auto r = parse_png(bad_crc);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("CRC"));

    // An IDAT whose zlib stream is garbage (with a valid chunk CRC, so zlib is what notices).
    Bytes bad_zlib = png_signature();
    png_chunk(bad_zlib, "IHDR", ihdr(4, 4, 8, 0));
    png_chunk(bad_zlib, "IDAT", Bytes{0x78, 0x9C, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x01});
    png_chunk(bad_zlib, "IEND", {});
    r = parse_png(bad_zlib);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("PNG: "));
}

TEST_CASE("parse_png rejects every truncation of a valid file", "[io][png]") {
    const Bytes good = libpng_gray8(make_set(6, 7, 1));
    REQUIRE(parse_png(good));
    for (std::size_t n = 0; n < good.size(); ++n) {
        INFO("truncated to " << n << " bytes");
        CHECK_FALSE(parse_png(std::span(good).first(n)));
    }
}

TEST_CASE("parse_png refuses a header claiming more pixels than the file could hold", "[io][png]") {
    Bytes png = png_signature();
    png_chunk(png, "IHDR", ihdr(2000000, 2000000, 8, 0));
    png_chunk(png, "IEND", {});
    auto r = parse_png(png);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("PNG: "));

    png = png_signature();
    png_chunk(png, "IHDR", ihdr(30000, 30000, 8, 0));  // within libpng's limits, not the file's
    png_chunk(png, "IDAT", gzip(Bytes(100, 0)));        // any data: the size check comes first
    png_chunk(png, "IEND", {});
    r = parse_png(png);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("more than"));
}
