// One head per channel (VaeConfig::head_per_channel: sample s of a pixel uses head s) in the
// integer model and the coder: each integer head follows its float head, is calibrated on its
// own channel's samples, every kernel computes the reference's numbers for every head, the model
// files keep the heads behind flag bit 5 (and refuse it where it makes no sense), and the tiled
// coder round-trips colour images and costs the integer -ELBO.
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
constexpr std::uint8_t kFlagHeadPerChannel = 32;
}  // namespace

TEST_CASE("per-channel heads: each integer head follows its float head", "[coding][per_channel]") {
    for (const bool skip : {false, true}) {
        CAPTURE(skip);
        const std::size_t S = 3;
        const auto tm = test::tiny_colour_model(S, 5, skip, models::ColourTransform::none, true);
        REQUIRE(tm.q.config().head_per_channel);
        std::size_t differ = 0;  // samples whose own head gives other means than head 0 would
        const double worst_mean =
            test::compare_heads(tm, 4, [&](std::size_t s, const std::int16_t* ch, const std::uint8_t* bytes, const models::QPixelMixture& qm) {
                models::QPixelMixture q0;
                tm.q.pixel_params(ch, bytes, 0, q0);
                if (s > 0 && qm.means != q0.means) ++differ;
            });
        INFO("largest mean error " << worst_mean << " pixel units");
        CHECK(worst_mean < 1.0);
        CHECK(differ == 4 * tm.q.config().pixels() * (S - 1));  // heads 1 and 2 are not head 0
    }
}

TEST_CASE("per-channel heads: each head is calibrated on its own channel's samples", "[coding][per_channel]") {
    // Three heads with the same float weights that read only the sample's 12 neighbours in its
    // own channel (the other columns of the first layer at 0), calibrated on images whose three
    // planes are constant 255, 60 and 8: with no biases and ReLU, each head's hidden maxima are
    // its channel's level times the same factor, so the heads' hidden scales (and the first
    // layer's shifts) differ by at least 2 bits. Calibrated on every sample, as one shared head
    // is, the three would be equal.
    auto cfg = test::tiny_config();
    cfg.image_channels = 3;
    cfg.head_per_channel = true;
    auto vae = models::Vae::make(cfg, 9);
    REQUIRE(vae.has_value());
    const auto ps = vae->params();
    const std::size_t per_head = 2 * (cfg.head_layers + 1), first = ps.size() - 3 * per_head;
    REQUIRE(ps[first]->name == "head0.0.weight");
    auto& w0 = ps[first]->value;
    w0.leftCols(cfg.channels).setZero();
    w0.rightCols(static_cast<models::Index>(cfg.head_inputs() - cfg.channels - models::kNeighbours)).setZero();
    for (std::size_t h = 1; h < 3; ++h)
        for (std::size_t k = 0; k < per_head; ++k) ps[first + h * per_head + k]->value = ps[first + k]->value;
    std::vector<std::uint8_t> px(32 * cfg.pixels() * 3);
    for (std::size_t q = 0; q < px.size(); q += 3) {
        px[q] = 255;
        px[q + 1] = 60;
        px[q + 2] = 8;
    }
    auto q = models::QuantizedVae::from_float(*vae, {px.data(), 32, cfg.rows, cfg.cols, 3});
    REQUIRE(q.has_value());
    REQUIRE(q->head().size() == 3 * (cfg.head_layers + 1));
    for (std::size_t s = 0; s < 3; ++s) REQUIRE(q->channel_head(s).size() == cfg.head_layers + 1);
    for (std::size_t r = 0; r < static_cast<std::size_t>(q->channel_head(0)[0].out); ++r) {
        CAPTURE(r);
        CHECK(q->channel_head(1)[0].shift[r] <= q->channel_head(0)[0].shift[r] - 2);  // a 4x smaller range: 2 bits finer
        CHECK(q->channel_head(2)[0].shift[r] <= q->channel_head(1)[0].shift[r] - 2);
    }
}

