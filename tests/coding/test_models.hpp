#pragma once
// Small VAEs with random weights, quantized, for tests of the integer model and the coder.
#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "models/quantized.hpp"
#include "models/vae.hpp"

namespace bbans::test {

inline models::VaeConfig tiny_config(bool autoregressive = true, bool head_skip = false) {
    models::VaeConfig c;
    c.head_skip = head_skip;
    c.rows = 8;
    c.cols = 8;
    c.latent = 4;
    c.encoder_hidden = 24;
    c.decoder_hidden = 24;
    c.channels = 3;
    c.head_hidden = 8;
    c.components = 3;
    c.autoregressive = autoregressive;
    c.prior_precision = 8;
    c.posterior_precision = 18;
    return c;
}

// The head skip's weights (VaeConfig::head_skip), which a new model has at 0, at random, so
// that the tests see a skip that changes the numbers (every head's: head.N.weight, or head0.N.weight,
// head1.N.weight, ... with head_per_channel). Nothing without the skip.
inline void set_skip_weights(models::Vae& vae, std::uint64_t seed) {
    if (!vae.config().head_skip) return;
    const std::string last = std::string(".").append(std::to_string(vae.config().head_layers)).append(".weight");
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> normal(0.0f, 0.3f);
    for (auto* p : vae.params())
        if (p->name.starts_with("head") && p->name.ends_with(last))
            for (models::Index j = p->value.cols() - static_cast<models::Index>(vae.config().head_inputs()); j < p->value.cols(); ++j)
                for (models::Index i = 0; i < p->value.rows(); ++i) p->value(i, j) = normal(rng);
}

// Images with structure (a bright blob on a dark background, plus noise) so that activations
// and likelihoods look like real ones.
inline std::vector<std::uint8_t> blob_images(std::size_t count, std::size_t rows, std::size_t cols, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<std::uint8_t> px(count * rows * cols);
    for (std::size_t i = 0; i < count; ++i) {
        const double cr = static_cast<double>(rng() % rows), cc = static_cast<double>(rng() % cols);
        for (std::size_t r = 0; r < rows; ++r)
            for (std::size_t c = 0; c < cols; ++c) {
                const double d2 = (r - cr) * (r - cr) + (c - cc) * (c - cc);
                const double v = 255.0 * std::exp(-d2 / 6.0) + static_cast<double>(rng() % 12);
                px[(i * rows + r) * cols + c] = static_cast<std::uint8_t>(std::min(255.0, v));
            }
    }
    return px;
}

// count images of rows x cols pixels of S samples (interleaved): blobs in sample 0, the other
// samples related to it (as colour channels are) plus noise.
inline std::vector<std::uint8_t> colour_images(std::size_t count, std::size_t rows, std::size_t cols, std::size_t S,
                                               std::uint64_t seed) {
    const auto grey = blob_images(count, rows, cols, seed);
    std::mt19937_64 rng(seed ^ 0x5A5A);
    std::vector<std::uint8_t> px(grey.size() * S);
    for (std::size_t i = 0; i < grey.size(); ++i)
        for (std::size_t s = 0; s < S; ++s) {
            const int g = grey[i];
            const int v = s == 0 ? g : s == 1 ? g / 2 + static_cast<int>(rng() % 20) : s == 2 ? 255 - g : 200 + static_cast<int>(rng() % 56);
            px[i * S + s] = static_cast<std::uint8_t>(std::clamp(v, 0, 255));
        }
    return px;
}

struct TinyModel {
    models::Vae vae;
    models::QuantizedVae q;
};

inline TinyModel tiny_model(std::uint64_t seed, bool autoregressive = true, bool head_skip = false) {
    const auto cfg = tiny_config(autoregressive, head_skip);
    auto vae = models::Vae::make(cfg, seed);
    set_skip_weights(*vae, seed);
    const auto px = blob_images(64, cfg.rows, cfg.cols, seed + 1);
    const models::ImageSet calib{px.data(), 64, cfg.rows, cfg.cols};
    auto q = models::QuantizedVae::from_float(*vae, calib);
    return {std::move(*vae), std::move(*q)};
}

// A tiny hierarchical model (latent2 = 3). Its second-layer networks' last layers are scaled up
// to ordinary weights (initialization makes them small, so that q(z2|z1) and p(z1|z2) start near
// N(0, I)), so the tests see priors p(z1|z2) that depend on z2. S samples per pixel, with the
// head's skip and one head per channel if asked.
inline TinyModel tiny_hierarchical_model(std::uint64_t seed, std::size_t S = 1, bool head_skip = false, bool head_per_channel = false) {
    auto cfg = tiny_config(true, head_skip);
    cfg.image_channels = static_cast<std::uint32_t>(S);
    cfg.head_per_channel = head_per_channel;
    cfg.latent2 = 3;
    cfg.latent2_hidden = 8;
    auto vae = models::Vae::make(cfg, seed);
    for (auto* p : vae->params())
        if (p->name == "encoder2.1.weight" || p->name == "prior1.1.weight") p->value *= 10.0f;
    set_skip_weights(*vae, seed);
    const auto px = colour_images(64, cfg.rows, cfg.cols, S, seed + 1);
    const models::ImageSet calib{px.data(), 64, cfg.rows, cfg.cols, S};
    auto q = models::QuantizedVae::from_float(*vae, calib);
    return {std::move(*vae), std::move(*q)};
}

// A tiny model of S samples per pixel (calibrated on colour_images), with the head's linear
// skip (VaeConfig::head_skip) and one head per channel (VaeConfig::head_per_channel) if asked.
inline TinyModel tiny_colour_model(std::size_t S, std::uint64_t seed, bool head_skip = false,
                                   models::ColourTransform transform = models::ColourTransform::none, bool head_per_channel = false) {
    auto cfg = tiny_config(true, head_skip);
    cfg.image_channels = static_cast<std::uint32_t>(S);
    cfg.colour_transform = transform;
    cfg.head_per_channel = head_per_channel;
    auto vae = models::Vae::make(cfg, seed);
    set_skip_weights(*vae, seed);
    const auto px = colour_images(64, cfg.rows, cfg.cols, S, seed + 1);
    const models::ImageSet calib{px.data(), 64, cfg.rows, cfg.cols, S};
    auto q = models::QuantizedVae::from_float(*vae, calib);
    return {std::move(*vae), std::move(*q)};
}

}  // namespace bbans::test
