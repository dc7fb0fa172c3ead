// The tiled coder: images of any size, grey or colour, coded band by band with a tile model.
// It restores every image and the message, reads context across tile and band borders, agrees
// with VaeCoder byte for byte when the tile is the whole image, and costs its negative ELBO.
#include <catch2/catch.hpp>
#include <cmath>
#include <random>

#include "src/coding/tiled_coder.hpp"
#include "src/coding/vae_coder.hpp"
#include "round_trip.hpp"
#include "test_models.hpp"

using namespace bbans;

namespace {

// A tiny tile model of S samples per pixel, calibrated on colour blobs.
models::QuantizedVae tiny_colour_model(std::size_t S, std::uint64_t seed,
                                       models::ColourTransform transform = models::ColourTransform::none) {
    return test::tiny_colour_model(S, seed, false, transform).q;
}

}  // namespace

TEST_CASE("tiled coder: images of any size and colour round-trip and restore the message", "[coding][tiled]") {
    for (std::size_t S : {1u, 2u, 3u, 4u}) {
        const auto q = S == 1 ? test::tiny_model(11).q : tiny_colour_model(S, 11);
        auto coder = coding::TiledCoder::make(q);
        REQUIRE(coder.has_value());
        const std::pair<std::size_t, std::size_t> sizes[] = {{1, 1}, {3, 5}, {8, 8}, {17, 9}, {9, 31}, {20, 16}};
        CAPTURE(S);
        test::check_round_trips(*coder, sizes, [&](std::size_t rows, std::size_t cols) {
            return test::colour_images(1, rows, cols, S, rows * 100 + cols);
        });
    }
}

TEST_CASE("tiled coder: a model with a colour transform codes the transformed pixels and gives back the user's", "[coding][tiled]") {
    for (auto t : {models::ColourTransform::subtract_green, models::ColourTransform::ycocg_r})
        for (std::size_t S : {3u, 4u}) {
            CAPTURE(models::colour_transform_name(t), S);
            // The same weights with and without the transform (the transform does not change
            // initialization or calibration).
            auto coder = *coding::TiledCoder::make(tiny_colour_model(S, 21, t));
            auto plain = *coding::TiledCoder::make(tiny_colour_model(S, 21));
            const std::size_t rows = 13, cols = 11;
            const auto px = test::colour_images(1, rows, cols, S, 23);
            auto transformed = px;
            models::colour_forward(t, transformed, S);
            REQUIRE(transformed != px);

            codec::Message m = test::some_message(2, 5), expected = m;
            const codec::Message before = m;
            REQUIRE(coder.push(m, px, rows, cols, 1).has_value());
            REQUIRE(plain.push(expected, transformed, rows, cols, 1).has_value());
            CHECK(m == expected);
            REQUIRE(coder.pop(m, rows, cols, 1) == px);
            REQUIRE(m == before);
            std::mt19937_64 a(1), b(1);
            CHECK(coder.neg_elbo_bits(px, rows, cols, [&] { return a(); }) ==
                  plain.neg_elbo_bits(transformed, rows, cols, [&] { return b(); }));
        }
}

TEST_CASE("tiled coder: a tile that is the whole image codes exactly as VaeCoder", "[coding][tiled]") {
    const auto tm = test::tiny_model(12);
    auto tiled = *coding::TiledCoder::make(tm.q);
    auto whole = *coding::VaeCoder::make(tm.q);
    const auto px = test::blob_images(12, 8, 8, 5);
    for (std::size_t lanes : {1u, 4u}) {
        codec::Message a(lanes), b(lanes);
        for (std::size_t i = 0; i < 12; ++i) {
            const coding::Image x(px.begin() + static_cast<std::ptrdiff_t>(i * 64), px.begin() + static_cast<std::ptrdiff_t>((i + 1) * 64));
            REQUIRE(tiled.push(a, x, 8, 8, i == 0 ? 1 : 0).has_value());
            if (i == 0) whole.push_seed(b, x);
            else whole.push(b, x);
        }
        REQUIRE(a.ok());
        REQUIRE(a == b);
        REQUIRE(*a.to_bytes() == *b.to_bytes());
    }
}

TEST_CASE("tiled coder: a pixel's model reads the band above and the tile to its left", "[coding][tiled]") {
    const auto tm = test::tiny_model(13);
    auto coder = *coding::TiledCoder::make(tm.q);
    // Two 16x16 images that differ only in their first band (rows 0-7): the second band's
    // likelihood must see the difference through its first rows' context.
    auto px = test::blob_images(1, 16, 16, 21);
    auto other = px;
    for (std::size_t c = 0; c < 16; ++c) other[7 * 16 + c] = static_cast<std::uint8_t>(255 - other[7 * 16 + c]);
    const coding::Latent z(coder.tiles(16) * coder.config().latent, coder.grid().buckets() / 2);
    const std::vector<std::uint8_t> band(px.begin() + 8 * 16, px.end());
    auto frame_of = [&](const std::vector<std::uint8_t>& image) {
        const models::Frame f{8, 16, 1};
        std::vector<std::uint8_t> out(f.size());
        models::cut_frame(image.data(), 16, 16, f, 8, 0, out.data());
        return out;
    };
    const double cost_a = coder.likelihood(z, frame_of(px), 8, 16).cost_bits(band);
    const double cost_b = coder.likelihood(z, frame_of(other), 8, 16).cost_bits(band);
    REQUIRE(std::isfinite(cost_a));
    REQUIRE(cost_a != cost_b);
    // Within a band, the second tile's first column reads the first tile's last columns: change
    // only column 7 of the band (tile 0) and only the cost of pixels from column 7 on changes.
    auto band2 = band;
    for (std::size_t r = 0; r < 8; ++r) band2[r * 16 + 7] = static_cast<std::uint8_t>(band2[r * 16 + 7] ^ 0x80);
    const auto lik = coder.likelihood(z, frame_of(px), 8, 16);
    REQUIRE(lik.cost_bits(band) != lik.cost_bits(band2));
}

