#include "src/coding/tiled_coder.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "codec/categorical.hpp"
#include "models/likelihood_kind.hpp"

namespace bbans::coding {

// ---- BandCodec ------------------------------------------------------------------------------------

BandCodec::BandCodec(std::shared_ptr<const models::PackedVae> vae, std::vector<std::int16_t> channels, SampleSettings settings,
                     std::vector<std::uint8_t> frame, std::size_t rows, std::size_t width)
    : vae_(std::move(vae)), channels_(std::move(channels)), settings_(settings), frame_(std::move(frame)) {
    const auto& cfg = vae_->config();
    const std::size_t S = cfg.image_channels;
    geometry_ = {rows, width, S};
    channels_per_sample_ = cfg.decoder_channels();
    tile_rows_ = cfg.rows;
    tile_cols_ = cfg.cols;
    tile_channels_ = cfg.samples() * channels_per_sample_;
    context_ = models::likelihood_kind(cfg).reads_context(cfg) ? models::head_context_size(S) : 0;
    offsets_.resize(S * context_);
    for (std::size_t s = 0; s < S; ++s)
        for (std::size_t k = 0; k < context_; ++k) offsets_[s * context_ + k] = geometry_.offset(s, k);
}

std::vector<std::uint8_t> BandCodec::filled(const symbol_type& x) const {
    std::vector<std::uint8_t> f = frame_;
    const std::size_t row_bytes = geometry_.cols * geometry_.S;
    for (std::size_t r = 0; r < geometry_.rows; ++r)
        std::copy_n(x.begin() + static_cast<std::ptrdiff_t>(r * row_bytes), row_bytes, f.begin() + static_cast<std::ptrdiff_t>(geometry_.at(r, 0)));
    return f;
}

template <class K>
void BandCodec::model_from(const std::uint8_t* frame, std::size_t r, std::size_t c, std::size_t s, typename K::Scratch& out) const {
    const std::size_t C = channels_per_sample_, S = geometry_.S;
    // The sample's inputs: its C decoder channels (of its tile), then its context.
    std::array<std::int16_t, kMaxHeadInputs> in;
    const std::size_t t = c / tile_cols_, cc = c % tile_cols_;
    const std::int16_t* ch = channels_.data() + t * tile_channels_ + ((r * tile_cols_ + cc) * S + s) * C;
    for (std::size_t k = 0; k < C; ++k) in[k] = ch[k];
    const std::uint8_t* centre = frame + geometry_.at(r, c) + s;
    const std::ptrdiff_t* off = offsets_.data() + s * context_;
    for (std::size_t k = 0; k < context_; ++k) in[C + k] = models::Frame::used(s, k) ? centre[off[k]] : 0;
    K::model(*vae_, in.data(), s, settings_, out);
}

template <class K>
void BandCodec::push_with(codec::Message& m, const symbol_type& x) const {
    const std::size_t S = geometry_.S, W = geometry_.cols;
    // Pop goes in raster order, so push goes backwards; every context value is known here.
    const std::vector<std::uint8_t> f = filled(x);
    const std::size_t lanes = m.lanes();
    typename K::Scratch sample;
    for (std::size_t q = x.size(); q-- > 0;) {
        const std::size_t p = q / S;
        model_from<K>(f.data(), p / W, p % W, q % S, sample);
        codec::push_symbol(m, q % lanes, sample.model, K::symbol(x[q]));
    }
}

template <class K>
BandCodec::symbol_type BandCodec::pop_with(codec::Message& m) const {
    const std::size_t S = geometry_.S, W = geometry_.cols;
    std::vector<std::uint8_t> f = frame_;
    const std::size_t n = geometry_.rows * W * S;
    for (std::size_t r = 0; r < geometry_.rows; ++r)  // the interior is filled as it is decoded
        std::fill_n(f.begin() + static_cast<std::ptrdiff_t>(geometry_.at(r, 0)), W * S, std::uint8_t{0});
    symbol_type x(n, 0);
    const std::size_t lanes = m.lanes();
    typename K::Scratch sample;
    for (std::size_t q = 0; q < n; ++q) {
        const std::size_t p = q / S, r = p / W, c = p % W, s = q % S;
        model_from<K>(f.data(), r, c, s, sample);
        x[q] = K::value(codec::pop_symbol(m, q % lanes, sample.model));
        f[geometry_.at(r, c) + s] = x[q];
    }
    return x;
}

template <class K>
double BandCodec::cost_bits_with(const symbol_type& x) const {
    const std::size_t S = geometry_.S, W = geometry_.cols;
    const double total = std::ldexp(1.0, static_cast<int>(settings_.precision));
    const std::vector<std::uint8_t> f = filled(x);
    double bits = 0;
    typename K::Scratch sample;
    for (std::size_t q = 0; q < x.size(); ++q) {
        const std::size_t p = q / S;
        model_from<K>(f.data(), p / W, p % W, q % S, sample);
        const std::uint32_t freq = sample.model.interval(K::symbol(x[q])).freq;
        if (freq == 0) return std::numeric_limits<double>::infinity();  // a value the likelihood cannot code
        bits -= std::log2(static_cast<double>(freq) / total);
    }
    return bits;
}

void BandCodec::push(codec::Message& m, const symbol_type& x) const {
    if (x.size() != geometry_.rows * geometry_.cols * geometry_.S) {
        m.fail(codec::MessageStatus::bad_interval);
        return;
    }
    with_sample_codec(vae_->config().likelihood, [&](auto k) { push_with<decltype(k)>(m, x); });
}

BandCodec::symbol_type BandCodec::pop(codec::Message& m) const {
    return with_sample_codec(vae_->config().likelihood, [&](auto k) { return pop_with<decltype(k)>(m); });
}

double BandCodec::cost_bits(const symbol_type& x) const {
    if (x.size() != geometry_.rows * geometry_.cols * geometry_.S) return std::numeric_limits<double>::infinity();
    return with_sample_codec(vae_->config().likelihood, [&](auto k) { return cost_bits_with<decltype(k)>(x); });
}

void BandCodec::mixture_samples(const symbol_type& x, std::size_t every, std::size_t& phase, std::vector<MixtureSample>& out) const {
    if (vae_->config().likelihood != models::Likelihood::logistic_mixture || every == 0 ||
        x.size() != geometry_.rows * geometry_.cols * geometry_.S)
        return;
    const std::size_t S = geometry_.S, W = geometry_.cols;
    const std::vector<std::uint8_t> f = filled(x);
    MixtureSampleCodec::Scratch sample;
    for (std::size_t q = 0; q < x.size(); ++q) {
        if ((q + phase) % every != 0) continue;
        const std::size_t p = q / S;
        model_from<MixtureSampleCodec>(f.data(), p / W, p % W, q % S, sample);
        out.push_back({sample.params, x[q]});
    }
    phase = (phase + x.size()) % every;
}

double mixture_bits(std::span<const MixtureSample> samples, unsigned precision, std::int32_t scale_offset_q8) {
    const double total = std::ldexp(1.0, static_cast<int>(precision));
    codec::LogisticMixture m;
    double bits = 0;
    for (const MixtureSample& s : samples) {
        pixel_model(s.params, precision, m, scale_offset_q8);
        bits -= std::log2(static_cast<double>(m.interval(s.value).freq) / total);
    }
    return bits;
}

codec::LogisticMixture BandCodec::model_at(const symbol_type& x, std::size_t r, std::size_t c, std::size_t s) const {
    if (vae_->config().likelihood != models::Likelihood::logistic_mixture)
        throw std::logic_error("BandCodec::model_at: not a logistic-mixture model");
    MixtureSampleCodec::Scratch sample;
    model_from<MixtureSampleCodec>(filled(x).data(), r, c, s, sample);
    return sample.model;
}

// ---- TiledCoder ------------------------------------------------------------------------------------

Status TiledCoder::codable(std::span<const std::uint8_t> samples) const {
    // A likelihood that codes only some values (Bernoulli: 0 and 255) refuses an image with any
    // other: it could not give it back.
    const models::LikelihoodKind& kind = models::likelihood_kind(config());
    std::array<bool, 256> ok{};
    bool every = true;
    for (std::size_t v = 0; v < ok.size(); ++v) every &= ok[v] = kind.codes(static_cast<std::uint8_t>(v));
    if (every) return Ok{};
    const auto bad = std::find_if(samples.begin(), samples.end(), [&](std::uint8_t v) { return !ok[v]; });
    if (bad == samples.end()) return Ok{};
    std::string what = "a model with the ";
    what += kind.name();
    what += " likelihood codes ";
    what += kind.codable();
    what += "; this image has the value " + std::to_string(*bad);
    what += " at sample " + std::to_string(bad - samples.begin());
    return make_error(what);
}

Expected<TiledCoder> TiledCoder::make(const models::QuantizedVae& vae, CoderSettings settings, std::size_t planes) {
    auto parts = coder_parts(vae, settings);
    if (!parts) return parts.error();
    TiledCoder coder(std::move(parts->vae), std::move(parts->grid), settings, 0);
    if (planes != 0) {
        if (planes < 2 || planes > models::kMaxImageChannels)
            return make_error("images of " + std::to_string(planes) + " samples per pixel cannot be coded as planes");
        if (coder.config().image_channels != 1) return make_error("only a grey model codes images as planes");
        if (!models::likelihood_kind(coder.config()).codes_every_byte())
            return make_error("a model codes images as planes only if its likelihood codes every byte");
        coder.planes_ = planes;
    }
    return coder;
}

std::vector<std::uint8_t> to_planes(std::span<const std::uint8_t> image, std::size_t P) {
    const std::size_t n = image.size() / P;  // pixels
    std::vector<std::uint8_t> out(n * P);
    std::array<std::uint8_t, models::kMaxImageChannels> px{};
    for (std::size_t i = 0; i < n; ++i) {
        std::copy_n(image.begin() + static_cast<std::ptrdiff_t>(i * P), P, px.begin());
        if (P >= 3) models::colour_forward(models::ColourTransform::ycocg_r, px.data());
        for (std::size_t p = 0; p < P; ++p) out[p * n + i] = px[p];
    }
    return out;
}

std::vector<std::uint8_t> from_planes(std::span<const std::uint8_t> planes, std::size_t P) {
    const std::size_t n = planes.size() / P;
    std::vector<std::uint8_t> out(n * P);
    std::array<std::uint8_t, models::kMaxImageChannels> px{};
    for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t p = 0; p < P; ++p) px[p] = planes[p * n + i];
        if (P >= 3) models::colour_inverse(models::ColourTransform::ycocg_r, px.data());
        std::copy_n(px.begin(), P, out.begin() + static_cast<std::ptrdiff_t>(i * P));
    }
    return out;
}

