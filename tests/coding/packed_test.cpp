// The packed (fast) integer kernels against the reference QLinear / QuantizedVae: equal outputs,
// bit for bit, including at the accumulator bound and for inputs of any sparsity.
#include <catch2/catch.hpp>
#include <random>

#include "models/neighbourhood.hpp"
#include "models/packed.hpp"
#include "test_models.hpp"

using namespace bbans;

namespace {
constexpr std::int64_t kBudget = (std::int64_t{1} << 30) - 1;

// A layer with random int16 weights scaled so that each row uses its whole accumulator budget
// (sum |W| in_max close to 2^30 - 1), a bias near +-2^30, and random row formats.
models::QLinear random_layer(std::mt19937_64& rng, std::int32_t in, std::int32_t out, std::int32_t in_max, bool plain_shifts) {
    models::QLinear q;
    q.in = in;
    q.out = out;
    q.in_max.assign(static_cast<std::size_t>(in), in_max);
    q.weight.resize(static_cast<std::size_t>(in) * static_cast<std::size_t>(out));
    for (std::int32_t r = 0; r < out; ++r) {
        std::vector<std::int64_t> raw(static_cast<std::size_t>(in));
        std::int64_t l1 = 0;
        for (auto& v : raw) {
            v = static_cast<std::int64_t>(rng() % 65535) - 32767;
            l1 += std::abs(v) * in_max;
        }
        // Scale the row down (never up) so that it fits the budget, and most rows fill it.
        const double f = l1 > kBudget ? static_cast<double>(kBudget) / static_cast<double>(l1) : 1.0;
        for (std::int32_t c = 0; c < in; ++c)
            q.weight[static_cast<std::size_t>(r) * static_cast<std::size_t>(in) + static_cast<std::size_t>(c)] =
                static_cast<std::int16_t>(static_cast<double>(raw[static_cast<std::size_t>(c)]) * f);
        q.bias.push_back(static_cast<std::int32_t>(rng() % 2 ? kBudget - static_cast<std::int64_t>(rng() % 1000)
                                                              : -kBudget + static_cast<std::int64_t>(rng() % 1000)));
        const int shift = plain_shifts ? 1 + static_cast<int>(rng() % 31) : static_cast<int>(rng() % 94) - 31;
        q.shift.push_back(static_cast<std::int8_t>(shift));
        const auto lo = -static_cast<std::int32_t>(rng() % 40000), hi = static_cast<std::int32_t>(rng() % 40000);
        q.lo.push_back(lo);
        q.hi.push_back(hi);
    }
    return q;
}
}  // namespace

TEST_CASE("packed: PackedLinear equals QLinear for any sparsity and at the accumulator bound", "[packed]") {
    // Kernel::best is the AVX2 kernel where the CPU has it; otherwise both are the portable one.
    if (!models::PackedLinear::has_avx2()) WARN("no AVX2 here (or BBANS_PORTABLE_KERNELS=1): only the portable kernel is tested");
    std::mt19937_64 rng(7);
    for (int t = 0; t < 300; ++t) {
        // Both kernels: out <= 64 (every pair) and wider (non-zero pairs only); odd and even in.
        const auto in = static_cast<std::int32_t>(1 + rng() % 120);
        const auto out = static_cast<std::int32_t>(1 + rng() % (t % 2 ? 64 : 300));
        const auto in_max = static_cast<std::int32_t>(1 + rng() % 32767);
        const auto q = random_layer(rng, in, out, in_max, t % 3 != 0);
        REQUIRE(q.within_budget());
        const auto p = models::PackedLinear::pack(q);
        const double zero_fraction = static_cast<double>(t % 5) / 4.0;  // 0, 1/4, ..., all zero
        for (int k = 0; k < 5; ++k) {
            std::vector<std::int16_t> x(static_cast<std::size_t>(in));
            for (auto& v : x) {
                if (static_cast<double>(rng() % 1000) < zero_fraction * 1000) v = 0;
                else if (k == 0) v = static_cast<std::int16_t>(rng() % 2 ? in_max : -in_max);  // extremes
                else v = static_cast<std::int16_t>(static_cast<std::int32_t>(rng() % (2 * static_cast<std::uint64_t>(in_max) + 1)) - in_max);
            }
            std::vector<std::int32_t> want(static_cast<std::size_t>(out)), got(static_cast<std::size_t>(out), 12345),
                portable(static_cast<std::size_t>(out), 12345);
            q.forward(x.data(), want.data());
            p.forward(x.data(), got.data());
            p.forward(x.data(), portable.data(), models::PackedLinear::Kernel::portable);
            REQUIRE(got == want);
            REQUIRE(portable == want);
        }
    }
}

