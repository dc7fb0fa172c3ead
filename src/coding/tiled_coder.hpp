#pragma once
// Images of any size, grey or colour, coded with a tile model: bits-back coding band by band,
// each pixel's context reaching across tile borders.
//
// THE PICTURE
//   The model has a tile of T x U pixels (VaeConfig rows x cols) of S samples. An image of
//   H x W pixels is cut into bands of T rows (the last may be shorter); a band is cut into
//   tiles of U columns (the last may be narrower). Each tile has its own latent (L dims).
//   One band is one bits-back step:
//     latent     the L * tiles dims of its tiles, tile t's dim l at index t * L + l
//     posterior  tile t's posterior from the encoder on the tile's samples (a partial tile is
//                padded by repeating its last row and column: the encoder always sees T x U)
//     likelihood the band's samples in raster order (row by row across the whole width,
//                sample by sample within a pixel), each coded with its likelihood's sample
//                codec (sample_codecs.hpp: a logistic mixture from the head, fed with its
//                tile's decoder channels and its context (models/neighbourhood.hpp) read
//                from the band's frame: 2 rows above (the band before, or 0 at the top of the
//                image) and 2 columns left and right (0: outside the image); or a Bernoulli
//                from its decoder channel)
//   Symbol q of a band (sample q in raster order) goes to lane q mod lanes; latent dim i to
//   lane i mod lanes.
//
// HIERARCHICAL MODELS (VaeConfig::latent2 = L2 > 0; Bit-Swap)
//   The band's latent above is z1; each tile also has z2 (L2 dims, tile t's dim l at t * L2 + l),
//   and z1's prior is itself a bits-back codec, so one band is two bb_ans nested:
//     inner  bb_ans(prior      uniform buckets for z2,
//                   likelihood z2 -> p(z1|z2): GaussianBuckets per z1 dim (prior1 on z2's centres),
//                   posterior  z1 -> q(z2|z1): GaussianBuckets per z2 dim (encoder2 on z1's centres))
//     outer  bb_ans(prior inner, likelihood BandCodec p(x|z1), posterior q(z1|x))
//   Pushing a band: pop z1 with q(z1|x); push x with p(x|z1); pop z2 with q(z2|z1); push z1
//   with p(z1|z2); push z2 with p(z2). The z2 pop reads bits the x push just put on the message,
//   so only the first layer needs initial bits. All latents share the grid (bucket centres are
//   the networks' inputs) and the posterior precision.
//
// TRAPS
//   - rANS is a stack: the decoder must pop band 0 first (its context is the top of the image),
//     so the encoder pushes the bands last to first. Within a band the likelihood pushes the
//     samples last to first and pops them in raster order, so every context value a sample
//     reads is decoded before it (the rows above; to the left; earlier samples of the pixel).
//   - A band's context above comes from the band before it: a decoder must have decoded that
//     band. An image is therefore one unit of decoding; cutting a large image into independent
//     chunks means coding each chunk's rows as an image of its own (context 0 above it).
//   - The first `seed` bands pushed (the image's last bands) have nothing to pop their latent
//     from in an empty message: they are pushed with the likelihood at the central latent,
//     without bits back.
//   - A tile model whose tile is the whole image (28 x 28 for 28 x 28 images) codes exactly as
//     VaeCoder does, symbol for symbol and lane for lane: tests check both give the same bytes.
//
// PLANES (a grey model coding colour: TiledCoder::make(..., planes = P), docs/format.md)
//   An image of P = 2..4 samples per pixel is coded by a grey model as one grey image of P x rows
//   rows: its P planes stacked (channel 0's rows, then channel 1's, ...), after YCoCg-R (mod 256)
//   on the first three samples when P >= 3 (models/colour.hpp). Bands, seeds and contexts are
//   those of the stacked image (a plane's first rows see the previous plane's last rows above
//   them). A colour model with its own transform (VaeConfig::colour_transform) codes the pixels
//   jointly instead; the compressor scores both and keeps the better.
//
// Every number that reaches a codec here is an integer computed by integer arithmetic.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "bbans/expected.hpp"
#include "codec/codec.hpp"
#include "codec/gaussian.hpp"
#include "codec/logistic.hpp"
#include "models/colour.hpp"
#include "models/neighbourhood.hpp"
#include "models/packed.hpp"
#include "models/quantized.hpp"
#include "src/coding/sample_codecs.hpp"
#include "src/coding/vae_coder.hpp"