TEST_CASE("tiled coder: the rate of many images matches the integer negative ELBO", "[coding][tiled]") {
    const auto q = tiny_colour_model(3, 14);
    auto coder = *coding::TiledCoder::make(q);
    const std::size_t rows = 19, cols = 13;
    const auto r = test::rate_and_neg_elbo(coder, rows, cols, 30, 3, 3, [&](std::size_t i) { return test::colour_images(1, rows, cols, 3, 500 + i); });
    // Single-sample ELBO estimates scatter; 29 images of 741 samples agree within a few percent.
    REQUIRE(r.net_bits == Approx(r.neg_elbo_bits).epsilon(0.05));
}

TEST_CASE("tiled coder: a wrong-size image is an error, not a corrupt message", "[coding][tiled]") {
    const auto tm = test::tiny_model(15);
    auto coder = *coding::TiledCoder::make(tm.q);
    codec::Message m(1);
    const std::vector<std::uint8_t> px(10, 7);
    REQUIRE_FALSE(coder.push(m, px, 3, 4).has_value());
    REQUIRE_FALSE(coder.push(m, px, 0, 10).has_value());
    REQUIRE(m.ok());
    REQUIRE(m == codec::Message(1));
}

TEST_CASE("tiled coder: planes are the YCoCg-R planes stacked, and back", "[coding][tiled][planes]") {
    // (R, G, B) = (120, 100, 80): Co = 40, t = 100, Cg = 0, Y = 100 -> planes 100, 168, 128.
    const std::vector<std::uint8_t> px = {120, 100, 80, 0, 255, 7};
    // (0, 255, 7): Co = -7, t = 3, Cg = 252 = -4, Y = 1 -> planes 1, 121, 124.
    CHECK(coding::to_planes(px, 3) == std::vector<std::uint8_t>{100, 1, 168, 121, 128, 124});
    // grey + alpha: no transform, the planes are the channels
    CHECK(coding::to_planes(px, 2) == std::vector<std::uint8_t>{120, 80, 255, 100, 0, 7});
    // every colour comes back, with and without alpha
    std::mt19937_64 rng(3);
    for (std::size_t P : {2u, 3u, 4u}) {
        std::vector<std::uint8_t> img(P * 4096);
        for (auto& v : img) v = static_cast<std::uint8_t>(rng());
        CHECK(coding::from_planes(coding::to_planes(img, P), P) == img);
    }
}

TEST_CASE("tiled coder: a grey model codes 2-4 channel images as planes", "[coding][tiled][planes]") {
    const auto q = test::tiny_model(41).q;
    auto grey = *coding::TiledCoder::make(q);
    for (std::size_t P : {2u, 3u, 4u}) {
        CAPTURE(P);
        auto coder = coding::TiledCoder::make(q, {}, P);
        REQUIRE(coder.has_value());
        CHECK(coder->channels() == P);
        CHECK(coder->planes() == P);
        const std::pair<std::size_t, std::size_t> sizes[] = {{1, 1}, {3, 5}, {8, 8}, {17, 9}};
        test::check_round_trips(*coder, sizes, [&](std::size_t rows, std::size_t cols) {
            return test::colour_images(1, rows, cols, P, rows * 100 + cols + P);
        });
        // The same as the grey coder on the stacked planes: message, bands, seed samples, -ELBO.
        const std::size_t rows = 13, cols = 11;
        const auto px = test::colour_images(1, rows, cols, P, 7);
        const auto planes = coding::to_planes(px, P);
        codec::Message m = test::some_message(2, 9), expected = m;
        REQUIRE(coder->push(m, px, rows, cols, 1).has_value());
        REQUIRE(grey.push(expected, planes, P * rows, cols, 1).has_value());
        CHECK(m == expected);
        CHECK(coder->bands(rows) == grey.bands(P * rows));
        CHECK(coder->seed_samples(rows, cols, 1) == grey.seed_samples(P * rows, cols, 1));
        CHECK(coder->seed_samples(rows, cols, 1) == (P * rows % 8) * cols);  // 8-row tiles: the last (short) band is pushed first
        std::mt19937_64 a(1), b(1);
        CHECK(coder->neg_elbo_bits(px, rows, cols, [&] { return a(); }, 1) ==
              grey.neg_elbo_bits(planes, P * rows, cols, [&] { return b(); }, 1));
        // a wrong size is an error, the message untouched
        const codec::Message before = m;
        REQUIRE_FALSE(coder->push(m, std::vector<std::uint8_t>(P * 10 + 1), 2, 5).has_value());
        CHECK(m == before);
    }
}

TEST_CASE("tiled coder: only a grey model that codes every byte codes planes, of 2 to 4 channels", "[coding][tiled][planes]") {
    const auto q = test::tiny_model(42).q;
    for (std::size_t P : {1u, 5u}) CHECK_FALSE(coding::TiledCoder::make(q, {}, P).has_value());
    auto colour = coding::TiledCoder::make(tiny_colour_model(3, 43), {}, 3);
    REQUIRE_FALSE(colour.has_value());
    CHECK_THAT(colour.error().message, Catch::Contains("grey model"));
}
