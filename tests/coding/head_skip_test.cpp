// The head's linear skip (VaeConfig::head_skip: the head's last layer reads [last hidden ; head
// inputs]) in the integer model and the coder: the integer head follows the float one in grey
// and colour, every kernel computes the same numbers for every head shape, the model files keep
// the skip behind their flag bit 4 (and refuse it where it makes no sense), and the tiled coder
// round-trips images and costs the integer -ELBO.
#include <catch2/catch.hpp>
#include <cmath>
#include <random>
#include <string>

#include "models/neighbourhood.hpp"
#include "models/packed.hpp"
#include "models/serialize.hpp"
#include "src/coding/model_file.hpp"
#include "src/coding/tiled_coder.hpp"
#include "head_tests.hpp"
#include "round_trip.hpp"
#include "test_models.hpp"

using namespace bbans;
using test::float_channels, test::kFlagsAt, test::with_flags;

namespace {
constexpr std::uint8_t kFlagHeadSkip = 16;
}  // namespace

TEST_CASE("head skip: the integer head follows the float head, grey and colour", "[coding][head_skip]") {
    for (const std::size_t S : {1u, 3u}) {
        CAPTURE(S);
        const auto tm = test::tiny_colour_model(S, 5, true);
        REQUIRE(tm.q.config().head_skip);
        const double worst_mean = test::compare_heads(tm, 4, [](std::size_t, const std::int16_t*, const std::uint8_t*, const models::QPixelMixture&) {});
        INFO("largest mean error " << worst_mean << " pixel units");
        CHECK(worst_mean < 1.0);
    }
}

TEST_CASE("head skip: every kernel computes the reference's numbers for every head shape", "[coding][head_skip][packed]") {
    // One hidden layer (the fused AVX2 kernel where the CPU has it), two (the stack path), one
    // wider than 256 (the generic path); grey, and 4 samples per pixel (27 head inputs).
    struct Shape {
        std::uint32_t hidden, layers, S;
    };
    for (const Shape sh : {Shape{8, 1, 1}, Shape{13, 1, 4}, Shape{64, 1, 1}, Shape{8, 2, 1}, Shape{20, 3, 4}, Shape{300, 1, 1}}) {
        CAPTURE(sh.hidden, sh.layers, sh.S);
        auto cfg = test::tiny_config(true, true);
        cfg.head_hidden = sh.hidden;
        cfg.head_layers = sh.layers;
        cfg.image_channels = sh.S;
        auto vae = models::Vae::make(cfg, 200 + sh.hidden);
        REQUIRE(vae.has_value());
        test::set_skip_weights(*vae, sh.hidden);
        const auto px = test::colour_images(16, cfg.rows, cfg.cols, sh.S, 7);
        auto q = models::QuantizedVae::from_float(*vae, {px.data(), 16, cfg.rows, cfg.cols, sh.S});
        REQUIRE(q.has_value());
        REQUIRE(q->head().back().in == static_cast<std::int32_t>(sh.hidden + cfg.head_inputs()));
        auto packed = models::PackedVae::make(*q);
        REQUIRE(packed.has_value());
        std::mt19937_64 rng(sh.hidden * 7 + sh.S);
        for (int trial = 0; trial < 300; ++trial) {
            std::vector<std::int16_t> ch(cfg.channels);
            for (auto& c : ch) c = static_cast<std::int16_t>(static_cast<int>(rng() % 8191) - 4095);
            std::vector<std::uint8_t> nb(models::head_context_size(sh.S));
            for (auto& v : nb) v = static_cast<std::uint8_t>(trial % 3 == 0 ? (trial % 2 ? 255 : 0) : rng());
            models::QPixelMixture a, b;
            q->pixel_params(ch.data(), nb.data(), 0, a);
            packed->pixel_params(ch.data(), nb.data(), 0, b);
            REQUIRE(a.logits == b.logits);
            REQUIRE(a.means == b.means);
            REQUIRE(a.log_scales == b.log_scales);
        }
    }
}