namespace bbans::coding {

// A sample's mixture as the head gives it (before any scale offset) and the sample's value:
// what choosing a scale offset needs (TiledCoder::mixture_samples, mixture_bits).
struct MixtureSample {
    models::QPixelMixture params;
    std::uint8_t value = 0;
};
// -log2 of the samples' probabilities under their mixtures with scale_offset_q8 added to every
// log-scale, at `precision` bits (the coder's frequencies, without coding).
double mixture_bits(std::span<const MixtureSample> samples, unsigned precision, std::int32_t scale_offset_q8);

// The likelihood of one band given its tiles' decoder channels. The symbol is the band's
// samples (rows x width x S bytes, row-major, interleaved); the frame gives the context
// around it (models::Frame of rows x width: its margins are read, its interior is not).
class BandCodec {
public:
    using symbol_type = std::vector<std::uint8_t>;
    BandCodec(std::shared_ptr<const models::PackedVae> vae, std::vector<std::int16_t> channels, SampleSettings settings,
              std::vector<std::uint8_t> frame, std::size_t rows, std::size_t width);

    void push(codec::Message& m, const symbol_type& x) const;
    symbol_type pop(codec::Message& m) const;
    // -log2 of x's probability under the frequencies push uses; infinity for a wrong size.
    double cost_bits(const symbol_type& x) const;
    // The model of sample s of pixel (r, c), given the band's samples x (only those before it
    // are read). For tests and tools, logistic-mixture models only; x must have the band's size.
    codec::LogisticMixture model_at(const symbol_type& x, std::size_t r, std::size_t c, std::size_t s) const;
    // Appends the head's mixture and the value of samples q of x (raster order) with
    // (q + phase) % every == 0 to out (logistic-mixture models only); phase becomes the next
    // band's, so that a sequence of bands keeps one sample in `every`.
    void mixture_samples(const symbol_type& x, std::size_t every, std::size_t& phase, std::vector<MixtureSample>& out) const;

private:
    static constexpr std::size_t kMaxHeadInputs = 64 + models::head_context_size(models::kMaxImageChannels);
    // The model of sample s of pixel (r, c) under sample codec K (sample_codecs.hpp), from
    // `frame` (a copy of frame_ holding at least every sample before it).
    template <class K>
    void model_from(const std::uint8_t* frame, std::size_t r, std::size_t c, std::size_t s, typename K::Scratch& out) const;
    template <class K>
    void push_with(codec::Message& m, const symbol_type& x) const;
    template <class K>
    symbol_type pop_with(codec::Message& m) const;
    template <class K>
    double cost_bits_with(const symbol_type& x) const;
    std::vector<std::uint8_t> filled(const symbol_type& x) const;  // frame_ with x as its interior

    std::shared_ptr<const models::PackedVae> vae_;
    std::vector<std::int16_t> channels_;  // tiles x (T * U * S * C)
    SampleSettings settings_;
    std::vector<std::uint8_t> frame_;
    models::Frame geometry_;
    std::size_t channels_per_sample_;                    // C: the decoder's channels of a sample
    std::size_t tile_rows_, tile_cols_, tile_channels_;  // T, U, T * U * S * C
    std::vector<std::ptrdiff_t> offsets_;  // S x context: offset of context value k of sample s
    std::size_t context_ = 0;              // context values per sample
};

// An image of rows x cols pixels of P samples as the P planes it is coded as (PLANES above):
// P x rows rows of cols samples; and back.
std::vector<std::uint8_t> to_planes(std::span<const std::uint8_t> image, std::size_t P);
std::vector<std::uint8_t> from_planes(std::span<const std::uint8_t> planes, std::size_t P);

class TiledCoder {
public:
    // planes: 0, the model codes the images' pixels; P = 2..4, a grey model codes images of P
    // samples per pixel as their planes (PLANES above; its likelihood must code every byte).
    static Expected<TiledCoder> make(const models::QuantizedVae& vae, CoderSettings settings = {}, std::size_t planes = 0);

