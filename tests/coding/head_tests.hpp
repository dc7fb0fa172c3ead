#pragma once
// Helpers of the head-option tests (head_skip_test.cpp, head_per_channel_test.cpp): editing a
// model payload's configuration flags, and comparing the integer head with the float one on
// every sample of some images.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <span>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "models/neighbourhood.hpp"
#include "models/serialize.hpp"
#include "test_models.hpp"

namespace bbans::test {

// The configuration's flags byte in a model payload: cereal's endianness byte, rows, cols,
// latent, encoder_hidden, encoder_layers, decoder_hidden, decoder_layers (u32 each), the
// likelihood (u8) and channels (u32) come before it (models/serialize.cpp).
inline constexpr std::size_t kFlagsAt = 1 + 7 * 4 + 1 + 4;

// The payload of a file, its flags byte changed by `edit`, wrapped again (a valid hash).
template <class Edit>
std::string with_flags(const std::string& file, std::string_view magic, Edit edit) {
    std::string payload(*models::unwrap_container(magic, file));
    payload[kFlagsAt] = static_cast<char>(edit(static_cast<std::uint8_t>(payload[kFlagsAt])));
    return models::wrap_container(magic, payload);
}

// Float channels standing for the integer ones (channel_frac), as the head's first C inputs.
inline std::vector<float> float_channels(const std::int16_t* ch, std::size_t C, std::int32_t frac) {
    std::vector<float> out(C);
    for (std::size_t k = 0; k < C; ++k) out[k] = static_cast<float>(std::ldexp(static_cast<double>(ch[k]), -frac));
    return out;
}

// For every sample of `count` of the model's colour_images: its integer mixture from the
// integer model's head s, next to the float model's from its head s (the same decoder
// channels, as floats, and the same context); `also(s, channels, context_bytes, qm)` sees each
// sample too. Checks that the two agree (means within 1 pixel, log-scales and logits within
// 0.05) and returns the largest mean error, in pixel units.
template <class Also>
double compare_heads(const TinyModel& tm, std::size_t count, Also also) {
    const auto& cfg = tm.q.config();
    const std::size_t S = cfg.image_channels, D = cfg.samples(), C = cfg.channels, n = models::head_context_size(S);
    const models::Frame fr{cfg.rows, cfg.cols, S};
    const auto px = colour_images(count, cfg.rows, cfg.cols, S, 6);
    double worst_mean = 0;
    for (std::size_t i = 0; i < count; ++i) {
        const std::span<const std::uint8_t> x(px.data() + i * D, D);
        std::vector<std::int32_t> mean(cfg.latent), ls(cfg.latent);
        tm.q.posterior(x, mean, ls);
        std::vector<std::int16_t> ch(D * C);
        tm.q.decoder_channels(mean, ch);
        std::vector<std::uint8_t> frame(fr.size());
        models::cut_frame(x.data(), cfg.rows, cfg.cols, fr, 0, 0, frame.data());
        for (std::size_t r = 0; r < cfg.rows; ++r)
            for (std::size_t c = 0; c < cfg.cols; ++c)
                for (std::size_t s = 0; s < S; ++s) {
                    const std::int16_t* sample_ch = ch.data() + ((r * cfg.cols + c) * S + s) * C;
                    std::vector<float> ctx(n);
                    models::frame_context(fr, frame.data() + fr.at(r, c) + s, s, 1.0f, ctx.data());
                    std::vector<std::uint8_t> bytes(n);
                    std::vector<float> ctx_f(n);
                    for (std::size_t k = 0; k < n; ++k) {
                        bytes[k] = static_cast<std::uint8_t>(ctx[k]);
                        ctx_f[k] = ctx[k] / 255.0f;
                    }
                    models::QPixelMixture qm;
                    tm.q.pixel_params(sample_ch, bytes.data(), s, qm);
                    also(s, sample_ch, bytes.data(), qm);
                    const auto fm = tm.vae.pixel_params(float_channels(sample_ch, C, tm.q.channel_frac()), ctx_f, s);
                    for (std::size_t k = 0; k < cfg.components; ++k) {
                        CHECK(qm.means[k] / 256.0 == Approx(fm.means[k]).margin(1.0));
                        CHECK(qm.log_scales[k] / 256.0 == Approx(fm.log_scales[k]).margin(0.05));
                        CHECK(qm.logits[k] / 256.0 == Approx(fm.logits[k]).margin(0.05));
                        worst_mean = std::max(worst_mean, std::abs(qm.means[k] / 256.0 - fm.means[k]));
                    }
                }
    }
    return worst_mean;
}

}  // namespace bbans::test