TEST_CASE("per-channel heads: every kernel computes the reference's numbers for every head", "[coding][per_channel][packed]") {
    // One hidden layer (the fused AVX2 kernel per head where the CPU has it), two (the stack
    // path), one wider than 256 (the generic path); with and without the skip; 2, 3 and 4
    // samples per pixel.
    struct Shape {
        std::uint32_t hidden, layers, S;
        bool skip;
    };
    for (const Shape sh : {Shape{8, 1, 3, false}, Shape{13, 1, 2, true}, Shape{64, 1, 4, false}, Shape{8, 2, 3, true},
                           Shape{20, 3, 4, false}, Shape{300, 1, 3, true}}) {
        CAPTURE(sh.hidden, sh.layers, sh.S, sh.skip);
        auto cfg = test::tiny_config(true, sh.skip);
        cfg.head_hidden = sh.hidden;
        cfg.head_layers = sh.layers;
        cfg.image_channels = sh.S;
        cfg.head_per_channel = true;
        auto vae = models::Vae::make(cfg, 300 + sh.hidden);
        REQUIRE(vae.has_value());
        test::set_skip_weights(*vae, sh.hidden);
        const auto px = test::colour_images(16, cfg.rows, cfg.cols, sh.S, 7);
        auto q = models::QuantizedVae::from_float(*vae, {px.data(), 16, cfg.rows, cfg.cols, sh.S});
        REQUIRE(q.has_value());
        REQUIRE(q->head().size() == sh.S * (sh.layers + 1));
        auto packed = models::PackedVae::make(*q);
        REQUIRE(packed.has_value());
        std::mt19937_64 rng(sh.hidden * 7 + sh.S);
        for (int trial = 0; trial < 200; ++trial) {
            std::vector<std::int16_t> ch(cfg.channels);
            for (auto& c : ch) c = static_cast<std::int16_t>(static_cast<int>(rng() % 8191) - 4095);
            std::vector<std::uint8_t> nb(models::head_context_size(sh.S));
            for (auto& v : nb) v = static_cast<std::uint8_t>(trial % 3 == 0 ? (trial % 2 ? 255 : 0) : rng());
            for (std::size_t s = 0; s < sh.S; ++s) {
                CAPTURE(s);
                models::QPixelMixture a, b;
                q->pixel_params(ch.data(), nb.data(), s, a);
                packed->pixel_params(ch.data(), nb.data(), s, b);
                REQUIRE(a.logits == b.logits);
                REQUIRE(a.means == b.means);
                REQUIRE(a.log_scales == b.log_scales);
            }
        }
    }
}

