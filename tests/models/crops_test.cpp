// Random framed crops for training tile models on images of any size.
#include <catch2/catch.hpp>

#include <vector>

#include "models/crops.hpp"
#include "test_util.hpp"

using namespace bbans::models;

TEST_CASE("Crops are frames of the images at random placements, reproducible by seed", "[crops]") {
    const std::size_t S = 3;
    // Two images whose samples encode their position, so a frame tells where it was cut.
    std::vector<std::uint8_t> a(20 * 30 * S), b(9 * 8 * S);
    for (std::size_t i = 0; i < a.size(); ++i) a[i] = static_cast<std::uint8_t>(1 + i % 251);
    for (std::size_t i = 0; i < b.size(); ++i) b[i] = 255;
    const std::vector<ImageView> images{{a.data(), 20, 30, S}, {b.data(), 9, 8, S}, {b.data(), 3, 3, S}};
    const Frame f{8, 8, S};
    auto x = sample_frames(images, f, 200, 42);
    REQUIRE(x.has_value());
    REQUIRE(x->size() == 200 * f.size());
    CHECK(*x == *sample_frames(images, f, 200, 42));
    CHECK(*x != *sample_frames(images, f, 200, 43));
    std::size_t from_b = 0;
    for (std::size_t k = 0; k < 200; ++k) {
        const std::uint8_t* fr = x->data() + k * f.size();
        if (fr[f.at(0, 0)] == 255) {  // image b: 2 placements, its margins all outside (0)
            ++from_b;
            CHECK(fr[0] == 0);
            continue;
        }
        // Find the placement from the first sample, then check the whole frame against cut_frame.
        const std::size_t first = fr[f.at(0, 0)] - 1u;
        bool found = false;
        for (std::size_t r0 = 0; r0 + 8 <= 20 && !found; ++r0)
            for (std::size_t c0 = 0; c0 + 8 <= 30 && !found; ++c0) {
                if ((r0 * 30 + c0) * S % 251 != first) continue;
                std::vector<std::uint8_t> want(f.size());
                cut_frame(a.data(), 20, 30, f, static_cast<std::ptrdiff_t>(r0), static_cast<std::ptrdiff_t>(c0), want.data());
                found = std::equal(want.begin(), want.end(), fr);
            }
        CHECK(found);
    }
    // Image b has 2 of the 13 * 23 + 2 placements: rare, but the 3x3 image is never drawn.
    CHECK(from_b < 20);
}

TEST_CASE("Crops fail for images smaller than the tile or of another channel count", "[crops]") {
    std::vector<std::uint8_t> a(4 * 4);
    const std::vector<ImageView> small{{a.data(), 4, 4, 1}};
    CHECK_FALSE(sample_frames(small, Frame{8, 8, 1}, 10, 1).has_value());
    CHECK_FALSE(sample_frames(small, Frame{2, 2, 3}, 10, 1).has_value());
    CHECK(sample_frames(small, Frame{2, 2, 1}, 10, 1).has_value());
}

TEST_CASE("mirror_left_right mirrors each row and keeps each pixel's samples in order", "[crops]") {
    // 2 rows x 3 pixels x 2 samples: pixel (r, c) holds {10 r + c, 100 + 10 r + c}.
    std::vector<std::uint8_t> a;
    for (std::uint8_t r = 0; r < 2; ++r)
        for (std::uint8_t c = 0; c < 3; ++c) {
            a.push_back(static_cast<std::uint8_t>(10 * r + c));
            a.push_back(static_cast<std::uint8_t>(100 + 10 * r + c));
        }
    const auto m = mirror_left_right({a.data(), 2, 3, 2});
    CHECK(m == std::vector<std::uint8_t>{2, 102, 1, 101, 0, 100, 12, 112, 11, 111, 10, 110});
    CHECK(mirror_left_right({m.data(), 2, 3, 2}) == a);
    const std::vector<std::uint8_t> one{7, 8, 9};
    CHECK(mirror_left_right({one.data(), 3, 1, 1}) == one);  // one column: unchanged
}
