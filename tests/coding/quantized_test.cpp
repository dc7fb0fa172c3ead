// The integer model against the float model it was made from.
#include <catch2/catch.hpp>
#include <cmath>
#include <random>

#include "models/neighbourhood.hpp"
#include "test_models.hpp"

using namespace bbans;
using models::Mat;

TEST_CASE("quantized: QLinear follows the float layer and never exceeds its accumulator bound", "[quantized]") {
    std::mt19937_64 rng(1);
    std::normal_distribution<double> n01;
    for (int t = 0; t < 50; ++t) {
        const int in = 1 + static_cast<int>(rng() % 300), out = 1 + static_cast<int>(rng() % 40);
        Mat<float> W(out, in), b(out, 1);
        const double wscale = std::exp(n01(rng) * 2);
        for (int i = 0; i < W.size(); ++i) W.data()[i] = static_cast<float>(n01(rng) * wscale / std::sqrt(in));
        for (int i = 0; i < b.size(); ++i) b.data()[i] = static_cast<float>(n01(rng) * wscale);
        std::vector<double> scale(static_cast<std::size_t>(in), 1.0 / 255.0);
        std::vector<std::int32_t> in_max(static_cast<std::size_t>(in), 255);
        const int out_frac = 10;
        const auto q = models::quantize_linear(W, b, scale, in_max, out_frac, -(1 << 30), 1 << 30);
        REQUIRE(q.within_budget());
        // Worst-case inputs (all at the bound, signs matching a row) stay exact: compare with int64.
        std::vector<std::int16_t> x(static_cast<std::size_t>(in));
        for (auto& v : x) v = static_cast<std::int16_t>(rng() % 256);
        std::vector<std::int32_t> y(static_cast<std::size_t>(out));
        q.forward(x.data(), y.data());
        for (int r = 0; r < out; ++r) {
            double ref = b(r, 0);
            for (int c = 0; c < in; ++c) ref += W(r, c) * x[static_cast<std::size_t>(c)] / 255.0;
            const double got = y[static_cast<std::size_t>(r)] / std::ldexp(1.0, out_frac);
            // Rounding of weights (relative 2^-15 of the row's largest or the L1 budget) and of the output.
            double l1 = 0;
            for (int c = 0; c < in; ++c) l1 += std::abs(W(r, c)) * 255.0 / 255.0;
            REQUIRE(got == Approx(ref).margin(2e-4 * (l1 + std::abs(b(r, 0))) + std::ldexp(1.0, -out_frac)));
        }
    }
}

TEST_CASE("quantized: the integer VAE follows the float VAE", "[quantized]") {
  for (const bool skip : {false, true}) {  // without and with the head's linear skip
    CAPTURE(skip);
    const auto tm = test::tiny_model(2, true, skip);
    const auto& cfg = tm.vae.config();
    const auto px = test::blob_images(10, cfg.rows, cfg.cols, 5);
    for (std::size_t i = 0; i < 10; ++i) {
        const std::span<const std::uint8_t> x(px.data() + i * 64, 64);
        const auto post = tm.vae.posterior(x);
        std::vector<std::int32_t> mean(cfg.latent), ls(cfg.latent);
        tm.q.posterior(x, mean, ls);
        for (std::size_t k = 0; k < cfg.latent; ++k) {
            CHECK(mean[k] / 65536.0 == Approx(post.mean[k]).margin(0.01));
            CHECK(ls[k] / 256.0 == Approx(post.log_scale[k]).margin(0.02));
        }
        // Decoder channels at the posterior mean, then one pixel's mixture.
        std::vector<std::int32_t> zq(cfg.latent);
        std::vector<float> zf(cfg.latent);
        for (std::size_t k = 0; k < cfg.latent; ++k) {
            zq[k] = mean[k];
            zf[k] = static_cast<float>(mean[k] / 65536.0);
        }
        std::vector<std::int16_t> ch(64 * cfg.channels);
        tm.q.decoder_channels(zq, ch);
        const auto chf = tm.vae.decoder_channels(zf);
        const std::size_t p = 27;
        std::uint8_t nb8[models::kNeighbours];
        float nbf[models::kNeighbours];
        models::neighbourhood(px.data() + i * 64, 8, 8, p / 8, p % 8, nbf);
        for (std::size_t k = 0; k < models::kNeighbours; ++k) nb8[k] = static_cast<std::uint8_t>(std::lround(nbf[k] * 255));
        models::QPixelMixture qm;
        tm.q.pixel_params(ch.data() + p * cfg.channels, nb8, 0, qm);
        const auto fm = tm.vae.pixel_params(std::span<const float>(chf.data() + p * cfg.channels, cfg.channels), std::span<const float>(nbf, models::kNeighbours), 0);
        for (std::size_t k = 0; k < cfg.components; ++k) {
            CHECK(qm.means[k] / 256.0 == Approx(fm.means[k]).margin(1.0));
            CHECK(qm.log_scales[k] / 256.0 == Approx(fm.log_scales[k]).margin(0.05));
            CHECK(qm.logits[k] / 256.0 == Approx(fm.logits[k]).margin(0.05));
        }
    }
  }
}

TEST_CASE("quantized: validate rejects layers that could overflow or do not fit", "[quantized]") {
    const auto tm = test::tiny_model(3);
    REQUIRE(tm.q.validate().has_value());
    auto expect_invalid = [](models::QuantizedVae q, const char* what) {
        auto s = q.validate();
        REQUIRE_FALSE(s.has_value());
        REQUIRE_THAT(s.error().message, Catch::Contains(what));
    };
    {  // a row of int16-maximum weights over 24 inputs of up to 4095 can reach 2^31.6
        auto q = tm.q;
        auto& last = q.decoder().back();
        for (std::int32_t c = 0; c < last.in; ++c) last.weight[static_cast<std::size_t>(c)] = 32767;
        expect_invalid(q, "accumulator bound");
    }
    {
        auto q = tm.q;
        q.decoder()[0].bias[0] = 1 << 30;
        expect_invalid(q, "accumulator bound");
    }
    {
        auto q = tm.q;
        q.head()[0].in_max[0] = 1;  // smaller than the channels that feed it
        expect_invalid(q, "input range");
    }
    {
        auto q = tm.q;
        q.encoder()[1].shift[0] = 100;
        expect_invalid(q, "row format");
    }
    {
        auto q = tm.q;
        q.decoder().back().weight.pop_back();
        expect_invalid(q, "shapes");
    }
    {
        auto q = tm.q;
        q.head().pop_back();
        expect_invalid(q, "head");
    }
    // With the head's skip the last layer reads the head's inputs too, at their ranges.
    const auto skip = test::tiny_model(3, true, true);
    REQUIRE(skip.q.validate().has_value());
    {
        auto q = skip.q;
        auto& last = q.head().back();
        last.in_max[static_cast<std::size_t>(last.in) - 1] = 254;  // the last neighbour byte reaches 255
        expect_invalid(q, "input range");
    }
    {
        auto q = skip.q;
        q.head().erase(q.head().begin());  // the output layer alone: no hidden layer to skip
        expect_invalid(q, "skip");
    }
    {  // the layers of a model without the skip in a configuration with it
        models::VaeConfig cfg = tm.q.config();
        cfg.head_skip = true;
        expect_invalid(models::QuantizedVae(cfg, tm.q.encoder(), tm.q.decoder(), tm.q.head(), tm.q.channel_frac()), "shapes");
    }
}
