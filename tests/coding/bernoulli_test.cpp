// The Bernoulli likelihood codes through the likelihood seam (models/likelihood_kind.hpp,
// src/coding/sample_codecs.hpp): binary images (every sample 0 or 255) round-trip by bits-back
// and restore the message, the rate is the integer model's negative ELBO, and an image with any
// other value is refused with an error, never coded wrong.
#include <catch2/catch.hpp>
#include <random>
#include <string>

#include "models/likelihood_kind.hpp"
#include "models/serialize.hpp"
#include "src/coding/tiled_coder.hpp"
#include "src/coding/vae_coder.hpp"
#include "round_trip.hpp"
#include "test_models.hpp"

using namespace bbans;

namespace {

// Binary blobs: the grey blobs of test_models.hpp thresholded to 0 / 255.
std::vector<std::uint8_t> binary_images(std::size_t count, std::size_t rows, std::size_t cols, std::uint64_t seed) {
    auto px = test::blob_images(count, rows, cols, seed);
    for (auto& v : px) v = v > 100 ? 255 : 0;
    return px;
}

models::VaeConfig bernoulli_config() {
    auto cfg = test::tiny_config(false);
    cfg.likelihood = models::Likelihood::bernoulli;
    return cfg;
}

// A tiny Bernoulli model (random weights), quantized on binary blobs.
models::QuantizedVae bernoulli_model(std::uint64_t seed) {
    const auto cfg = bernoulli_config();
    auto vae = models::Vae::make(cfg, seed);
    REQUIRE(vae.has_value());
    const auto px = binary_images(64, cfg.rows, cfg.cols, seed + 1);
    const models::ImageSet calib{px.data(), 64, cfg.rows, cfg.cols, 1};
    auto q = models::QuantizedVae::from_float(*vae, calib);
    REQUIRE(q.has_value());
    return std::move(*q);
}


}  // namespace

TEST_CASE("Bernoulli: the likelihood kind has no head, one decoder channel and codes 0 and 255 only", "[coding][bernoulli]") {
    const auto cfg = bernoulli_config();
    const models::LikelihoodKind& kind = models::likelihood_kind(cfg);
    CHECK(kind.id() == models::Likelihood::bernoulli);
    CHECK_FALSE(kind.has_head(cfg));
    CHECK(kind.parameters(cfg) == 1);
    CHECK(cfg.decoder_channels() == 1);
    for (int v = 0; v < 256; ++v) CHECK(kind.codes(static_cast<std::uint8_t>(v)) == (v == 0 || v == 255));
    const auto& mixture = models::likelihood_kind(models::Likelihood::logistic_mixture);
    CHECK(mixture.has_head(test::tiny_config()));
    CHECK(mixture.parameters(test::tiny_config()) == 3 * test::tiny_config().components);
}

TEST_CASE("Bernoulli: the quantized model has no head, survives its model file and its logits are Q8", "[coding][bernoulli]") {
    const auto q = bernoulli_model(3);
    CHECK(q.head().empty());
    CHECK(q.decoder().back().out == static_cast<std::int32_t>(q.config().pixels()));
    CHECK(q.channel_frac() == models::kQPixelFrac);
    REQUIRE(q.validate().has_value());
    const std::string bytes = models::serialize_coding_model(models::ModelInfo{}, q);
    auto back = models::deserialize_coding_model(bytes);
    REQUIRE(back.has_value());
    CHECK(back->quantized == q);
    CHECK(back->config() == q.config());
    // The integer logits follow the float ones (same weights; Q8, quantization error only).
    const auto cfg = bernoulli_config();
    auto vae = *models::Vae::make(cfg, 3);
    const std::vector<float> z(cfg.latent, 0.25f);
    const auto fl = vae.decoder_channels(z);
    std::vector<std::int32_t> zq(cfg.latent, static_cast<std::int32_t>(0.25 * 65536));
    std::vector<std::int16_t> il(cfg.pixels());
    q.decoder_channels(zq, il);
    for (std::size_t p = 0; p < cfg.pixels(); ++p) CHECK(il[p] / 256.0 == Approx(std::clamp(fl[p], -16.0f, 16.0f)).epsilon(0.05).margin(0.1));
}

