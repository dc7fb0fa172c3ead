// The scale offset (CoderSettings::scale_offset_q8): every logistic component's log-scale moved
// by one constant. Coding with it restores every image and the message, costs its own -ELBO, and
// mixture_bits (what the compressor chooses the offset by) gives exactly the likelihood's bits
// of that -ELBO for any offset, from one pass of the head.
#include <catch2/catch.hpp>
#include <random>

#include "src/coding/tiled_coder.hpp"
#include "src/coding/vae_coder.hpp"
#include "round_trip.hpp"
#include "test_models.hpp"

using namespace bbans;

namespace {
coding::CoderSettings offset_by(std::int32_t q8) {
    coding::CoderSettings s;
    s.scale_offset_q8 = q8;
    return s;
}
}  // namespace

TEST_CASE("scale offset: images round-trip and the message is restored, grey and as planes", "[coding][tiled][scale_offset]") {
    const auto q = test::tiny_model(31).q;
    for (const std::int32_t q8 : {-400, -96, 96, 508}) {
        CAPTURE(q8);
        auto coder = coding::TiledCoder::make(q, offset_by(q8));
        REQUIRE(coder.has_value());
        const std::pair<std::size_t, std::size_t> sizes[] = {{1, 1}, {9, 13}, {20, 16}};
        test::check_round_trips(*coder, sizes, [](std::size_t r, std::size_t c) { return test::blob_images(1, r, c, r * 7 + c); });
        auto planes = coding::TiledCoder::make(q, offset_by(q8), 3);
        REQUIRE(planes.has_value());
        test::check_round_trips(*planes, sizes, [](std::size_t r, std::size_t c) { return test::colour_images(1, r, c, 3, r + c); });
    }
}

TEST_CASE("scale offset: it changes the frequencies, and the rate follows its own -ELBO", "[coding][tiled][scale_offset]") {
    const auto q = test::tiny_model(32).q;
    const std::size_t rows = 17, cols = 12;
    auto images = [&](std::size_t i) { return test::blob_images(1, rows, cols, 900 + i); };
    auto plain = *coding::TiledCoder::make(q);
    auto narrow = *coding::TiledCoder::make(q, offset_by(-128));
    codec::Message a(1), b(1);
    REQUIRE(plain.push(a, images(0), rows, cols).has_value());
    REQUIRE(narrow.push(b, images(0), rows, cols).has_value());
    CHECK(*a.to_bytes() != *b.to_bytes());
    const auto r = test::rate_and_neg_elbo(narrow, rows, cols, 30, 2, 4, images);
    REQUIRE(r.net_bits == Approx(r.neg_elbo_bits).epsilon(0.05));
}

TEST_CASE("scale offset: mixture_bits gives the likelihood's bits of the -ELBO under any offset", "[coding][tiled][scale_offset]") {
    const auto q = test::tiny_model(33).q;
    const std::size_t rows = 21, cols = 18;
    const auto image = test::blob_images(1, rows, cols, 77);
    for (const std::size_t planes : {std::size_t{0}, std::size_t{3}}) {
        const auto px = planes ? test::colour_images(1, rows, cols, 3, 78) : image;
        auto plain = *coding::TiledCoder::make(q, {}, planes);
        std::mt19937_64 draw_samples(5);
        const auto samples = plain.mixture_samples(px, rows, cols, draw_samples, 1);
        REQUIRE(samples.size() == px.size());
        for (const std::int32_t q8 : {-300, -40, 0, 40, 300}) {
            CAPTURE(planes, q8);
            auto coder = *coding::TiledCoder::make(q, offset_by(q8), planes);
            std::mt19937_64 draw(5);  // the same latents as the samples were drawn with
            double latent = 0;
            const double total = coder.neg_elbo_bits(px, rows, cols, draw, 0, &latent);
            const double likelihood = coding::mixture_bits(samples, coding::CoderSettings{}.likelihood_precision, q8);
            CHECK(likelihood == Approx(total - latent).epsilon(1e-9));
        }
        // Every 5th sample: a fifth of them, spaced across bands.
        std::mt19937_64 draw_fifth(5);
        CHECK(plain.mixture_samples(px, rows, cols, draw_fifth, 5).size() == (px.size() + 4) / 5);
    }
}

TEST_CASE("scale offset: out of range is refused (a likelihood without scales: bernoulli_test.cpp)", "[coding][tiled][scale_offset]") {
    const auto q = test::tiny_model(34).q;
    for (const std::int32_t q8 : {-509, 509, 4096}) {
        auto coder = coding::TiledCoder::make(q, offset_by(q8));
        REQUIRE_FALSE(coder.has_value());
        CHECK_THAT(coder.error().message, Catch::Contains("scale offset out of range"));
    }
}