std::vector<codec::GaussianBuckets> TiledCoder::posterior_models(std::span<const std::uint8_t> band, std::size_t rows,
                                                                 std::size_t width) const {
    const auto& cfg = config();
    const std::size_t T = cfg.rows, U = cfg.cols, S = cfg.image_channels, L = cfg.latent;
    const std::size_t n = tiles(width);
    std::vector<std::uint8_t> tile(cfg.samples());
    std::vector<std::int32_t> mean(L), log_scale(L);
    std::vector<codec::GaussianBuckets> out;
    out.reserve(n * L);
    for (std::size_t t = 0; t < n; ++t) {
        // The tile's samples; a partial tile repeats its last row and column.
        for (std::size_t r = 0; r < T; ++r) {
            const std::size_t rr = std::min(r, rows - 1);
            for (std::size_t c = 0; c < U; ++c) {
                const std::size_t cc = std::min(t * U + c, width - 1);
                std::copy_n(band.begin() + static_cast<std::ptrdiff_t>((rr * width + cc) * S), S,
                            tile.begin() + static_cast<std::ptrdiff_t>((r * U + c) * S));
            }
        }
        vae_->posterior(tile, mean, log_scale);
        for (std::size_t i = 0; i < L; ++i)
            out.push_back(*codec::GaussianBuckets::make(grid_, {mean[i], log_scale[i]}, cfg.posterior_precision));
    }
    return out;
}