TEST_CASE("Bernoulli: binary images of any size round-trip and restore the message", "[coding][bernoulli]") {
    auto coder = coding::TiledCoder::make(bernoulli_model(5));
    REQUIRE(coder.has_value());
    const std::pair<std::size_t, std::size_t> sizes[] = {{1, 1}, {3, 5}, {8, 8}, {17, 9}, {20, 16}};
    test::check_round_trips(*coder, sizes, [](std::size_t rows, std::size_t cols) { return binary_images(1, rows, cols, rows * 100 + cols); });
}

TEST_CASE("Bernoulli: the rate is the integer model's negative ELBO", "[coding][bernoulli]") {
    auto coder = *coding::TiledCoder::make(bernoulli_model(7));
    const std::size_t rows = 16, cols = 16;
    const auto r = test::rate_and_neg_elbo(coder, rows, cols, 40, 2, 9, [&](std::size_t i) { return binary_images(1, rows, cols, 700 + i); });
    REQUIRE(std::isfinite(r.neg_elbo_bits));
    REQUIRE(r.net_bits == Approx(r.neg_elbo_bits).epsilon(0.05));

    // Without bits back (the likelihood alone at a fixed latent) the cost is exactly what the
    // codec's frequencies say, up to the rANS overhead of a few bits.
    const auto px = binary_images(1, 8, 8, 99);
    const coding::Latent z(coder.config().latent, coder.grid().buckets() / 2);
    auto band = coder.likelihood(z, std::vector<std::uint8_t>(models::Frame{8, 8, 1}.size(), 0), 8, 8);
    codec::Message big = test::some_message(1, 1);
    const double before = static_cast<double>(big.size_bits());
    band.push(big, px);
    REQUIRE(big.ok());
    CHECK(static_cast<double>(big.size_bits()) - before == Approx(band.cost_bits(px)).margin(40));
    CHECK(band.pop(big) == px);
}

TEST_CASE("Bernoulli: a grey image is refused with a clear error, the message untouched", "[coding][bernoulli]") {
    auto coder = *coding::TiledCoder::make(bernoulli_model(11));
    auto px = binary_images(1, 9, 9, 4);
    px[40] = 128;
    codec::Message m = test::some_message(2, 3);
    const codec::Message before = m;
    const auto st = coder.push(m, px, 9, 9);
    REQUIRE_FALSE(st.has_value());
    CHECK(st.error().message.find("Bernoulli") != std::string::npos);
    CHECK(st.error().message.find("0 or 255") != std::string::npos);
    CHECK(st.error().message.find("128") != std::string::npos);
    CHECK(m == before);
    CHECK_FALSE(coder.codable(px).has_value());
    CHECK(std::isinf(coder.neg_elbo_bits(px, 9, 9, [] { return std::uint64_t{0}; })));
    // The whole-image coder takes logistic mixtures only, and says so.
    const auto whole = coding::VaeCoder::make(bernoulli_model(11));
    REQUIRE_FALSE(whole.has_value());
    CHECK(whole.error().message.find("logistic-mixture") != std::string::npos);
}

TEST_CASE("Bernoulli: a scale offset (logistic scales only) is refused, none is fine", "[coding][bernoulli][scale_offset]") {
    const auto q = bernoulli_model(36);
    REQUIRE(coding::TiledCoder::make(q).has_value());
    coding::CoderSettings s;
    s.scale_offset_q8 = 8;
    auto coder = coding::TiledCoder::make(q, s);
    REQUIRE_FALSE(coder.has_value());
    CHECK_THAT(coder.error().message, Catch::Contains("needs a logistic-mixture model"));
    // The sample mixtures the compressor chooses an offset by: none for this likelihood.
    std::mt19937_64 draw(1);
    const auto px = binary_images(1, 8, 8, 3);
    CHECK(coding::TiledCoder::make(q)->mixture_samples(px, 8, 8, draw, 1).empty());
}
