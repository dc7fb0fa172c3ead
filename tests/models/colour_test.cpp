// The reversible colour transforms (models/colour.hpp): bijections on every RGB triple, alpha
// untouched, and what they are meant to do (grey pixels have no chroma).
#include <catch2/catch.hpp>
#include <vector>

#include "models/colour.hpp"

using namespace bbans::models;

TEST_CASE("colour transforms are bijections on all 2^24 RGB triples", "[colour]") {
    for (auto t : {ColourTransform::subtract_green, ColourTransform::ycocg_r}) {
        CAPTURE(colour_transform_name(t));
        std::vector<std::uint8_t> seen(std::size_t{1} << 24, 0);
        std::size_t failures = 0;
        for (std::uint32_t v = 0; v < (1u << 24); ++v) {
            std::uint8_t p[3] = {static_cast<std::uint8_t>(v >> 16), static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
            colour_forward(t, p);
            seen[(std::size_t{p[0]} << 16) | (std::size_t{p[1]} << 8) | p[2]] = 1;
            colour_inverse(t, p);
            if (((std::uint32_t{p[0]} << 16) | (std::uint32_t{p[1]} << 8) | p[2]) != v) ++failures;
        }
        CHECK(failures == 0);
        std::size_t images = 0;
        for (auto b : seen) images += b;
        CHECK(images == (std::size_t{1} << 24));  // onto: every output triple is reached
    }
}

TEST_CASE("colour transforms map grey to (grey, 128, 128) and leave alpha alone", "[colour]") {
    for (auto t : {ColourTransform::subtract_green, ColourTransform::ycocg_r})
        for (int g = 0; g < 256; ++g) {
            std::vector<std::uint8_t> px = {static_cast<std::uint8_t>(g), static_cast<std::uint8_t>(g), static_cast<std::uint8_t>(g), 77,
                                            10, 20, 30, 200};
            const auto before = px;
            colour_forward(t, px, 4);
            CHECK(px[0] == g);
            CHECK(px[1] == 128);
            CHECK(px[2] == 128);
            CHECK(px[3] == 77);
            CHECK(px[7] == 200);
            colour_inverse(t, px, 4);
            CHECK(px == before);
        }
    std::vector<std::uint8_t> px = {1, 2, 3};
    colour_forward(ColourTransform::none, px, 3);
    CHECK(px == std::vector<std::uint8_t>{1, 2, 3});
}