TEST_CASE("per-channel heads: model files keep them behind flag bit 5 and refuse it where it makes no sense",
          "[coding][per_channel][hostile]") {
    const auto tm = test::tiny_colour_model(3, 41, false, models::ColourTransform::ycocg_r, true);
    const auto shared = test::tiny_colour_model(3, 41, false, models::ColourTransform::ycocg_r);
    // The float model file, its checkpoint and the coding model file round-trip byte for byte.
    test::check_model_files_round_trip(tm);
    test::check_model_files_round_trip(test::tiny_colour_model(4, 42, true, models::ColourTransform::none, true));
    const std::string file = models::serialize_model(tm.vae);
    CHECK(models::deserialize_model(file)->config().head_per_channel);
    // The flag is bit 5 of the flags byte, and only there: the same model with one head writes
    // the flags byte without it (its bytes are those of a file from before).
    const std::string shared_file = models::serialize_model(shared.vae);
    const auto flags = [](const std::string& f) { return static_cast<std::uint8_t>(models::unwrap_container(models::kModelMagic, f)->at(kFlagsAt)); };
    CHECK(flags(file) == (flags(shared_file) | kFlagHeadPerChannel));
    CHECK((flags(shared_file) & kFlagHeadPerChannel) == 0);
    // Two more heads' weights, nothing else.
    const auto& c = tm.vae.config();
    const std::size_t head_floats = c.head_inputs() * c.head_hidden + c.head_hidden + c.head_hidden * 3 * c.components + 3 * c.components;
    CHECK(shared_file.size() + 2 * (head_floats * 4 + 4 * 2 * 4) == file.size());

    // The coding model file: S heads' layers in the head stack; one made as bbans train makes it.
    const std::string coding = models::serialize_coding_model(tm.vae.info(), tm.q);
    auto back = models::deserialize_coding_model(coding);
    REQUIRE(back.has_value());
    CHECK(back->config().head_per_channel);
    CHECK(back->quantized.head().size() == 3 * (c.head_layers + 1));
    const auto px = test::colour_images(16, 8, 8, 3, 2);
    auto made = coding::CodingModel::from_trained(tm.vae, {px.data(), 16, 8, 8, 3});
    REQUIRE(made.has_value());
    CHECK(made->file.config().head_per_channel);
    CHECK(coding::TiledCoder::make(made->quantized()).has_value());

    // The flag cleared on a model with per-channel heads, or set on one without: the weights do
    // not match the configuration.
    const auto clear = [](std::uint8_t f) { return static_cast<std::uint8_t>(f & ~kFlagHeadPerChannel); };
    const auto set = [](std::uint8_t f) { return static_cast<std::uint8_t>(f | kFlagHeadPerChannel); };
    CHECK_FALSE(models::deserialize_model(with_flags(file, models::kModelMagic, clear)).has_value());
    CHECK_FALSE(models::deserialize_model(with_flags(shared_file, models::kModelMagic, set)).has_value());
    const std::string shared_coding = models::serialize_coding_model(shared.vae.info(), shared.q);
    CHECK_FALSE(models::deserialize_coding_model(with_flags(coding, models::kCodingModelMagic, clear)).has_value());
    CHECK_FALSE(models::deserialize_coding_model(with_flags(shared_coding, models::kCodingModelMagic, set)).has_value());
    // An unknown flag bit is refused.
    const auto unknown = [](std::uint8_t f) { return static_cast<std::uint8_t>(f | 64); };
    CHECK_FALSE(models::deserialize_model(with_flags(file, models::kModelMagic, unknown)).has_value());
    CHECK_FALSE(models::deserialize_coding_model(with_flags(coding, models::kCodingModelMagic, unknown)).has_value());

    // A grey model cannot have per-channel heads: refused in memory and in files, saying why.
    const auto grey = test::tiny_model(43);
    auto grey_cfg = grey.vae.config();
    grey_cfg.head_per_channel = true;
    REQUIRE_FALSE(grey_cfg.validate().has_value());
    CHECK_THAT(grey_cfg.validate().error().message, Catch::Contains("per-channel heads"));
    CHECK_FALSE(models::Vae::make(grey_cfg, 43).has_value());
    auto r = models::deserialize_model(with_flags(models::serialize_model(grey.vae), models::kModelMagic, set));
    REQUIRE_FALSE(r.has_value());
    CHECK_THAT(r.error().message, Catch::Contains("per-channel heads"));
    auto rc = models::deserialize_coding_model(with_flags(models::serialize_coding_model({}, grey.q), models::kCodingModelMagic, set));
    REQUIRE_FALSE(rc.has_value());
    CHECK_THAT(rc.error().message, Catch::Contains("per-channel heads"));

    // A quantized head stack that is not S heads of one shape is refused.
    auto q = tm.q;
    q.head().pop_back();
    CHECK_FALSE(q.validate().has_value());
    q = tm.q;
    auto& h1 = q.head()[c.head_layers + 1];  // head 1's first layer: one row fewer
    h1.out -= 1;
    h1.weight.resize(static_cast<std::size_t>(h1.out) * static_cast<std::size_t>(h1.in));
    h1.shift.pop_back();
    h1.bias.pop_back();
    h1.lo.pop_back();
    h1.hi.pop_back();
    auto r2 = q.validate();
    REQUIRE_FALSE(r2.has_value());
    CHECK_THAT(r2.error().message, Catch::Contains("different shapes"));
}

TEST_CASE("per-channel heads: the tiled coder round-trips colour images and costs the -ELBO", "[coding][per_channel][tiled]") {
    std::vector<test::TinyModel> models;
    models.push_back(test::tiny_colour_model(3, 51, false, models::ColourTransform::ycocg_r, true));
    models.push_back(test::tiny_colour_model(2, 52, true, models::ColourTransform::none, true));
    models.push_back(test::tiny_colour_model(4, 53, false, models::ColourTransform::none, true));
    models.push_back(test::tiny_hierarchical_model(54, 3, false, true));
    for (const auto& tm : models) {
        const auto& cfg = tm.q.config();
        const std::size_t S = cfg.image_channels;
        CAPTURE(S, cfg.head_skip, cfg.latent2);
        REQUIRE(cfg.head_per_channel);
        auto coder = coding::TiledCoder::make(tm.q);
        REQUIRE(coder.has_value());
        const std::pair<std::size_t, std::size_t> sizes[] = {{1, 1}, {8, 8}, {3, 5}, {17, 9}, {20, 16}};
        test::check_round_trips(*coder, sizes, [&](std::size_t rows, std::size_t cols) {
            return test::colour_images(1, rows, cols, S, rows * 100 + cols);
        });
    }
    // The rate of many images is their integer -ELBO (as in tiled_test.cpp).
    auto coder = *coding::TiledCoder::make(models[0].q);
    const std::size_t rows = 19, cols = 13;
    const auto r = test::rate_and_neg_elbo(coder, rows, cols, 30, 3, 3, [&](std::size_t i) { return test::colour_images(1, rows, cols, 3, 700 + i); });
    REQUIRE(r.net_bits == Approx(r.neg_elbo_bits).epsilon(0.05));
}
