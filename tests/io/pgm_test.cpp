// Binary PGM (P5) parsing.
#include <catch2/catch.hpp>

#include "io_test_util.hpp"
#include "src/io/images.hpp"

using namespace io_test;
using bbans::io::parse_pgm;
using Catch::Matchers::Contains;

TEST_CASE("parse_pgm reads a P5 image with maxval 255", "[io][pgm]") {
    const Bytes raster = random_pixels(4 * 3);
    auto r = parse_pgm(pgm("P5\n4 3\n255\n", raster));
    REQUIRE(r);
    CHECK(r->cols == 4);
    CHECK(r->rows == 3);
    CHECK(r->count == 1);
    CHECK(r->pixels == raster);
}

TEST_CASE("parse_pgm skips comments and any whitespace in the header", "[io][pgm]") {
    // The raster starts with '#' and whitespace bytes: they must be read as pixels, not header.
    const Bytes raster = {'#', ' ', '\n', '5', 0, 255};
    auto r = parse_pgm(pgm("P5# made by a test\n#another\r\t3 \v\f 2 # rows\n255\n", raster));
    REQUIRE(r);
    CHECK(r->cols == 3);
    CHECK(r->rows == 2);
    CHECK(r->pixels == raster);

    // A comment right after maxval: its line end is the single delimiter.
    r = parse_pgm(pgm("P5 3 2 255# trailing comment\n", raster));
    REQUIRE(r);
    CHECK(r->pixels == raster);
}

TEST_CASE("parse_pgm rejects other depths and other Netpbm kinds", "[io][pgm]") {
    const Bytes two = random_pixels(2);
    struct Case {
        std::string header;
        const char* expected;
    };
    const Case cases[] = {
        {"P5 1 1 65535\n", "16-bit"},  {"P5 2 1 15\n", "maxval 15 is not supported"},
        {"P5 2 1 0\n", "invalid maxval"}, {"P5 2 1 70000\n", "invalid maxval"},
        {"P2 2 1 255\n", "plain (ASCII"}, {"P6 2 1 255\n", "colour"},
        {"P4 2 1\n", "PBM"},            {"P7\nWIDTH 2\n", "PAM"},
        {"PX 2 1 255\n", "not a PGM"},  {"GIF89a", "not a PGM"},
    };
    for (const auto& c : cases) {
        INFO(c.header);
        auto r = parse_pgm(pgm(c.header, two));
        REQUIRE_FALSE(r);
        CHECK_THAT(r.error().message, Contains(c.expected));
    }
}

TEST_CASE("parse_pgm rejects malformed and truncated headers", "[io][pgm]") {
    struct Case {
        std::string bytes;
        const char* expected;
    };
    const Case cases[] = {
        {"", "not a PGM"},
        {"P5", "truncated header (no width)"},
        {"P5 3", "truncated header (no height)"},
        {"P5 3 2 ", "truncated header (no maxval)"},
        {"P5 3 2 255", "nothing after maxval"},
        {"P5 3 2 255# comment without end", "nothing after maxval"},
        {"P5 x 2 255\n", "expected a number for the width"},
        {"P5 3 -2 255\n", "expected a number for the height"},
        {"P5 3 2 255x", "expected whitespace after maxval"},
        {"P5 99999999999 2 255\n", "width is too large"},
        {"P5 0 2 255\n", "zero image size"},
        {"P5 3 0 255\n", "zero image size"},
    };
    for (const auto& c : cases) {
        INFO(c.bytes);
        auto r = parse_pgm(to_bytes(c.bytes));
        REQUIRE_FALSE(r);
        CHECK_THAT(r.error().message, Contains(c.expected));
    }
}

TEST_CASE("parse_pgm rejects a short raster and bytes after the raster", "[io][pgm]") {
    auto r = parse_pgm(pgm("P5 3 2 255\n", random_pixels(5)));
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("truncated raster (5 of 6 bytes)"));

    r = parse_pgm(pgm("P5 3 2 255\n", random_pixels(7)));
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("1 trailing bytes"));

    // Huge claimed size with a tiny body: rejected before any allocation.
    r = parse_pgm(pgm("P5 4294967295 4294967295 255\n", random_pixels(3)));
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("truncated raster"));
}

TEST_CASE("parse_ppm reads a P6 image with maxval 255 and refuses what parse_pgm refuses", "[io][pgm][ppm]") {
    const Bytes raster = random_pixels(4 * 3 * 3, 3);
    auto r = bbans::io::parse_ppm(pgm("P6\n# colour\n4 3\n255\n", raster));
    REQUIRE(r);
    CHECK(r->channels == 3);
    CHECK(r->rows == 3);
    CHECK(r->cols == 4);
    CHECK(r->pixels == raster);
    CHECK(r->samples_per_image() == 36);
    CHECK(r->image(0).size() == 36);
    struct Case {
        Bytes bytes;
        const char* expected;
    };
    const Case cases[] = {
        {pgm("P6 4 3 255\n", random_pixels(35)), "PPM: truncated raster (35 of 36 bytes)"},
        {pgm("P6 4 3 255\n", random_pixels(37)), "PPM: 1 trailing bytes"},
        {pgm("P6 4 3 65535\n", random_pixels(72)), "PPM: 16-bit samples"},
        {pgm("P3 4 3 255\n", {}), "plain (ASCII, P3)"},
        {pgm("P5 4 3 255\n", random_pixels(12)), "not a PPM file"},
        {pgm("P6 4294967295 4294967295 255\n", random_pixels(3)), "truncated raster"},
    };
    for (const auto& c : cases) {
        auto bad = bbans::io::parse_ppm(c.bytes);
        REQUIRE_FALSE(bad);
        CHECK_THAT(bad.error().message, Contains(c.expected));
    }
}