BandCodec TiledCoder::likelihood(const Latent& z, std::vector<std::uint8_t> frame, std::size_t rows, std::size_t width) const {
    const auto& cfg = config();
    const std::size_t L = cfg.latent, per_tile = cfg.samples() * cfg.decoder_channels();
    const std::size_t n = z.size() / L;
    std::vector<std::int32_t> zq(L);
    std::vector<std::int16_t> channels(n * per_tile);
    for (std::size_t t = 0; t < n; ++t) {
        for (std::size_t i = 0; i < L; ++i) zq[i] = grid_.centre_q16(z[t * L + i]);
        vae_->decoder_channels(zq, std::span(channels.data() + t * per_tile, per_tile));
    }
    return BandCodec(vae_, std::move(channels), SampleSettings{settings_.likelihood_precision, settings_.scale_offset_q8}, std::move(frame), rows,
                     width);
}

template <class Net>
std::vector<codec::GaussianBuckets> TiledCoder::latent_models(const Latent& z, std::size_t n, std::size_t out, Net net) const {
    const std::size_t tiles = z.size() / n;
    std::vector<std::int32_t> zq(n), mean(out), log_scale(out);
    std::vector<codec::GaussianBuckets> models;
    models.reserve(tiles * out);
    for (std::size_t t = 0; t < tiles; ++t) {
        for (std::size_t i = 0; i < n; ++i) zq[i] = grid_.centre_q16(z[t * n + i]);
        net(zq, mean, log_scale);
        for (std::size_t i = 0; i < out; ++i)
            models.push_back(*codec::GaussianBuckets::make(grid_, {mean[i], log_scale[i]}, config().posterior_precision));
    }
    return models;
}

