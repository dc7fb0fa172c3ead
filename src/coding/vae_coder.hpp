#pragma once
// The VAE as codecs: where models/ (integer parameters) meets codec/ (frequencies).
//
// One image x (rows x cols bytes) is coded by bits-back coding, composed from codec/:
//   prior      interleave over the L latent dims of Uniform(prior_precision): bucket indices
//   posterior  interleave over the L dims of GaussianBuckets(mean_i, log_scale_i) from the
//              quantized encoder
//   likelihood ImageCodec: the pixels in raster order, each a LogisticMixture whose parameters
//              the quantized head computes from the decoder channels for z and the pixel's
//              already-coded causal neighbours (autoregressive)
//   bb_ans(prior, likelihood, posterior) from codec/codec.hpp.
// Symbol i of an interleaved vector goes to lane i mod lanes.
//
// Every number that reaches a codec here is an integer computed by integer arithmetic.
#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <vector>

#include "bbans/expected.hpp"
#include "codec/codec.hpp"
#include "codec/gaussian.hpp"
#include "codec/logistic.hpp"
#include "models/neighbourhood.hpp"
#include "models/packed.hpp"
#include "models/quantized.hpp"

namespace bbans::coding {

using Image = std::vector<std::uint8_t>;
using Latent = std::vector<std::uint32_t>;  // one bucket index per latent dimension

// Pixel mixture parameters from the quantized head -> the codec's integer parameters.
// Mixture weights are e^(logit - max logit) in Q20 from the codec's integer exp table;
// components more than 8 nats below the best get weight 0. scale_offset_q8 (CoderSettings) is
// added to every component's log-scale.
codec::LogisticMixture pixel_model(const models::QPixelMixture& px, unsigned precision, std::int32_t scale_offset_q8 = 0);
void pixel_model(const models::QPixelMixture& px, unsigned precision, codec::LogisticMixture& out,
                 std::int32_t scale_offset_q8 = 0);  // in place

// The likelihood codec of one image given the decoder channels for its latent.
class ImageCodec {
public:
    using symbol_type = Image;
    ImageCodec(std::shared_ptr<const models::PackedVae> vae, std::vector<std::int16_t> channels, unsigned precision);

    void push(codec::Message& m, const Image& x) const;
    Image pop(codec::Message& m) const;
    // -log2 of the probability of x under this codec's frequencies (what push will cost);
    // infinity for an image of the wrong size (push would fail).
    double cost_bits(const Image& x) const;
    // The model of pixel (r, c), given the image's pixels before it in raster order (pixels
    // missing from a short x read as 0).
    codec::LogisticMixture model_at(const Image& x, std::size_t r, std::size_t c) const;

private:
    static constexpr std::size_t kMaxHeadInputs = 64 + models::kNeighbours;  // channels <= 64 (VaeConfig)
    // Index of pixel (r, c) in the zero-bordered copy of the image (see vae_coder.cpp).
    std::size_t at(std::size_t r, std::size_t c) const { return (r + 2) * stride_ + c + 2; }
    std::vector<std::uint8_t> padded(const Image& x) const;
    // One pixel's head output and codec model, reused from pixel to pixel (no re-initialization).
    struct PixelScratch {
        models::QPixelMixture params;
        codec::LogisticMixture model;
    };
    void model_from(const std::uint8_t* padded, std::size_t r, std::size_t c, PixelScratch& out) const;

    std::shared_ptr<const models::PackedVae> vae_;  // shared with the coder: an ImageCodec may outlive it
    std::vector<std::int16_t> channels_;
    unsigned prec_;
    std::size_t stride_ = 0;                                   // cols + 4
    std::array<std::ptrdiff_t, models::kNeighbours> offsets_{};  // neighbour k of (r, c) is at(r, c) + offsets_[k]
};

struct CoderSettings {
    unsigned likelihood_precision = 24;
    // Added to the log-scale of every logistic component the head gives (Q8 nats, at most
    // kMaxScaleOffsetQ8 either way): widens (> 0) or narrows (< 0) every pixel's distribution, a
    // calibration the compressor may choose per entry (docs/format.md, model block). TiledCoder
    // only; VaeCoder (version 1 files) takes 0.
    std::int32_t scale_offset_q8 = 0;
};
inline constexpr std::int32_t kMaxScaleOffsetQ8 = 508;  // 127 x 4: the format's int8 in 1/64 nat

// What every coder of a model holds: the model's layers packed for fast integer inference
// (shared by the coder's copies and the codecs it makes), and its latent bucket grid. Checks
// that the model and the settings can code (likelihood, components, precisions).
struct CoderParts {
    std::shared_ptr<const models::PackedVae> vae;
    codec::BucketGrid grid;
};
Expected<CoderParts> coder_parts(const models::QuantizedVae& vae, CoderSettings settings);

class VaeCoder {
public:
    // Validates and packs the model (models/packed.hpp); the coder does not refer to `vae` later.
    static Expected<VaeCoder> make(const models::QuantizedVae& vae, CoderSettings settings = {});

    std::size_t pixels() const { return vae_->config().pixels(); }
    std::size_t latent_dims() const { return vae_->config().latent; }
    const codec::BucketGrid& grid() const { return grid_; }

    // Bits-back coding of one image (push: pop z with q, push x with p(x|z), push z with p(z)).
    void push(codec::Message& m, const Image& x) const;
    Image pop(codec::Message& m) const;

    // An image coded without bits back: x with the likelihood at the central latent. Seeds an
    // empty message so that the next image's latent pop finds bits to read.
    void push_seed(codec::Message& m, const Image& x) const;
    Image pop_seed(codec::Message& m) const;

    // The coded model's negative ELBO for x in bits, single-sample estimate with the latent
    // drawn from the discretized posterior by `draw` (uniform in [0, 2^posterior_precision)):
    //   -log2 p(x|z) - log2 p(z) + log2 q(z|x), with exactly the frequencies coding uses.
    template <class Draw>
    double neg_elbo_bits(const Image& x, Draw&& draw) const;

    // The pieces, for tests and reports.
    std::vector<codec::GaussianBuckets> posterior_models(const Image& x) const;
    ImageCodec likelihood(const Latent& z) const;

private:
    VaeCoder(std::shared_ptr<const models::PackedVae> vae, codec::BucketGrid grid, CoderSettings s)
        : vae_(std::move(vae)), grid_(std::move(grid)), settings_(s) {}
    // The model's layers rearranged for fast inference (a snapshot taken by make()); shared
    // by copies of the coder and by the ImageCodecs it makes.
    std::shared_ptr<const models::PackedVae> vae_;
    codec::BucketGrid grid_;
    CoderSettings settings_;
};

template <class Draw>
double VaeCoder::neg_elbo_bits(const Image& x, Draw&& draw) const {
    if (x.size() != pixels()) return std::numeric_limits<double>::infinity();  // cannot be coded
    const auto post = posterior_models(x);
    Latent z(post.size());
    double bits = 0;
    const double q_total = static_cast<double>(std::uint64_t{1} << post.front().precision());
    for (std::size_t i = 0; i < post.size(); ++i) {
        z[i] = post[i].symbol(static_cast<std::uint32_t>(draw() & (static_cast<std::uint64_t>(q_total) - 1)));
        bits += std::log2(static_cast<double>(post[i].interval(z[i]).freq) / q_total);  // + log2 q(z|x)
        bits += static_cast<double>(grid_.prior_precision());                             // - log2 p(z)
    }
    return bits + likelihood(z).cost_bits(x);
}

}  // namespace bbans::coding
