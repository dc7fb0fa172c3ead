// PNG parsing: 8-bit grayscale accepted verbatim, everything else rejected with a clear error.
#include <catch2/catch.hpp>

#include "io_test_util.hpp"
#include "src/io/images.hpp"

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

TEST_CASE("parse_png rejects colour and alpha and palette and other depths", "[io][png]") {
    struct Case {
        std::uint8_t depth, color_type;
        std::size_t bits_per_pixel;
        const char* expected;
    };
    const Case cases[] = {
        {8, 2, 24, "colour (8-bit RGB)"},   {8, 6, 32, "colour (8-bit RGBA)"},
        {16, 2, 48, "colour (16-bit RGB)"}, {8, 4, 16, "grayscale with alpha"},
        {8, 3, 8, "palette"},               {16, 0, 16, "16-bit grayscale is not supported"},
        {4, 0, 4, "4-bit grayscale"},       {1, 0, 1, "1-bit grayscale"},
    };
    Bytes gray_palette;
    for (int i = 0; i < 256; ++i) gray_palette.insert(gray_palette.end(), 3, static_cast<std::uint8_t>(i));
    for (const auto& c : cases) {
        INFO(c.expected);
        // 8 pixels per row make a row exactly bits_per_pixel bytes long.
        const std::size_t row_bytes = c.bits_per_pixel, rows = 2;
        const Bytes png = handmade_png(ihdr(8, rows, c.depth, c.color_type), random_pixels(rows * row_bytes), row_bytes,
                                       c.color_type == 3 ? gray_palette : Bytes{});
        auto r = parse_png(png);
        REQUIRE_FALSE(r);
        CHECK_THAT(r.error().message, Contains(c.expected));
    }
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