std::vector<codec::GaussianBuckets> TiledCoder::posterior2_models(const Latent& z1) const {
    return latent_models(z1, config().latent, config().latent2,
                         [&](const auto& zq, auto& mean, auto& log_scale) { vae_->posterior2(zq, mean, log_scale); });
}

std::vector<codec::GaussianBuckets> TiledCoder::prior1_models(const Latent& z2) const {
    return latent_models(z2, config().latent2, config().latent,
                         [&](const auto& zq, auto& mean, auto& log_scale) { vae_->prior1(zq, mean, log_scale); });
}

double TiledCoder::cost_bits(const std::vector<codec::GaussianBuckets>& models, const Latent& z) {
    double bits = 0;
    for (std::size_t i = 0; i < models.size(); ++i)
        bits -= std::log2(static_cast<double>(models[i].interval(z[i]).freq) / std::ldexp(1.0, static_cast<int>(models[i].precision())));
    return bits;
}

std::span<const std::uint8_t> TiledCoder::model_space(std::span<const std::uint8_t> image, std::vector<std::uint8_t>& buffer) const {
    if (config().colour_transform == models::ColourTransform::none) return image;
    buffer.assign(image.begin(), image.end());
    models::colour_forward(config().colour_transform, buffer, config().image_channels);
    return buffer;
}

std::vector<std::uint8_t> TiledCoder::frame_interior(std::span<const std::uint8_t> frame, std::size_t rows, std::size_t width) const {
    const models::Frame f{rows, width, config().image_channels};
    const std::size_t row_bytes = width * config().image_channels;
    std::vector<std::uint8_t> band(rows * row_bytes);
    for (std::size_t r = 0; r < rows; ++r)
        std::copy_n(frame.begin() + static_cast<std::ptrdiff_t>(f.at(r, 0)), row_bytes, band.begin() + static_cast<std::ptrdiff_t>(r * row_bytes));
    return band;
}

std::vector<std::uint8_t> TiledCoder::band_frame(std::span<const std::uint8_t> image, std::size_t rows_total, std::size_t cols,
                                                 std::size_t r0, std::size_t rows) const {
    const models::Frame f{rows, cols, config().image_channels};
    std::vector<std::uint8_t> out(f.size());
    models::cut_frame(image.data(), rows_total, cols, f, static_cast<std::ptrdiff_t>(r0), 0, out.data());
    return out;
}

namespace {
// Latent dims on the uniform prior over buckets, p(z) = N(0, I) discretized.
auto uniform_latents(const TiledCoder& coder, std::size_t dims) {
    const codec::Uniform bucket(coder.grid().prior_precision());
    return codec::interleave(dims, [bucket](std::size_t) { return bucket; });
}

// A latent's dims, dim i with models[i].
auto gaussian_latents(std::vector<codec::GaussianBuckets> models) {
    const std::size_t dims = models.size();
    return codec::interleave(dims, [models = std::move(models)](std::size_t i) { return models[i]; });
}

// The prior of a band's z1 in a hierarchical model: bits-back coding of z1 with the latent z2,
// p(z2) uniform buckets, p(z1|z2) and q(z2|z1) from the prior1 and encoder2 networks.
auto hierarchical_prior(const TiledCoder& coder, std::size_t tiles) {
    return codec::bb_ans(uniform_latents(coder, tiles * coder.config().latent2),
                         [&coder](const Latent& z2) { return gaussian_latents(coder.prior1_models(z2)); },
                         [&coder](const Latent& z1) { return gaussian_latents(coder.posterior2_models(z1)); });
}

// The codecs of one band's bits-back step, with z1's prior `prior`.
template <class Prior>
auto band_bits_back(const TiledCoder& coder, Prior prior, std::vector<std::uint8_t> frame, std::size_t rows, std::size_t width) {
    auto likelihood = [&coder, frame = std::move(frame), rows, width](const Latent& z) { return coder.likelihood(z, frame, rows, width); };
    auto posterior = [&coder, rows, width](const std::vector<std::uint8_t>& band) {
        return gaussian_latents(coder.posterior_models(band, rows, width));
    };
    return codec::bb_ans(std::move(prior), likelihood, posterior);
}

// f(the band's bits-back codec): one latent layer, or two nested (Bit-Swap, tiled_coder.hpp).
template <class F>
decltype(auto) with_band_bits_back(const TiledCoder& coder, std::vector<std::uint8_t> frame, std::size_t rows, std::size_t width, F&& f) {
    const std::size_t tiles = coder.tiles(width);
    if (coder.config().hierarchical()) return f(band_bits_back(coder, hierarchical_prior(coder, tiles), std::move(frame), rows, width));
    return f(band_bits_back(coder, uniform_latents(coder, tiles * coder.config().latent), std::move(frame), rows, width));
}
}  // namespace

