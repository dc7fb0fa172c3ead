// The VAE coder: bits-back coding of images with a quantized model restores every image and
// the message, and costs what the model's integer negative ELBO says.
#include <catch2/catch.hpp>
#include <cmath>
#include <random>

#include "src/coding/tiled_coder.hpp"
#include "src/coding/vae_coder.hpp"
#include "src/compressor/bits_back.hpp"
#include "test_models.hpp"

using namespace bbans;

namespace {
// count 8x8 images (the tiny model's shape) from their pixels.
io::ImageSet images_8x8(const std::vector<std::uint8_t>& px, std::size_t count) {
    io::ImageSet set;
    set.rows = 8;
    set.cols = 8;
    set.count = count;
    set.pixels = px;
    return set;
}
}  // namespace

TEST_CASE("coder: one image round-trips through bits-back and restores the message", "[coding]") {
    const auto tm = test::tiny_model(3);
    auto coder = coding::VaeCoder::make(tm.q);
    REQUIRE(coder.has_value());
    const auto px = test::blob_images(20, 8, 8, 99);
    std::mt19937_64 rng(5);
    for (std::size_t lanes : {1u, 3u}) {
        for (std::size_t i = 0; i < 20; ++i) {
            codec::Message m(lanes);
            for (int k = 0; k < 40; ++k) m.push(rng() % lanes, static_cast<std::uint32_t>(rng() % 1000), 1, 10);  // some content
            const codec::Message before = m;
            const coding::Image x(px.begin() + static_cast<std::ptrdiff_t>(i * 64), px.begin() + static_cast<std::ptrdiff_t>((i + 1) * 64));
            coder->push(m, x);
            REQUIRE(m.ok());
            REQUIRE(coder->pop(m) == x);
            REQUIRE(m.ok());
            REQUIRE(m == before);
        }
    }
}

TEST_CASE("coder: seed image then bits-back images decode in reverse to the empty message", "[coding]") {
    const auto tm = test::tiny_model(4);
    auto coder = *coding::TiledCoder::make(tm.q);
    const auto px = test::blob_images(50, 8, 8, 7);
    const io::ImageSet set = images_8x8(px, 50);
    for (std::size_t seeds : {0u, 1u, 3u}) {
        auto enc = encode_images(coder, set, 2, seeds);
        REQUIRE(enc.has_value());
        REQUIRE(enc->stats.bits_after.size() == 50);
        if (seeds > 0) REQUIRE(enc->stats.initial_bits == 0);  // the seed image feeds the first latent pop
        if (seeds == 0) REQUIRE(enc->stats.initial_bits > 0);
        auto dec = decode_images(coder, enc->message, 2, 50, 8, 8, seeds);
        REQUIRE(dec.has_value());
        REQUIRE(*dec == px);
        // Decoding with a different seed count cannot return to the empty message.
        auto wrong = decode_images(coder, enc->message, 2, 50, 8, 8, seeds == 1 ? 0 : 1);
        REQUIRE((!wrong.has_value() || *wrong != px));
    }
}

TEST_CASE("coder: the rate matches the integer negative ELBO", "[coding]") {
    const auto tm = test::tiny_model(6);
    auto coder = *coding::TiledCoder::make(tm.q);
    const std::size_t n = 400;
    const auto px = test::blob_images(n, 8, 8, 11);
    const io::ImageSet set = images_8x8(px, n);
    auto enc = encode_images(coder, set, 1, 1);
    REQUIRE(enc.has_value());
    // Net rate: everything after the seed image.
    const double net_bits = static_cast<double>(enc->stats.bits_after.back() - enc->stats.bits_after.front());
    std::mt19937_64 rng(1);
    double elbo_bits = 0;
    for (std::size_t i = 1; i < n; ++i) {
        elbo_bits += coder.neg_elbo_bits(std::span(px).subspan(i * 64, 64), 8, 8, rng);
    }
    INFO("net " << net_bits / (n - 1) / 64 << " bits/dim, integer -ELBO " << elbo_bits / (n - 1) / 64);
    // Single-sample estimates on both sides (the coder's latent is a posterior sample too).
    CHECK(std::abs(net_bits - elbo_bits) / elbo_bits < 0.02);
}

TEST_CASE("coder: a message that was not made by this model fails or decodes to other images", "[coding]") {
    const auto a = test::tiny_model(8), b = test::tiny_model(9);
    auto ca = *coding::TiledCoder::make(a.q);
    auto cb = *coding::TiledCoder::make(b.q);
    const auto px = test::blob_images(10, 8, 8, 1);
    const io::ImageSet set = images_8x8(px, 10);
    auto enc = *encode_images(ca, set, 1, 1);
    auto dec = decode_images(cb, enc.message, 1, 10, 8, 8, 1);
    REQUIRE((!dec.has_value() || *dec != px));
}

TEST_CASE("coder: a message that claims more images than it holds fails when its data runs out", "[coding]") {
    const auto tm = test::tiny_model(4);
    auto coder = *coding::TiledCoder::make(tm.q);
    const auto px = test::blob_images(10, 8, 8, 3);
    const io::ImageSet set = images_8x8(px, 10);
    for (std::size_t seeds : {0u, 1u}) {
        auto enc = encode_images(coder, set, 1, seeds);
        REQUIRE(enc.has_value());
        REQUIRE(decode_images(coder, enc->message, 1, 10, 8, 8, seeds).has_value());
        // Claiming 100,000 images: the decoder must stop once the 10 images' bits are used up,
        // not decode 100,000 images of noise first.
        std::size_t decoded = 0;
        auto dec = decode_images(coder, enc->message, 1, 100000, 8, 8, seeds, [&](std::size_t done, std::size_t) { decoded = done; });
        REQUIRE_FALSE(dec.has_value());
        CHECK_THAT(dec.error().message, Catch::Contains("runs out of data"));
        CHECK(decoded < 1000);
    }
}

TEST_CASE("coder: a likelihood codec outlives its coder; wrong-size images cost infinity", "[coding]") {
    const auto tm = test::tiny_model(5);
    const auto px = test::blob_images(1, 8, 8, 9);
    const coding::Image x(px.begin(), px.end());
    double want = 0;
    {
        auto coder = *coding::VaeCoder::make(tm.q);
        want = coder.likelihood(coding::Latent(4, 100)).cost_bits(x);
        CHECK(std::isinf(coder.neg_elbo_bits(coding::Image(10, 0), [] { return std::uint64_t{7}; })));
    }
    // The coder is gone (a temporary here); the codec keeps the model alive.
    const auto lik = coding::VaeCoder::make(tm.q)->likelihood(coding::Latent(4, 100));
    CHECK(lik.cost_bits(x) == want);
    CHECK(std::isinf(lik.cost_bits(coding::Image(63, 0))));
    codec::Message m;
    lik.push(m, x);
    REQUIRE(m.ok());
    CHECK(lik.pop(m) == x);
}
