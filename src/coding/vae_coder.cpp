#include "src/coding/vae_coder.hpp"

#include <algorithm>
#include <array>
#include <cmath>

#include "codec/categorical.hpp"
#include "codec/fixed_point.hpp"
#include "models/neighbourhood.hpp"

namespace bbans::coding {

codec::LogisticMixture pixel_model(const models::QPixelMixture& px, unsigned precision) {
    const std::size_t k = px.k;
    const std::int32_t best = *std::max_element(px.logits.begin(), px.logits.begin() + static_cast<std::ptrdiff_t>(k));
    std::array<codec::LogisticParams, codec::LogisticMixture::kMaxComponents> comps{};
    for (std::size_t j = 0; j < k; ++j) {
        const std::int32_t below = best - px.logits[j];  // Q8 nats, >= 0
        const std::uint32_t w = below > codec::fixed::kLogScaleMax ? 0u : codec::fixed::exp_neg_q20(below);
        comps[j] = {px.means[j], px.log_scales[j], w};
    }
    // The best component has weight 2^20, so the weights are valid; k <= kMaxComponents is
    // checked when the coder is made.
    return *codec::LogisticMixture::make(std::span(comps.data(), k), precision);
}

// ---- ImageCodec ---------------------------------------------------------------------------------

codec::LogisticMixture ImageCodec::model_at(const Image& x, std::size_t r, std::size_t c) const {
    const auto& cfg = vae_->config();
    std::array<std::uint8_t, models::kNeighbours> nb{};
    for (std::size_t k = 0; k < models::kNeighbours; ++k) {
        const auto rr = static_cast<std::ptrdiff_t>(r) + models::kNeighbourOffsets[k].dr;
        const auto cc = static_cast<std::ptrdiff_t>(c) + models::kNeighbourOffsets[k].dc;
        const bool inside = rr >= 0 && cc >= 0 && rr < static_cast<std::ptrdiff_t>(cfg.rows) && cc < static_cast<std::ptrdiff_t>(cfg.cols);
        nb[k] = inside ? x[static_cast<std::size_t>(rr) * cfg.cols + static_cast<std::size_t>(cc)] : 0;
    }
    models::QPixelMixture px;
    vae_->pixel_params(channels_.data() + (r * cfg.cols + c) * cfg.channels, nb.data(), px);
    return pixel_model(px, prec_);
}

void ImageCodec::push(codec::Message& m, const Image& x) const {
    const auto& cfg = vae_->config();
    if (x.size() != cfg.pixels()) {
        m.fail(codec::MessageStatus::bad_interval);
        return;
    }
    // Pop goes in raster order, so push goes backwards; every neighbour is known here.
    const std::size_t lanes = m.lanes();
    for (std::size_t p = x.size(); p-- > 0;) codec::push_symbol(m, p % lanes, model_at(x, p / cfg.cols, p % cfg.cols), std::uint32_t{x[p]});
}

Image ImageCodec::pop(codec::Message& m) const {
    const auto& cfg = vae_->config();
    Image x(cfg.pixels(), 0);
    const std::size_t lanes = m.lanes();
    for (std::size_t p = 0; p < x.size(); ++p)
        x[p] = static_cast<std::uint8_t>(codec::pop_symbol(m, p % lanes, model_at(x, p / cfg.cols, p % cfg.cols)));
    return x;
}

double ImageCodec::cost_bits(const Image& x) const {
    const auto& cfg = vae_->config();
    const double total = std::ldexp(1.0, static_cast<int>(prec_));
    double bits = 0;
    for (std::size_t p = 0; p < x.size(); ++p)
        bits -= std::log2(static_cast<double>(model_at(x, p / cfg.cols, p % cfg.cols).interval(x[p]).freq) / total);
    return bits;
}

// ---- VaeCoder -------------------------------------------------------------------------------------

Expected<VaeCoder> VaeCoder::make(const models::QuantizedVae& vae, CoderSettings settings) {
    const auto& cfg = vae.config();
    if (cfg.components < 1 || cfg.components > codec::LogisticMixture::kMaxComponents)
        return make_error("the model has " + std::to_string(cfg.components) + " mixture components; the coder takes 1 to " +
                          std::to_string(codec::LogisticMixture::kMaxComponents));
    auto grid = codec::BucketGrid::make(cfg.prior_precision);
    if (!grid) return grid.error();
    if (cfg.posterior_precision <= cfg.prior_precision || cfg.posterior_precision > codec::kMaxPrecision)
        return make_error("the model's posterior precision must be above its prior precision and at most 31");
    if (settings.likelihood_precision < 9 || settings.likelihood_precision > codec::kMaxPrecision)
        return make_error("likelihood precision out of range 9..31");
    auto packed = models::PackedVae::make(vae);
    if (!packed) return packed.error();
    return VaeCoder(std::make_shared<const models::PackedVae>(std::move(*packed)), std::move(*grid), settings);
}

std::vector<codec::GaussianBuckets> VaeCoder::posterior_models(const Image& x) const {
    const std::size_t L = latent_dims();
    std::vector<std::int32_t> mean(L), log_scale(L);
    vae_->posterior(x, mean, log_scale);
    std::vector<codec::GaussianBuckets> out;
    out.reserve(L);
    for (std::size_t i = 0; i < L; ++i)
        out.push_back(*codec::GaussianBuckets::make(grid_, {mean[i], log_scale[i]}, vae_->config().posterior_precision));
    return out;
}

ImageCodec VaeCoder::likelihood(const Latent& z) const {
    std::vector<std::int32_t> zq(z.size());
    for (std::size_t i = 0; i < z.size(); ++i) zq[i] = grid_.centre_q16(z[i]);
    std::vector<std::int16_t> channels(pixels() * vae_->config().channels);
    vae_->decoder_channels(zq, channels);
    return ImageCodec(*vae_, std::move(channels), settings_.likelihood_precision);
}

namespace {
// The codecs of one bits-back step, built on demand from the coder.
auto bits_back(const VaeCoder& coder) {
    const std::size_t L = coder.latent_dims();
    const codec::Uniform bucket(coder.grid().prior_precision());
    auto prior = codec::interleave(L, [bucket](std::size_t) { return bucket; });
    auto likelihood = [&coder](const Latent& z) { return coder.likelihood(z); };
    auto posterior = [&coder, L](const Image& x) {
        return codec::interleave(L, [models = coder.posterior_models(x)](std::size_t i) { return models[i]; });
    };
    return codec::bb_ans(prior, likelihood, posterior);
}
}  // namespace

void VaeCoder::push(codec::Message& m, const Image& x) const {
    if (x.size() != pixels()) {
        m.fail(codec::MessageStatus::bad_interval);
        return;
    }
    bits_back(*this).push(m, x);
}

Image VaeCoder::pop(codec::Message& m) const { return bits_back(*this).pop(m); }

void VaeCoder::push_seed(codec::Message& m, const Image& x) const {
    likelihood(Latent(latent_dims(), grid_.buckets() / 2)).push(m, x);
}

Image VaeCoder::pop_seed(codec::Message& m) const { return likelihood(Latent(latent_dims(), grid_.buckets() / 2)).pop(m); }

}  // namespace bbans::coding