    const models::VaeConfig& config() const { return vae_->config(); }
    // Samples per pixel of the images coded (the model's, or P with planes).
    std::size_t channels() const { return planes_ ? planes_ : config().image_channels; }
    std::size_t planes() const { return planes_; }
    const codec::BucketGrid& grid() const { return grid_; }

    // An image of rows x cols pixels of channels() samples (row-major, interleaved), in the
    // user's colour space: a model with a colour transform codes the transformed pixels, and pop
    // returns them transformed back. The first
    // `seed` bands pushed (the image's last ones) are pushed without bits back. If band_bits is
    // given, m.content_bits() (rounded) after each band pushed is appended to it.
    Status push(codec::Message& m, std::span<const std::uint8_t> image, std::size_t rows, std::size_t cols,
                std::size_t seed = 0, std::vector<std::uint64_t>* band_bits = nullptr) const;
    std::vector<std::uint8_t> pop(codec::Message& m, std::size_t rows, std::size_t cols, std::size_t seed = 0) const;
    // Whether the model's likelihood can code every one of these samples (in the model's colour
    // space); push refuses an image with an error saying which value it cannot code.
    Status codable(std::span<const std::uint8_t> samples) const;

    // The coded model's negative ELBO of an image in bits (single-sample estimate, latents drawn
    // from the discretized posterior by `draw`, uniform in [0, 2^posterior_precision)), with
    // exactly the frequencies coding uses.
    // skip_last: bands at the image's end left out (seed bands, coded without bits back).
    // latent_bits, if given, is increased by the latents' part, -log2 p(z) + log2 q(z|x) (the
    // KL as coded); the rest is the likelihood's, -log2 p(x|z).
    // Hierarchical: -log2 p(x|z1) - log2 P(z1|z2) + log2 Q(z1|x) - log2 P(z2) + log2 Q(z2|z1), z1
    // drawn from Q(z1|x), then z2 from Q(z2|z1); latent_bits gets both layers' parts and
    // latent2_bits, if given, z2's alone (-log2 P(z2) + log2 Q(z2|z1)).
    template <class Draw>
    double neg_elbo_bits(std::span<const std::uint8_t> image, std::size_t rows, std::size_t cols, Draw&& draw,
                         std::size_t skip_last = 0, double* latent_bits = nullptr, double* latent2_bits = nullptr) const;
    // The same for one band given its frame (models::Frame of rows x width, margins and
    // interior set): e.g. a framed training tile. The frame is in the model's colour space
    // (models/colour.hpp): cut from an image already transformed.
    template <class Draw>
    double frame_neg_elbo_bits(std::span<const std::uint8_t> frame, std::size_t rows, std::size_t width, Draw&& draw,
                               double* latent_bits = nullptr, double* latent2_bits = nullptr) const;

    // Every `every`-th sample of the image (in the order push codes them, planes stacked) with
    // its mixture under latents drawn as neg_elbo_bits draws them (logistic-mixture models;
    // nothing for others): mixture_bits of the result estimates the likelihood's bits under any
    // scale offset from one pass of the network.
    template <class Draw>
    std::vector<MixtureSample> mixture_samples(std::span<const std::uint8_t> image, std::size_t rows, std::size_t cols, Draw&& draw,
                                               std::size_t every) const;

    // Bands of an image of `rows` rows (of the stacked image, with planes).
    std::size_t bands(std::size_t rows) const { return (coded_rows(rows) + config().rows - 1) / config().rows; }
    // Samples in the `seed` bands pushed first (the image's last ones, coded without bits back).
    std::size_t seed_samples(std::size_t rows, std::size_t cols, std::size_t seed) const {
        const std::size_t R = coded_rows(rows), T = config().rows, n = bands(rows);
        return (R - std::min(R, (n - std::min(n, seed)) * T)) * cols * config().image_channels;
    }