Status TiledCoder::push(codec::Message& m, std::span<const std::uint8_t> image, std::size_t rows, std::size_t cols,
                        std::size_t seed, std::vector<std::uint64_t>* band_bits) const {
    if (rows < 1 || cols < 1 || image.size() != rows * cols * channels())
        return make_error("the image does not have " + std::to_string(rows) + "x" + std::to_string(cols) + "x" +
                          std::to_string(channels()) + " samples");
    if (planes_) return push_coded(m, to_planes(image, planes_), planes_ * rows, cols, seed, band_bits);
    return push_coded(m, image, rows, cols, seed, band_bits);
}

Status TiledCoder::push_coded(codec::Message& m, std::span<const std::uint8_t> image, std::size_t rows, std::size_t cols,
                              std::size_t seed, std::vector<std::uint64_t>* band_bits) const {
    const std::size_t S = config().image_channels;
    std::vector<std::uint8_t> transformed;  // the image in the model's colour space, if it has one
    image = model_space(image, transformed);
    if (auto ok = codable(image); !ok) return ok;
    const std::size_t T = config().rows, bands = (rows + T - 1) / T, row_bytes = cols * S;
    const Latent central(tiles(cols) * config().latent, grid_.buckets() / 2);
    for (std::size_t k = 0; k < bands; ++k) {
        const std::size_t b = bands - 1 - k, r0 = b * T, n = std::min(T, rows - r0);
        std::vector<std::uint8_t> band(image.begin() + static_cast<std::ptrdiff_t>(r0 * row_bytes),
                                       image.begin() + static_cast<std::ptrdiff_t>((r0 + n) * row_bytes));
        std::vector<std::uint8_t> frame = band_frame(image, rows, cols, r0, n);
        if (k < seed) likelihood(central, std::move(frame), n, cols).push(m, band);
        else with_band_bits_back(*this, std::move(frame), n, cols, [&](const auto& codec) { codec.push(m, band); });
        if (!m.ok()) return make_error(std::string("coding band ") + std::to_string(b) + " failed: " + codec::to_string(m.status()));
        if (band_bits) band_bits->push_back(static_cast<std::uint64_t>(std::llround(m.content_bits())));
    }
    return Ok{};
}

std::vector<std::uint8_t> TiledCoder::pop(codec::Message& m, std::size_t rows, std::size_t cols, std::size_t seed) const {
    if (planes_) return from_planes(pop_coded(m, planes_ * rows, cols, seed), planes_);
    return pop_coded(m, rows, cols, seed);
}

std::vector<std::uint8_t> TiledCoder::pop_coded(codec::Message& m, std::size_t rows, std::size_t cols, std::size_t seed) const {
    const std::size_t S = config().image_channels;
    const std::size_t T = config().rows, bands = (rows + T - 1) / T, row_bytes = cols * S;
    std::vector<std::uint8_t> image(rows * row_bytes, 0);
    const Latent central(tiles(cols) * config().latent, grid_.buckets() / 2);
    for (std::size_t b = 0; b < bands && m.ok(); ++b) {
        const std::size_t k = bands - 1 - b, r0 = b * T, n = std::min(T, rows - r0);
        std::vector<std::uint8_t> frame = band_frame(image, rows, cols, r0, n);
        const std::vector<std::uint8_t> band =
            k < seed ? likelihood(central, std::move(frame), n, cols).pop(m)
                     : with_band_bits_back(*this, std::move(frame), n, cols, [&](const auto& codec) { return codec.pop(m); });
        std::copy(band.begin(), band.end(), image.begin() + static_cast<std::ptrdiff_t>(r0 * row_bytes));
    }
    models::colour_inverse(config().colour_transform, image, S);
    return image;
}

}  // namespace bbans::coding
