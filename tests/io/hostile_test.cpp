// Hostile input: truncations and random corruptions of valid files must give an Error or a
// well-formed ImageSet, never a crash or an out-of-bounds read (run under ASan to see the
// latter; without it, this still checks the ImageSet invariant on everything accepted).
#include <catch2/catch.hpp>

#include "io_test_util.hpp"
#include "src/io/images.hpp"

using namespace io_test;
using bbans::io::ImageSet;
using bbans::io::parse_images;

namespace {

bool well_formed(const ImageSet& s) {
    return s.rows > 0 && s.cols > 0 && s.count > 0 && s.pixels.size() == s.count * s.pixels_per_image();
}

// Every prefix, then `mutations` copies with 1 to 4 random bytes changed.
void attack(const Bytes& valid, int mutations, std::uint32_t seed) {
    REQUIRE(parse_images(valid));
    for (std::size_t n = 0; n <= valid.size(); ++n) {
        auto r = parse_images(std::span(valid).first(n));
        if (r) CHECK(well_formed(*r));
    }
    std::mt19937 rng(seed);
    for (int i = 0; i < mutations; ++i) {
        Bytes bad = valid;
        const int changes = 1 + static_cast<int>(rng() % 4);
        for (int c = 0; c < changes; ++c) bad[rng() % bad.size()] = static_cast<std::uint8_t>(rng());
        auto r = parse_images(bad);
        if (r) CHECK(well_formed(*r));
    }
}

}  // namespace

TEST_CASE("hostile IDX input never crashes", "[io][hostile]") {
    attack(bbans::io::write_idx(make_set(5, 4, 3)), 3000, 1);
}

TEST_CASE("hostile gzip input never crashes", "[io][hostile]") {
    attack(gzip(bbans::io::write_idx(make_set(5, 4, 3))), 3000, 2);
}

TEST_CASE("hostile PGM input never crashes", "[io][hostile]") {
    attack(pgm("P5 # c\n6 5\n255\n", random_pixels(30)), 3000, 3);
}

TEST_CASE("hostile PNG input never crashes", "[io][hostile]") {
    attack(libpng_gray8(make_set(6, 5, 1)), 2000, 4);
    attack(libpng_gray8(make_set(6, 5, 1), true), 2000, 5);
}
