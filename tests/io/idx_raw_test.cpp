// IDX (idx3-ubyte) and raw pixel parsing: round trips and every rejection.
#include <catch2/catch.hpp>

#include "io_test_util.hpp"
#include "src/io/images.hpp"

using namespace io_test;
using bbans::io::parse_idx;
using bbans::io::parse_raw;
using bbans::io::Shape;
using bbans::io::write_idx;
using Catch::Matchers::Contains;

TEST_CASE("write_idx then parse_idx gives back the same images", "[io][idx]") {
    const auto set = make_set(28, 28, 7);
    const Bytes bytes = write_idx(set);
    REQUIRE(bytes.size() == 16 + 7 * 28 * 28);
    const Bytes header(bytes.begin(), bytes.begin() + 16);
    CHECK(header == idx_header(0x803, 7, 28, 28));

    auto parsed = parse_idx(bytes);
    REQUIRE(parsed);
    CHECK(parsed->rows == 28);
    CHECK(parsed->cols == 28);
    CHECK(parsed->count == 7);
    CHECK(parsed->pixels == set.pixels);
    CHECK(write_idx(*parsed) == bytes);
}

TEST_CASE("ImageSet image returns each image and nothing past the end", "[io][idx]") {
    const auto set = make_set(3, 5, 4);
    for (std::size_t i = 0; i < 4; ++i) {
        const auto img = set.image(i);
        REQUIRE(img.size() == 15);
        CHECK(img.data() == set.pixels.data() + i * 15);
    }
    CHECK(set.image(4).empty());
    CHECK(set.image(~std::size_t{0}).empty());
}

TEST_CASE("parse_idx accepts a non-square shape", "[io][idx]") {
    const auto set = make_set(2, 9, 3);
    auto parsed = parse_idx(write_idx(set));
    REQUIRE(parsed);
    CHECK(parsed->rows == 2);
    CHECK(parsed->cols == 9);
    CHECK(parsed->image(2).size() == 18);
}

TEST_CASE("parse_idx rejects a bad magic number", "[io][idx]") {
    Bytes b = idx_header(0x12345678, 1, 1, 1);
    b.push_back(0);
    auto r = parse_idx(b);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("bad magic 0x12345678"));
}

TEST_CASE("parse_idx rejects non-byte element types and label files", "[io][idx]") {
    Bytes floats = idx_header(0x00000D03, 1, 1, 1);
    append(floats, Bytes(4, 0));
    auto r = parse_idx(floats);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("float"));

    Bytes labels = {0, 0, 8, 1, 0, 0, 0, 2, 7, 3};  // idx1-ubyte: 2 labels
    r = parse_idx(labels);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("label file"));
}

TEST_CASE("parse_idx rejects a truncated header", "[io][idx]") {
    const Bytes full = idx_header(0x803, 1, 2, 2);
    for (std::size_t n = 0; n < 16; ++n) {
        auto r = parse_idx(std::span(full).first(n));
        REQUIRE_FALSE(r);
        CHECK_THAT(r.error().message, Contains("truncated header"));
    }
}

TEST_CASE("parse_idx rejects pixel data shorter or longer than the header says", "[io][idx]") {
    const Bytes good = write_idx(make_set(4, 4, 3));
    auto r = parse_idx(std::span(good).first(good.size() - 1));
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("truncated"));

    Bytes longer = good;
    longer.push_back(0);
    r = parse_idx(longer);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("trailing bytes"));
}

TEST_CASE("parse_idx rejects zero dimensions", "[io][idx]") {
    for (const auto& h : {idx_header(0x803, 0, 28, 28), idx_header(0x803, 5, 0, 28), idx_header(0x803, 5, 28, 0)}) {
        auto r = parse_idx(h);
        REQUIRE_FALSE(r);
        CHECK_THAT(r.error().message, Contains("zero dimension"));
    }
}

TEST_CASE("parse_idx rejects dimensions whose product overflows", "[io][idx]") {
    // (2^32-1)^3 does not fit in 64 bits: a wrapped product must not be mistaken for a size.
    Bytes huge = idx_header(0x803, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF);
    huge.push_back(1);
    auto r = parse_idx(huge);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("overflows"));

    // The product fits 64 bits but no input could hold it: an error, never an allocation.
    r = parse_idx(idx_header(0x803, 0xFFFFFFFF, 0xFFFF, 0xFFFF));
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("truncated"));
}

TEST_CASE("parse_raw splits bytes into images of the given shape", "[io][raw]") {
    const Bytes pixels = random_pixels(3 * 6);
    auto r = parse_raw(pixels, Shape{2, 3});
    REQUIRE(r);
    CHECK(r->count == 3);
    CHECK(r->rows == 2);
    CHECK(r->cols == 3);
    CHECK(r->pixels == pixels);
    CHECK(r->image(1)[0] == pixels[6]);
}

TEST_CASE("parse_raw rejects sizes that are not a non-zero multiple of the shape", "[io][raw]") {
    const Bytes pixels = random_pixels(10);
    auto r = parse_raw(pixels, Shape{2, 3});
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("not a multiple"));

    r = parse_raw({}, Shape{2, 3});
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("no pixel bytes"));

    r = parse_raw(pixels, Shape{0, 3});
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("zero image shape"));

    r = parse_raw(pixels, Shape{0xFFFFFFFF, 0xFFFFFFFF});
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("not a multiple"));
}