TEST_CASE("packed: the worst-case row reaches 2^31 - 2 and stays exact", "[packed]") {
    // One row with sum |W| in_max = 2^30 - 1 exactly and bias 2^30 - 1; inputs at the bound with
    // the weights' signs: the accumulator is 2^31 - 2, the largest the budget allows.
    models::QLinear q;
    q.in = 3;
    q.out = 1;
    q.in_max = {32767, 32767, 1};
    // (16384 + 16384) * 32767 = 2^30 - 2^15; the third input fills the last 2^15 - 1.
    q.weight = {16384, -16384, 32767};
    REQUIRE((16384 + 16384) * std::int64_t{32767} + 32767 == kBudget);
    q.bias = {static_cast<std::int32_t>(kBudget)};
    q.shift = {31};
    q.lo = {-(1 << 30)};
    q.hi = {1 << 30};
    REQUIRE(q.within_budget());
    const std::vector<std::int16_t> x{32767, -32767, 1};
    std::int32_t want = 0, got = 0, portable = 0;
    q.forward(x.data(), &want);
    models::PackedLinear::pack(q).forward(x.data(), &got);
    models::PackedLinear::pack(q).forward(x.data(), &portable, models::PackedLinear::Kernel::portable);
    CHECK(want == 1);  // round((2^31 - 2) / 2^31)
    CHECK(got == want);
    CHECK(portable == want);
}

TEST_CASE("packed: PackedVae computes what QuantizedVae computes", "[packed]") {
    // Grey with and without context and the head's skip; with the skip, colour and hierarchical.
    std::vector<test::TinyModel> models;
    for (const bool autoregressive : {true, false})
        for (const bool skip : {false, true}) models.push_back(test::tiny_model(11, autoregressive, skip));
    models.push_back(test::tiny_colour_model(3, 11, true));
    models.push_back(test::tiny_hierarchical_model(11, 1, true));
    for (const auto& tm : models) {
        const auto& cfg = tm.q.config();
        CAPTURE(cfg.autoregressive, cfg.head_skip, cfg.image_channels, cfg.latent2);
        auto packed = models::PackedVae::make(tm.q);
        REQUIRE(packed.has_value());
        const std::size_t D = cfg.samples(), context = models::head_context_size(cfg.image_channels);
        const auto px = test::colour_images(8, cfg.rows, cfg.cols, cfg.image_channels, 3);
        for (std::size_t i = 0; i < 8; ++i) {
            const std::span<const std::uint8_t> x(px.data() + i * D, D);
            std::vector<std::int32_t> m1(cfg.latent), s1(cfg.latent), m2(cfg.latent), s2(cfg.latent);
            tm.q.posterior(x, m1, s1);
            packed->posterior(x, m2, s2);
            REQUIRE(m1 == m2);
            REQUIRE(s1 == s2);
            std::vector<std::int16_t> c1(D * cfg.channels), c2(c1.size());
            tm.q.decoder_channels(m1, c1);
            packed->decoder_channels(m1, c2);
            REQUIRE(c1 == c2);
            for (std::size_t q = 0; q < D; ++q) {
                std::vector<std::uint8_t> nb(context);
                for (std::size_t k = 0; k < nb.size(); ++k) nb[k] = x[(q + k * 7) % x.size()];
                models::QPixelMixture a, b;
                tm.q.pixel_params(c1.data() + q * cfg.channels, nb.data(), q % cfg.image_channels, a);
                packed->pixel_params(c1.data() + q * cfg.channels, nb.data(), q % cfg.image_channels, b);
                REQUIRE(a.k == b.k);
                REQUIRE(a.logits == b.logits);
                REQUIRE(a.means == b.means);
                REQUIRE(a.log_scales == b.log_scales);
            }
        }
    }
}

