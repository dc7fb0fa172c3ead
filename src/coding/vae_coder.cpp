#include "src/coding/vae_coder.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "codec/categorical.hpp"
#include "codec/fixed_point.hpp"
#include "models/neighbourhood.hpp"

namespace bbans::coding {

void pixel_model(const models::QPixelMixture& px, unsigned precision, codec::LogisticMixture& out, std::int32_t scale_offset_q8) {
    const std::size_t k = px.k;
    const std::int32_t best = *std::max_element(px.logits.begin(), px.logits.begin() + static_cast<std::ptrdiff_t>(k));
    std::array<codec::LogisticParams, codec::LogisticMixture::kMaxComponents> comps;
    for (std::size_t j = 0; j < k; ++j) {
        const std::int32_t below = best - px.logits[j];  // Q8 nats, >= 0
        const std::uint32_t w = below > codec::fixed::kLogScaleMax ? 0u : codec::fixed::exp_neg_q20(below);
        comps[j] = {px.means[j], px.log_scales[j] + scale_offset_q8, w};
    }
    // The best component has weight 2^20, so the weights are valid; k <= kMaxComponents is
    // checked when the coder is made, and the precision by the coder's settings.
    (void)out.assign(std::span(comps.data(), k), precision);
}

codec::LogisticMixture pixel_model(const models::QPixelMixture& px, unsigned precision, std::int32_t scale_offset_q8) {
    codec::LogisticMixture m;
    pixel_model(px, precision, m, scale_offset_q8);
    return m;
}

// ---- ImageCodec ---------------------------------------------------------------------------------
//
// The pixels live in a zero-bordered copy of the image: 2 rows above, 2 columns left and right
// (rows + 2) x (cols + 4), so every causal neighbour is one load at a fixed offset and a
// neighbour outside the image reads 0, as models/neighbourhood.hpp specifies.

ImageCodec::ImageCodec(std::shared_ptr<const models::PackedVae> vae, std::vector<std::int16_t> channels, unsigned precision)
    : vae_(std::move(vae)), channels_(std::move(channels)), prec_(precision) {
    const auto& cfg = vae_->config();
    stride_ = cfg.cols + 4;
    for (std::size_t k = 0; k < models::kNeighbours; ++k)
        offsets_[k] = models::kNeighbourOffsets[k].dr * static_cast<std::ptrdiff_t>(stride_) + models::kNeighbourOffsets[k].dc;
}

std::vector<std::uint8_t> ImageCodec::padded(const Image& x) const {
    const auto& cfg = vae_->config();
    std::vector<std::uint8_t> out((cfg.rows + 2) * stride_, 0);
    for (std::size_t r = 0; r < cfg.rows && r * cfg.cols < x.size(); ++r) {
        const std::size_t n = std::min<std::size_t>(cfg.cols, x.size() - r * cfg.cols);
        std::copy_n(x.begin() + static_cast<std::ptrdiff_t>(r * cfg.cols), n, out.begin() + static_cast<std::ptrdiff_t>(at(r, 0)));
    }
    return out;
}

void ImageCodec::model_from(const std::uint8_t* padded, std::size_t r, std::size_t c, PixelScratch& out) const {
    const auto& cfg = vae_->config();
    const std::size_t C = cfg.channels;
    // Head input: the pixel's C decoder channels, then its 12 neighbours (models/packed.hpp).
    std::array<std::int16_t, kMaxHeadInputs> in;
    const std::int16_t* ch = channels_.data() + (r * cfg.cols + c) * C;
    for (std::size_t k = 0; k < C; ++k) in[k] = ch[k];
    if (cfg.autoregressive) {
        const std::uint8_t* centre = padded + at(r, c);
        for (std::size_t k = 0; k < models::kNeighbours; ++k) in[C + k] = centre[offsets_[k]];
    }
    vae_->head(in.data(), 0, out.params);  // one sample per pixel: channel 0
    pixel_model(out.params, prec_, out.model);
}

codec::LogisticMixture ImageCodec::model_at(const Image& x, std::size_t r, std::size_t c) const {
    PixelScratch px;
    model_from(padded(x).data(), r, c, px);
    return px.model;
}

void ImageCodec::push(codec::Message& m, const Image& x) const {
    const auto& cfg = vae_->config();
    if (x.size() != cfg.pixels()) {
        m.fail(codec::MessageStatus::bad_interval);
        return;
    }
    // Pop goes in raster order, so push goes backwards; every neighbour is known here.
    const std::vector<std::uint8_t> px = padded(x);
    const std::size_t lanes = m.lanes();
    PixelScratch pixel;  // re-assigned for each pixel
    for (std::size_t p = x.size(); p-- > 0;) {
        model_from(px.data(), p / cfg.cols, p % cfg.cols, pixel);
        codec::push_symbol(m, p % lanes, pixel.model, std::uint32_t{x[p]});
    }
}

Image ImageCodec::pop(codec::Message& m) const {
    const auto& cfg = vae_->config();
    std::vector<std::uint8_t> px((cfg.rows + 2) * stride_, 0);
    Image x(cfg.pixels(), 0);
    const std::size_t lanes = m.lanes();
    PixelScratch pixel;
    for (std::size_t p = 0; p < x.size(); ++p) {
        const std::size_t r = p / cfg.cols, c = p % cfg.cols;
        model_from(px.data(), r, c, pixel);
        x[p] = static_cast<std::uint8_t>(codec::pop_symbol(m, p % lanes, pixel.model));
        px[at(r, c)] = x[p];
    }
    return x;
}

double ImageCodec::cost_bits(const Image& x) const {
    const auto& cfg = vae_->config();
    if (x.size() != cfg.pixels()) return std::numeric_limits<double>::infinity();
    const double total = std::ldexp(1.0, static_cast<int>(prec_));
    const std::vector<std::uint8_t> px = padded(x);
    double bits = 0;
    PixelScratch pixel;
    for (std::size_t p = 0; p < x.size(); ++p) {
        model_from(px.data(), p / cfg.cols, p % cfg.cols, pixel);
        bits -= std::log2(static_cast<double>(pixel.model.interval(x[p]).freq) / total);
    }
    return bits;
}

// ---- VaeCoder -------------------------------------------------------------------------------------

Expected<CoderParts> coder_parts(const models::QuantizedVae& vae, CoderSettings settings) {
    const auto& cfg = vae.config();
    if (cfg.likelihood == models::Likelihood::logistic_mixture &&
        (cfg.components < 1 || cfg.components > codec::LogisticMixture::kMaxComponents))
        return make_error("the model has " + std::to_string(cfg.components) + " mixture components; the coder takes 1 to " +
                          std::to_string(codec::LogisticMixture::kMaxComponents));
    auto grid = codec::BucketGrid::make(cfg.prior_precision);
    if (!grid) return grid.error();
    if (cfg.posterior_precision <= cfg.prior_precision || cfg.posterior_precision > codec::kMaxPrecision)
        return make_error("the model's posterior precision must be above its prior precision and at most 31");
    if (settings.likelihood_precision < 9 || settings.likelihood_precision > codec::kMaxPrecision)
        return make_error("likelihood precision out of range 9..31");
    if (settings.scale_offset_q8 != 0 && cfg.likelihood != models::Likelihood::logistic_mixture)
        return make_error("a scale offset needs a logistic-mixture model, the model's likelihood has no scales");
    if (settings.scale_offset_q8 < -kMaxScaleOffsetQ8 || settings.scale_offset_q8 > kMaxScaleOffsetQ8)
        return make_error("scale offset out of range -" + std::to_string(kMaxScaleOffsetQ8) + ".." + std::to_string(kMaxScaleOffsetQ8) + " (Q8 nats)");
    auto packed = models::PackedVae::make(vae);
    if (!packed) return packed.error();
    return CoderParts{std::make_shared<const models::PackedVae>(std::move(*packed)), std::move(*grid)};
}

Expected<VaeCoder> VaeCoder::make(const models::QuantizedVae& vae, CoderSettings settings) {
    if (vae.config().likelihood != models::Likelihood::logistic_mixture)
        return make_error("VaeCoder codes logistic-mixture models only (TiledCoder codes every likelihood)");
    if (vae.config().hierarchical())
        return make_error("VaeCoder codes models with one latent layer only (TiledCoder codes hierarchical ones)");
    auto parts = coder_parts(vae, settings);
    if (!parts) return parts.error();
    return VaeCoder(std::move(parts->vae), std::move(parts->grid), settings);
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
    std::vector<std::int16_t> channels(pixels() * vae_->config().channels);  // a mixture model (make)
    vae_->decoder_channels(zq, channels);
    return ImageCodec(vae_, std::move(channels), settings_.likelihood_precision);
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