    // Pieces, for tests: the tiles of a band and their posteriors; the likelihood of a band.
    std::size_t tiles(std::size_t width) const { return (width + config().cols - 1) / config().cols; }
    std::vector<codec::GaussianBuckets> posterior_models(std::span<const std::uint8_t> band, std::size_t rows,
                                                         std::size_t width) const;
    BandCodec likelihood(const Latent& z, std::vector<std::uint8_t> frame, std::size_t rows, std::size_t width) const;
    // Hierarchical models: q(z2|z1) for z1 (tiles x L buckets), tiles x L2 models; p(z1|z2) for
    // z2 (tiles x L2 buckets), tiles x L models.
    std::vector<codec::GaussianBuckets> posterior2_models(const Latent& z1) const;
    std::vector<codec::GaussianBuckets> prior1_models(const Latent& z2) const;

private:
    TiledCoder(std::shared_ptr<const models::PackedVae> vae, codec::BucketGrid grid, CoderSettings s, std::size_t planes)
        : vae_(std::move(vae)), grid_(std::move(grid)), settings_(s), planes_(planes) {}
    std::size_t coded_rows(std::size_t rows) const { return planes_ ? planes_ * rows : rows; }
    // push, pop and neg_elbo_bits on the image as the model codes it (planes stacked, if any).
    Status push_coded(codec::Message& m, std::span<const std::uint8_t> image, std::size_t rows, std::size_t cols, std::size_t seed,
                      std::vector<std::uint64_t>* band_bits) const;
    std::vector<std::uint8_t> pop_coded(codec::Message& m, std::size_t rows, std::size_t cols, std::size_t seed) const;
    template <class Draw>
    double neg_elbo_coded(std::span<const std::uint8_t> image, std::size_t rows, std::size_t cols, Draw&& draw, std::size_t skip_last,
                          double* latent_bits, double* latent2_bits) const;
    // The frame of a band, with the model's samples per pixel.
    // The frame of the band of `rows` rows from row r0 of the image.
    std::vector<std::uint8_t> band_frame(std::span<const std::uint8_t> image, std::size_t rows_total, std::size_t cols,
                                         std::size_t r0, std::size_t rows) const;
    // The image in the model's colour space (a copy in `buffer` if the model transforms it).
    std::span<const std::uint8_t> model_space(std::span<const std::uint8_t> image, std::vector<std::uint8_t>& buffer) const;
    // A band's latent drawn as neg_elbo_bits draws it (z1 from q(z1|x), then z2 from q(z2|z1) for a
    // hierarchical model); bits gets -log2 p(z) + log2 q(z|x) of both layers, bits2 z2's part.
    template <class Draw>
    Latent draw_band_latent(std::span<const std::uint8_t> band, std::size_t rows, std::size_t width, Draw&& draw, double& bits,
                            double& bits2) const;
    // The band's samples (rows x width x S) from its frame.
    std::vector<std::uint8_t> frame_interior(std::span<const std::uint8_t> frame, std::size_t rows, std::size_t width) const;
    // A latent drawn from the models by `draw` (as coding pops it: cf uniform at their
    // precision); bits is increased by its log2 Q, and by prior_bits per dim.
    template <class Draw>
    static Latent draw_latent(const std::vector<codec::GaussianBuckets>& models, Draw&& draw, double prior_bits, double& bits);
    // -log2 of z's probability under the models.
    static double cost_bits(const std::vector<codec::GaussianBuckets>& models, const Latent& z);
    // Tiles' latents (tiles x n buckets) -> the networks' inputs (bucket centres, Q16) -> a
    // Gaussian per output dim (tiles x out models), by `net` (PackedVae::posterior2 or prior1).
    template <class Net>
    std::vector<codec::GaussianBuckets> latent_models(const Latent& z, std::size_t n, std::size_t out, Net net) const;
    std::shared_ptr<const models::PackedVae> vae_;
    codec::BucketGrid grid_;
    CoderSettings settings_;
    std::size_t planes_ = 0;
};

template <class Draw>
double TiledCoder::frame_neg_elbo_bits(std::span<const std::uint8_t> frame, std::size_t rows, std::size_t width,
                                       Draw&& draw, double* latent_bits, double* latent2_bits) const {
    if (frame.size() != models::Frame{rows, width, config().image_channels}.size()) return std::numeric_limits<double>::infinity();
    const std::vector<std::uint8_t> band = frame_interior(frame, rows, width);
    double bits = 0, bits2 = 0;
    const Latent z = draw_band_latent(band, rows, width, draw, bits, bits2);
    if (latent_bits) *latent_bits += bits;
    if (latent2_bits) *latent2_bits += bits2;
    return bits + likelihood(z, std::vector<std::uint8_t>(frame.begin(), frame.end()), rows, width).cost_bits(band);
}

template <class Draw>
Latent TiledCoder::draw_band_latent(std::span<const std::uint8_t> band, std::size_t rows, std::size_t width, Draw&& draw, double& bits,
                                    double& bits2) const {
    // + log2 q(z1|x), and - log2 p(z) per dim with one latent layer (uniform buckets)
    const bool hier = config().hierarchical();
    const double uniform = static_cast<double>(grid_.prior_precision());
    double b1 = 0, b2 = 0;
    const Latent z = draw_latent(posterior_models(band, rows, width), draw, hier ? 0.0 : uniform, b1);
    if (hier) {
        const Latent z2 = draw_latent(posterior2_models(z), draw, uniform, b2);  // + log2 q(z2|z1) - log2 p(z2)
        b1 += cost_bits(prior1_models(z2), z);                                   // - log2 p(z1|z2)
    }
    bits += b1 + b2;
    bits2 += b2;
    return z;
}

template <class Draw>
std::vector<MixtureSample> TiledCoder::mixture_samples(std::span<const std::uint8_t> image, std::size_t rows, std::size_t cols,
                                                       Draw&& draw, std::size_t every) const {
    std::vector<MixtureSample> out;
    if (config().likelihood != models::Likelihood::logistic_mixture || every == 0 || rows < 1 || cols < 1 ||
        image.size() != rows * cols * channels())
        return out;
    std::vector<std::uint8_t> stacked, transformed;
    if (planes_) {
        stacked = to_planes(image, planes_);
        image = stacked;
        rows *= planes_;
    }
    image = model_space(image, transformed);
    const std::size_t T = config().rows;
    std::size_t phase = 0;
    for (std::size_t r0 = 0; r0 < rows; r0 += T) {
        const std::size_t n = std::min(T, rows - r0);
        std::vector<std::uint8_t> frame = band_frame(image, rows, cols, r0, n);
        const std::vector<std::uint8_t> band = frame_interior(frame, n, cols);
        double bits = 0, bits2 = 0;
        const Latent z = draw_band_latent(band, n, cols, draw, bits, bits2);
        likelihood(z, std::move(frame), n, cols).mixture_samples(band, every, phase, out);
    }
    return out;
}

template <class Draw>
Latent TiledCoder::draw_latent(const std::vector<codec::GaussianBuckets>& models, Draw&& draw, double prior_bits, double& bits) {
    Latent z(models.size());
    for (std::size_t i = 0; i < models.size(); ++i) {
        const std::uint64_t total = std::uint64_t{1} << models[i].precision();
        z[i] = models[i].symbol(static_cast<std::uint32_t>(draw() & (total - 1)));
        bits += std::log2(static_cast<double>(models[i].interval(z[i]).freq) / static_cast<double>(total));
        bits += prior_bits;
    }
    return z;
}

template <class Draw>
double TiledCoder::neg_elbo_bits(std::span<const std::uint8_t> image, std::size_t rows, std::size_t cols, Draw&& draw,
                                 std::size_t skip_last, double* latent_bits, double* latent2_bits) const {
    if (rows < 1 || cols < 1 || image.size() != rows * cols * channels()) return std::numeric_limits<double>::infinity();
    if (planes_) return neg_elbo_coded(to_planes(image, planes_), planes_ * rows, cols, draw, skip_last, latent_bits, latent2_bits);
    return neg_elbo_coded(image, rows, cols, draw, skip_last, latent_bits, latent2_bits);
}

template <class Draw>
double TiledCoder::neg_elbo_coded(std::span<const std::uint8_t> image, std::size_t rows, std::size_t cols, Draw&& draw,
                                  std::size_t skip_last, double* latent_bits, double* latent2_bits) const {
    std::vector<std::uint8_t> transformed;  // as push codes it: in the model's colour space
    image = model_space(image, transformed);
    double bits = 0;
    const std::size_t T = config().rows, n_bands = (rows + T - 1) / T;
    for (std::size_t b = 0; b + skip_last < n_bands; ++b) {
        const std::size_t r0 = b * T;
        const std::size_t n = std::min(T, rows - r0);
        bits += frame_neg_elbo_bits(band_frame(image, rows, cols, r0, n), n, cols, draw, latent_bits, latent2_bits);
    }
    return bits;
}

}  // namespace bbans::coding