TEST_CASE("head skip: model files keep it behind flag bit 4 and refuse it where it makes no sense", "[coding][head_skip][hostile]") {
    const auto tm = test::tiny_model(41, true, true);
    const auto plain = test::tiny_model(41);
    // The float model file, its checkpoint and the coding model file round-trip byte for byte.
    test::check_model_files_round_trip(tm);
    const std::string file = models::serialize_model(tm.vae);
    CHECK(models::deserialize_model(file)->config().head_skip);
    // The flag is bit 4 of the flags byte, and only there: the same configuration without the
    // skip writes the flags byte without it (its bytes are those of a file from before).
    const std::string plain_file = models::serialize_model(plain.vae);
    CHECK(static_cast<std::uint8_t>(models::unwrap_container(models::kModelMagic, file)->at(kFlagsAt)) == (1 | kFlagHeadSkip));
    CHECK(static_cast<std::uint8_t>(models::unwrap_container(models::kModelMagic, plain_file)->at(kFlagsAt)) == 1);
    // The skip's weights: the head's last weight has head_inputs() more columns.
    const auto P = static_cast<std::size_t>(tm.vae.config().head_hidden), F = tm.vae.config().head_inputs();
    CHECK(tm.vae.head().layers().back().weight.value.cols() == static_cast<models::Index>(P + F));
    CHECK(plain_file.size() + F * 3 * tm.vae.config().components * 4 == file.size());

    // The coding model file, and one made as bbans train makes it.
    const std::string coding = models::serialize_coding_model(tm.vae.info(), tm.q);
    CHECK(models::deserialize_coding_model(coding)->config().head_skip);
    const auto px = test::blob_images(16, 8, 8, 2);
    auto made = coding::CodingModel::from_trained(tm.vae, {px.data(), 16, 8, 8});
    REQUIRE(made.has_value());
    CHECK(made->file.config().head_skip);
    CHECK(coding::TiledCoder::make(made->quantized()).has_value());

    // The flag cleared on a model with the skip, or set on one without it: the head's last
    // layer has the wrong shape.
    const auto clear = [](std::uint8_t f) { return static_cast<std::uint8_t>(f & ~kFlagHeadSkip); };
    const auto set = [](std::uint8_t f) { return static_cast<std::uint8_t>(f | kFlagHeadSkip); };
    CHECK_FALSE(models::deserialize_model(with_flags(file, models::kModelMagic, clear)).has_value());
    CHECK_FALSE(models::deserialize_model(with_flags(plain_file, models::kModelMagic, set)).has_value());
    const std::string plain_coding = models::serialize_coding_model(plain.vae.info(), plain.q);
    CHECK_FALSE(models::deserialize_coding_model(with_flags(coding, models::kCodingModelMagic, clear)).has_value());
    CHECK_FALSE(models::deserialize_coding_model(with_flags(plain_coding, models::kCodingModelMagic, set)).has_value());

    // A likelihood without a head (Bernoulli) cannot have the head's skip: refused in memory and
    // in files, with a message that says why.
    auto bern_cfg = test::tiny_config(false);
    bern_cfg.likelihood = models::Likelihood::bernoulli;
    auto bern = models::Vae::make(bern_cfg, 42);
    REQUIRE(bern.has_value());
    bern_cfg.head_skip = true;
    REQUIRE_FALSE(bern_cfg.validate().has_value());
    CHECK_THAT(bern_cfg.validate().error().message, Catch::Contains("head skip"));
    CHECK_FALSE(models::Vae::make(bern_cfg, 42).has_value());
    const auto bern_file = with_flags(models::serialize_model(*bern), models::kModelMagic, set);
    auto r = models::deserialize_model(bern_file);
    REQUIRE_FALSE(r.has_value());
    CHECK_THAT(r.error().message, Catch::Contains("head skip"));
    const auto bern_px = test::blob_images(16, 8, 8, 3);
    auto bern_q = models::QuantizedVae::from_float(*bern, {bern_px.data(), 16, 8, 8});
    REQUIRE(bern_q.has_value());
    auto rc = models::deserialize_coding_model(with_flags(models::serialize_coding_model({}, *bern_q), models::kCodingModelMagic, set));
    REQUIRE_FALSE(rc.has_value());
    CHECK_THAT(rc.error().message, Catch::Contains("head skip"));
}

TEST_CASE("head skip: the tiled coder round-trips grey, colour and hierarchical models and costs the -ELBO", "[coding][head_skip][tiled]") {
    std::vector<test::TinyModel> models;
    models.push_back(test::tiny_model(51, true, true));
    models.push_back(test::tiny_colour_model(3, 51, true));
    models.push_back(test::tiny_hierarchical_model(51, 1, true));
    for (const auto& tm : models) {
        const auto& cfg = tm.q.config();
        const std::size_t S = cfg.image_channels;
        CAPTURE(S, cfg.latent2);
        auto coder = coding::TiledCoder::make(tm.q);
        REQUIRE(coder.has_value());
        const std::pair<std::size_t, std::size_t> sizes[] = {{1, 1}, {8, 8}, {3, 5}, {17, 9}, {20, 16}};
        test::check_round_trips(*coder, sizes, [&](std::size_t rows, std::size_t cols) {
            return test::colour_images(1, rows, cols, S, rows * 100 + cols);
        });
    }
    // The rate of many images is their integer -ELBO (as in tiled_test.cpp).
    auto coder = *coding::TiledCoder::make(models[1].q);
    const std::size_t rows = 19, cols = 13;
    const auto r = test::rate_and_neg_elbo(coder, rows, cols, 30, 3, 3, [&](std::size_t i) { return test::colour_images(1, rows, cols, 3, 700 + i); });
    REQUIRE(r.net_bits == Approx(r.neg_elbo_bits).epsilon(0.05));
}