TEST_CASE("packed: PackedVae rejects a model that fails validation", "[packed]") {
    auto tm = test::tiny_model(12);
    tm.q.decoder().back().weight.pop_back();
    REQUIRE_FALSE(models::PackedVae::make(tm.q).has_value());
    // A configuration out of bounds (callers size per-pixel buffers by it), layers aside.
    const auto good = test::tiny_model(13);
    auto cfg = good.q.config();
    cfg.channels = 65;
    const models::QuantizedVae wide(cfg, good.q.encoder(), good.q.decoder(), good.q.head(), good.q.channel_frac());
    auto packed = models::PackedVae::make(wide);
    REQUIRE_FALSE(packed.has_value());
    CHECK_THAT(packed.error().message, Catch::Contains("channels"));
}

TEST_CASE("packed: the fused head kernel equals the reference for every head width it takes", "[packed]") {
    // Hidden widths that fill 1 to 8 blocks of 8 rows, odd and even, in 1 to 3 hidden layers,
    // with 1 to 5 components (1 or 2 output blocks); the fused AVX2 path is taken where the CPU
    // has AVX2, and must give QuantizedVae's numbers whatever the shape.
    // With the head's skip too: the output layer then also reads the head's 15 inputs.
    for (const std::size_t hidden : {std::size_t{8}, std::size_t{13}, std::size_t{24}, std::size_t{40}, std::size_t{64}}) {
        for (const std::uint32_t layers : {1U, 2U, 3U})
        for (const std::size_t components : {std::size_t{1}, std::size_t{5}})
        for (const bool skip : {false, true}) {
            CAPTURE(hidden, layers, components, skip);
            auto cfg = test::tiny_config(true, skip);
            cfg.head_hidden = hidden;
            cfg.head_layers = layers;
            cfg.components = components;
            auto vae = models::Vae::make(cfg, 100 + hidden + components + 7 * layers);
            REQUIRE(vae.has_value());
            test::set_skip_weights(*vae, hidden);
            const auto px = test::blob_images(16, cfg.rows, cfg.cols, 5);
            const models::ImageSet calib{px.data(), 16, cfg.rows, cfg.cols};
            auto q = models::QuantizedVae::from_float(*vae, calib);
            REQUIRE(q.has_value());
            auto packed = models::PackedVae::make(*q);
            REQUIRE(packed.has_value());
            std::mt19937_64 rng(hidden * 31 + components);
            for (int trial = 0; trial < 300; ++trial) {
                std::vector<std::int16_t> ch(cfg.channels);
                for (auto& c : ch) c = static_cast<std::int16_t>(static_cast<int>(rng() % 8191) - 4095);
                std::array<std::uint8_t, models::kNeighbours> nb{};
                for (auto& v : nb) v = static_cast<std::uint8_t>(trial % 3 == 0 ? 0 : rng());
                models::QPixelMixture a, b;
                q->pixel_params(ch.data(), nb.data(), 0, a);
                packed->pixel_params(ch.data(), nb.data(), 0, b);
                REQUIRE(a.k == b.k);
                REQUIRE(a.logits == b.logits);
                REQUIRE(a.means == b.means);
                REQUIRE(a.log_scales == b.log_scales);
            }
        }
    }
}
