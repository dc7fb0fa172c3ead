#include "models/quantized.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "models/likelihood.hpp"
#include "models/likelihood_kind.hpp"
#include "models/neighbourhood.hpp"

namespace bbans::models {

namespace {
constexpr std::int64_t kBudget = (std::int64_t{1} << 30) - 1;  // per-row bound of sum |W| * in_max, and of |b|
constexpr std::int64_t kMaxWeight = 32767;

// Rounds half away from zero; the only float->int step of quantization (done once, offline).
std::int64_t round_to_int(double v) { return static_cast<std::int64_t>(std::llround(v)); }

}  // namespace

void row_sums(const std::int16_t* w, std::size_t rows, std::size_t n, const std::int32_t* bias, const std::int16_t* x,
              std::int32_t* acc) {
    std::size_t r = 0;
    // Four rows at a time: each input is loaded once for four accumulators. The int32 sums are
    // exact (see the bound in the header), so the compiler's vectorized order does not matter.
    for (; r + 4 <= rows; r += 4) {
        const std::int16_t* w0 = w + r * n;
        const std::int16_t* w1 = w0 + n;
        const std::int16_t* w2 = w1 + n;
        const std::int16_t* w3 = w2 + n;
        std::int32_t a0 = bias[r], a1 = bias[r + 1], a2 = bias[r + 2], a3 = bias[r + 3];
        for (std::size_t c = 0; c < n; ++c) {
            const std::int32_t xc = x[c];
            a0 += w0[c] * xc;
            a1 += w1[c] * xc;
            a2 += w2[c] * xc;
            a3 += w3[c] * xc;
        }
        acc[r] = a0;
        acc[r + 1] = a1;
        acc[r + 2] = a2;
        acc[r + 3] = a3;
    }
    for (; r < rows; ++r) {
        const std::int16_t* wr = w + r * n;
        std::int32_t a = bias[r];
        for (std::size_t c = 0; c < n; ++c) a += wr[c] * static_cast<std::int32_t>(x[c]);
        acc[r] = a;
    }
}

void QLinear::forward(const std::int16_t* x, std::int32_t* y) const {
    const auto rows = static_cast<std::size_t>(out);
    row_sums(weight.data(), rows, static_cast<std::size_t>(in), bias.data(), x, y);
    for (std::size_t r = 0; r < rows; ++r) y[r] = requantize(y[r], shift[r], lo[r], hi[r]);
}

QLinear quantize_linear(const Mat<float>& W, const Mat<float>& b, std::span<const double> in_scale,
                        std::span<const std::int32_t> in_max, int out_frac, std::int32_t lo, std::int32_t hi) {
    QLinear q;
    q.in = static_cast<std::int32_t>(W.cols());
    q.out = static_cast<std::int32_t>(W.rows());
    q.in_max.assign(in_max.begin(), in_max.end());
    q.lo.assign(static_cast<std::size_t>(q.out), lo);
    q.hi.assign(static_cast<std::size_t>(q.out), hi);
    const auto n = static_cast<std::size_t>(q.in);
    q.weight.resize(static_cast<std::size_t>(q.out) * n);
    q.bias.resize(static_cast<std::size_t>(q.out));
    q.shift.resize(static_cast<std::size_t>(q.out));
    std::vector<double> w(n);
    std::vector<std::int64_t> wq(n);
    for (Index r = 0; r < W.rows(); ++r) {
        double max_w = 0, l1 = 0;
        for (std::size_t c = 0; c < n; ++c) {
            w[c] = static_cast<double>(W(r, static_cast<Index>(c))) * in_scale[c];
            max_w = std::max(max_w, std::abs(w[c]));
            l1 += std::abs(w[c]) * in_max[c];
        }
        const double bias = static_cast<double>(b(r, 0));
        // Largest f whose rounded integers meet all three bounds; start from the float estimate
        // and step down until the rounded values fit.
        double bound = static_cast<double>(kMaxWeight) / std::max(max_w, 1e-30);
        bound = std::min(bound, static_cast<double>(kBudget) / std::max(l1, 1e-30));
        bound = std::min(bound, static_cast<double>(kBudget) / std::max(std::abs(bias), 1e-30));
        // The shift f - out_frac stays in [-31, 62]: a left shift of an int32 by 31 fits int64.
        // (A row that would need f < out_frac - 31 has weights beyond any trained model's.)
        int f = std::clamp(static_cast<int>(std::floor(std::log2(bound))), out_frac - 31, out_frac + 62);
        std::int64_t bq = 0;
        for (;; --f) {
            const double s = std::ldexp(1.0, f);
            std::int64_t sum = 0, mx = 0;
            for (std::size_t c = 0; c < n; ++c) {
                wq[c] = round_to_int(w[c] * s);
                mx = std::max(mx, std::abs(wq[c]));
                sum += std::abs(wq[c]) * in_max[c];
            }
            bq = round_to_int(bias * s);
            if ((mx <= kMaxWeight && sum <= kBudget && std::abs(bq) <= kBudget) || f == out_frac - 31) break;
        }
        for (std::size_t c = 0; c < n; ++c) q.weight[static_cast<std::size_t>(r) * n + c] = static_cast<std::int16_t>(wq[c]);
        q.bias[static_cast<std::size_t>(r)] = static_cast<std::int32_t>(bq);
        q.shift[static_cast<std::size_t>(r)] = static_cast<std::int8_t>(f - out_frac);
    }
    return q;
}

namespace {

// floor(log2(cap / max)): the scale that maps the calibrated maximum to at most `cap`.
int frac_for(double max_abs, std::int32_t cap) {
    if (!(max_abs > 0)) return 12;
    return std::clamp(static_cast<int>(std::floor(std::log2(cap / max_abs))), -16, 24);
}

// Forward through a float MLP keeping every activation; returns max |a| per hidden layer and
// the final output.
std::vector<double> hidden_maxima(const Mlp<float>& mlp, const Mat<float>& X, Mat<float>& Y) {
    typename Mlp<float>::Tape tape;
    mlp.forward(X, tape, Y);
    std::vector<double> m;
    for (std::size_t i = 1; i < tape.a.size(); ++i) m.push_back(static_cast<double>(tape.a[i].cwiseAbs().maxCoeff()));
    return m;
}

// Quantizes the hidden layers of an MLP: layer 0 with the given input description, the others
// from the previous layer's activation scale. Returns the fracs of the hidden activations.
std::vector<int> quantize_hidden(const Mlp<float>& mlp, const std::vector<double>& maxima, std::vector<double> in_scale,
                                 std::vector<std::int32_t> in_max, std::vector<QLinear>& out) {
    std::vector<int> fracs;
    for (std::size_t i = 0; i + 1 < mlp.depth(); ++i) {
        const auto& layer = mlp.layers()[i];
        const int f = frac_for(maxima[i], kQActivationMax);
        fracs.push_back(f);
        out.push_back(quantize_linear(layer.weight.value, layer.bias.value, in_scale, in_max, f, 0, kQActivationMax));
        in_scale.assign(static_cast<std::size_t>(layer.out_size()), std::ldexp(1.0, -f));
        in_max.assign(static_cast<std::size_t>(layer.out_size()), kQActivationMax);
    }
    return fracs;
}

// A final layer whose rows fall in groups with their own output format (RowFormat,
// likelihood_kind.hpp): rows [begin, end) with out_frac and clamp, and an optional factor folded
// into W and b (e.g. mean = 255 raw).
using RowGroup = RowFormat;

QLinear quantize_grouped(const Linear<float>& layer, std::span<const double> in_scale, std::span<const std::int32_t> in_max,
                         const std::vector<RowGroup>& groups) {
    QLinear all;
    all.in = static_cast<std::int32_t>(layer.in_size());
    all.out = static_cast<std::int32_t>(layer.out_size());
    for (const RowGroup& g : groups) {
        const Mat<float> W = layer.weight.value.middleRows(g.begin, g.end - g.begin) * static_cast<float>(g.factor);
        const Mat<float> b = layer.bias.value.middleRows(g.begin, g.end - g.begin) * static_cast<float>(g.factor);
        QLinear part = quantize_linear(W, b, in_scale, in_max, g.out_frac, g.lo, g.hi);
        all.in_max = part.in_max;
        all.weight.insert(all.weight.end(), part.weight.begin(), part.weight.end());
        all.bias.insert(all.bias.end(), part.bias.begin(), part.bias.end());
        all.shift.insert(all.shift.end(), part.shift.begin(), part.shift.end());
        all.lo.insert(all.lo.end(), part.lo.begin(), part.lo.end());
        all.hi.insert(all.hi.end(), part.hi.begin(), part.hi.end());
    }
    return all;
}

// An MLP whose outputs are a Gaussian's parameters in the posterior's formats (rows [0, L) means
// Q16 within +-16, rows [L, 2L) log-scales Q8 within [-8, 8]): its hidden layers calibrated on
// X, where input c is an integer standing for x_c * in_scale with |x_c| <= in_max. Y: the
// float outputs on X.
void quantize_gaussian_mlp(const Mlp<float>& mlp, const Mat<float>& X, double in_scale, std::int32_t in_max,
                           std::vector<QLinear>& out, Mat<float>& Y) {
    const auto maxima = hidden_maxima(mlp, X, Y);
    const auto in = static_cast<std::size_t>(X.rows());
    const auto fracs = quantize_hidden(mlp, maxima, std::vector<double>(in, in_scale), std::vector<std::int32_t>(in, in_max), out);
    const auto& last = mlp.layers().back();
    const auto last_in = static_cast<std::size_t>(last.in_size());
    const Index L = last.out_size() / 2;
    const std::vector<double> scale(last_in, fracs.empty() ? in_scale : std::ldexp(1.0, -fracs.back()));
    const std::vector<std::int32_t> max(last_in, fracs.empty() ? in_max : kQActivationMax);
    out.push_back(quantize_grouped(
        last, scale, max,
        {{0, L, kQLatentMeanFrac, -(16 << kQLatentMeanFrac), 16 << kQLatentMeanFrac, 1.0},
         {L, 2 * L, kQLogScaleFrac, static_cast<std::int32_t>(kMinPosteriorLogScale * 256), static_cast<std::int32_t>(kMaxPosteriorLogScale * 256), 1.0}}));
}

}  // namespace

Expected<QuantizedVae> QuantizedVae::from_float(const Vae& vae, const ImageSet& calibration) {
    const VaeConfig& cfg = vae.config();
    const LikelihoodKind& kind = likelihood_kind(cfg);
    if (calibration.count == 0 || !vae.accepts(calibration))
        return make_error("calibration images must be non-empty and of the model's shape");
    const auto D = static_cast<Index>(cfg.samples());
    const Frame fr = calibration.frame();
    // Each calibration sample as its tile and its frame (ImageSet: framed or not).
    std::vector<std::uint8_t> tiles(calibration.count * static_cast<std::size_t>(D)), frames(calibration.count * fr.size(), 0);
    const std::size_t row_bytes = std::size_t{cfg.cols} * cfg.image_channels;
    for (std::size_t j = 0; j < calibration.count; ++j)
        for (std::size_t r = 0; r < cfg.rows; ++r) {
            std::uint8_t* tile_row = tiles.data() + j * static_cast<std::size_t>(D) + r * row_bytes;
            std::uint8_t* frame_row = frames.data() + j * fr.size() + fr.at(r, 0);
            if (calibration.framed) {
                std::copy_n(calibration.image(j) + fr.at(r, 0), row_bytes, tile_row);
                std::copy_n(calibration.image(j), fr.size(), frames.data() + j * fr.size());
            } else {
                std::copy_n(calibration.image(j) + r * row_bytes, row_bytes, tile_row);
                std::copy_n(tile_row, row_bytes, frame_row);
            }
        }
    const auto L = static_cast<Index>(cfg.latent);
    const auto C = static_cast<Index>(cfg.decoder_channels());
    const auto n = static_cast<Index>(calibration.count);

    QuantizedVae q;
    q.config_ = cfg;

    // Encoder: calibrate on the images.
    Mat<float> X(D, n), enc_out;
    for (Index j = 0; j < n; ++j)
        for (Index p = 0; p < D; ++p) X(p, j) = static_cast<float>(tiles[static_cast<std::size_t>(j * D + p)]) / 255.0f;
    quantize_gaussian_mlp(vae.encoder(), X, 1.0 / 255.0, 255, q.encoder_, enc_out);

    // Decoder: calibrate on posterior samples z = mean + scale * eps (fixed-seed noise).
    Mat<float> Z(L, n);
    Rng rng(0xCA11B8A7EULL);
    for (Index j = 0; j < n; ++j)
        for (Index i = 0; i < L; ++i) {
            const float ls = std::clamp(enc_out(L + i, j), static_cast<float>(kMinPosteriorLogScale), static_cast<float>(kMaxPosteriorLogScale));
            Z(i, j) = enc_out(i, j) + std::exp(ls) * static_cast<float>(rng.normal());
        }
    // Hierarchical: encoder2 calibrated on those z1 samples, prior1 on z2 samples drawn from
    // the q(z2|z1) they give (the latents the networks see when coding are bucket centres of
    // such samples; posterior means alone would leave the hidden scales too small for them).
    // Both take latents as the decoder does (Q11, +-4.5).
    if (cfg.hierarchical()) {
        const auto L2 = static_cast<Index>(cfg.latent2);
        Mat<float> enc2_out, prior_out, Z2(L2, n);
        quantize_gaussian_mlp(vae.encoder2(), Z, std::ldexp(1.0, -kQDecoderInputFrac), kQDecoderInputMax, q.encoder2_, enc2_out);
        for (Index j = 0; j < n; ++j)
            for (Index i = 0; i < L2; ++i) {
                const float ls = std::clamp(enc2_out(L2 + i, j), static_cast<float>(kMinPosteriorLogScale), static_cast<float>(kMaxPosteriorLogScale));
                Z2(i, j) = enc2_out(i, j) + std::exp(ls) * static_cast<float>(rng.normal());
            }
        quantize_gaussian_mlp(vae.prior1(), Z2, std::ldexp(1.0, -kQDecoderInputFrac), kQDecoderInputMax, q.prior1_, prior_out);
    }
    Mat<float> channels;
    const auto dec_max = hidden_maxima(vae.decoder(), Z, channels);
    const auto dec_fracs = quantize_hidden(vae.decoder(), dec_max, std::vector<double>(static_cast<std::size_t>(L), std::ldexp(1.0, -kQDecoderInputFrac)),
                                           std::vector<std::int32_t>(static_cast<std::size_t>(L), kQDecoderInputMax), q.decoder_);
    if (!kind.has_head(cfg)) {
        // The decoder's outputs are the samples' parameters, in the kind's integer formats: its
        // per-sample formats repeated for every sample.
        const auto P = static_cast<Index>(kind.parameters(cfg));
        std::vector<RowGroup> rows;
        for (Index sample = 0; sample < D; ++sample)
            for (const RowFormat& f : kind.parameter_formats(cfg))
                rows.push_back({sample * P + f.begin, sample * P + f.end, f.out_frac, f.lo, f.hi, f.factor});
        const auto& last = vae.decoder().layers().back();
        const std::size_t in = static_cast<std::size_t>(last.in_size());
        q.decoder_.push_back(quantize_grouped(last, std::vector<double>(in, std::ldexp(1.0, -dec_fracs.back())),
                                              std::vector<std::int32_t>(in, kQActivationMax), rows));
        q.channel_frac_ = rows.front().out_frac;
        return q;
    }
    const int ch_frac = frac_for(static_cast<double>(channels.cwiseAbs().maxCoeff()), kQActivationMax);
    q.channel_frac_ = ch_frac;
    {
        const auto& last = vae.decoder().layers().back();
        const std::size_t in = static_cast<std::size_t>(last.in_size());
        q.decoder_.push_back(quantize_linear(last.weight.value, last.bias.value, std::vector<double>(in, std::ldexp(1.0, -dec_fracs.back())),
                                             std::vector<std::int32_t>(in, kQActivationMax), ch_frac, -kQActivationMax, kQActivationMax));
    }

    // Head: calibrate on every sample of the calibration images (per-channel heads: below).
    const auto F = static_cast<Index>(cfg.head_inputs());
    const std::size_t S = cfg.image_channels;
    Mat<float> feats(F, n * D), head_out;
    for (Index j = 0; j < n; ++j)
        for (Index i = 0; i < D; ++i) {
            const Index col = j * D + i;
            for (Index ch = 0; ch < C; ++ch) feats(ch, col) = channels(i * C + ch, j);
            if (cfg.autoregressive) {
                const auto p = static_cast<std::size_t>(i) / S, s = static_cast<std::size_t>(i) % S;
                frame_context(fr, frames.data() + static_cast<std::size_t>(j) * fr.size() + fr.at(p / cfg.cols, p % cfg.cols) + s, s,
                              255.0f, feats.col(col).data() + C);
            }
        }
    std::vector<double> head_scale(static_cast<std::size_t>(F), 1.0 / 255.0);
    std::vector<std::int32_t> head_in_max(static_cast<std::size_t>(F), 255);
    for (Index ch = 0; ch < C; ++ch) {
        head_scale[static_cast<std::size_t>(ch)] = std::ldexp(1.0, -ch_frac);
        head_in_max[static_cast<std::size_t>(ch)] = kQActivationMax;
    }
    // One head, or (head_per_channel) head s calibrated on the samples of channel s alone: the
    // columns j*D + p*S + s of feats, i.e. s, s + S, s + 2S, ... (D is a multiple of S).
    const auto G = static_cast<Index>(cfg.heads());
    Mat<float> head_feats;
    for (Index h = 0; h < G; ++h) {
        const Mlp<float>& head = vae.head(static_cast<std::size_t>(h));
        if (G > 1) head_feats = Eigen::Map<const Mat<float>, 0, Eigen::OuterStride<>>(feats.data() + h * F, F, n * D / G, Eigen::OuterStride<>(F * G));
        const auto head_max = hidden_maxima(head, G > 1 ? head_feats : feats, head_out);  // (one head: every column, no copy)
        const auto head_fracs = quantize_hidden(head, head_max, head_scale, head_in_max, q.head_);
        // The last layer's inputs: the last hidden layer's activations, then (head_skip) the
        // head's own inputs at their own scales and ranges.
        const auto& last = head.layers().back();
        const std::size_t hidden = static_cast<std::size_t>(last.in_size()) - (cfg.head_skip ? head_scale.size() : 0);
        std::vector<double> s = head_fracs.empty() ? head_scale : std::vector<double>(hidden, std::ldexp(1.0, -head_fracs.back()));
        std::vector<std::int32_t> m = head_fracs.empty() ? head_in_max : std::vector<std::int32_t>(hidden, kQActivationMax);
        if (cfg.head_skip) {  // (a head with a skip has a hidden layer: Mlp)
            s.insert(s.end(), head_scale.begin(), head_scale.end());
            m.insert(m.end(), head_in_max.begin(), head_in_max.end());
        }
        q.head_.push_back(quantize_grouped(last, s, m, kind.parameter_formats(cfg)));
    }
    return q;
}

// ---- Integer inference -------------------------------------------------------------------------

namespace {
// Runs layers in turn; hidden outputs (already clamped to int16 ranges) feed the next layer.
// skip (head_skip): values the last layer reads after the last hidden outputs, [hidden ; skip].
void run_layers(std::span<const QLinear> layers, std::vector<std::int16_t>& in, std::vector<std::int32_t>& out,
                std::span<const std::int16_t> skip = {}) {
    for (std::size_t i = 0; i < layers.size(); ++i) {
        out.resize(static_cast<std::size_t>(layers[i].out));
        layers[i].forward(in.data(), out.data());
        if (i + 1 < layers.size()) {
            in.resize(out.size());
            for (std::size_t k = 0; k < out.size(); ++k) in[k] = static_cast<std::int16_t>(out[k]);  // within [0, 4095]
            if (i + 2 == layers.size()) in.insert(in.end(), skip.begin(), skip.end());
        }
    }
}
}  // namespace

void QuantizedVae::posterior(std::span<const std::uint8_t> x, std::span<std::int32_t> mean_q16,
                             std::span<std::int32_t> log_scale_q8) const {
    std::vector<std::int16_t> in(x.begin(), x.end());
    std::vector<std::int32_t> out;
    run_layers(encoder_, in, out);
    const std::size_t L = config_.latent;
    for (std::size_t i = 0; i < L; ++i) {
        mean_q16[i] = out[i];
        log_scale_q8[i] = out[L + i];
    }
}

namespace {
// A Gaussian over latents from latents (bucket centres, Q16): the layers' outputs split into
// mean_q16[n] and log_scale_q8[n].
void latent_gaussian(const std::vector<QLinear>& layers, std::span<const std::int32_t> z_q16, std::span<std::int32_t> mean_q16,
                     std::span<std::int32_t> log_scale_q8) {
    std::vector<std::int16_t> in(z_q16.size());
    for (std::size_t i = 0; i < z_q16.size(); ++i) in[i] = decoder_input(z_q16[i]);
    std::vector<std::int32_t> out;
    run_layers(layers, in, out);
    const std::size_t n = mean_q16.size();
    for (std::size_t i = 0; i < n; ++i) {
        mean_q16[i] = out[i];
        log_scale_q8[i] = out[n + i];
    }
}
}  // namespace

void QuantizedVae::posterior2(std::span<const std::int32_t> z1_q16, std::span<std::int32_t> mean_q16,
                              std::span<std::int32_t> log_scale_q8) const {
    latent_gaussian(encoder2_, z1_q16, mean_q16, log_scale_q8);
}

void QuantizedVae::prior1(std::span<const std::int32_t> z2_q16, std::span<std::int32_t> mean_q16,
                          std::span<std::int32_t> log_scale_q8) const {
    latent_gaussian(prior1_, z2_q16, mean_q16, log_scale_q8);
}

void QuantizedVae::decoder_channels(std::span<const std::int32_t> z_q16, std::span<std::int16_t> channels) const {
    std::vector<std::int16_t> in(z_q16.size());
    for (std::size_t i = 0; i < z_q16.size(); ++i) in[i] = decoder_input(z_q16[i]);
    std::vector<std::int32_t> out;
    run_layers(decoder_, in, out);
    for (std::size_t k = 0; k < out.size(); ++k) channels[k] = static_cast<std::int16_t>(out[k]);  // within +-4095
}

std::span<const QLinear> QuantizedVae::channel_head(std::size_t s) const {
    if (!config_.head_per_channel) return head_;
    const std::size_t per_head = head_.size() / config_.heads();  // validate(): S heads of one depth
    return std::span<const QLinear>(head_).subspan(s * per_head, per_head);
}

void QuantizedVae::pixel_params(const std::int16_t* channels, const std::uint8_t* neighbours, std::size_t s, QPixelMixture& px) const {
    // Called for every pixel: scratch buffers live per thread, so nothing is allocated here
    // after the first call.
    thread_local std::vector<std::int16_t> f, in;
    thread_local std::vector<std::int32_t> out;
    const std::size_t C = config_.channels, K = config_.components;
    f.assign(channels, channels + C);
    if (config_.autoregressive) f.insert(f.end(), neighbours, neighbours + head_context_size(config_.image_channels));
    in = f;
    run_layers(channel_head(s), in, out, config_.head_skip ? std::span<const std::int16_t>(f) : std::span<const std::int16_t>());
    px.k = K;
    for (std::size_t j = 0; j < K; ++j) {
        px.logits[j] = out[j];
        px.means[j] = out[K + j];
        px.log_scales[j] = out[2 * K + j];
    }
}

bool QLinear::within_budget() const {
    const auto n = static_cast<std::size_t>(in);
    if (in_max.size() != n) return false;
    for (std::size_t r = 0; r < static_cast<std::size_t>(out); ++r) {
        std::int64_t sum = 0;
        for (std::size_t c = 0; c < n; ++c) sum += std::abs(std::int64_t{weight[r * n + c]}) * in_max[c];
        if (sum > kBudget || std::abs(std::int64_t{bias[r]}) > kBudget) return false;
    }
    return true;
}

Status QuantizedVae::validate() const {
    // Every layer's shapes and row formats, its accumulator bound, and that each layer's input
    // ranges cover what feeds it: then no file, however made, can overflow an accumulator.
    // skip (the head with head_skip): the last layer is also fed input_max after the hidden values.
    auto chain = [](std::span<const QLinear> layers, std::span<const std::int32_t> input_max, std::size_t out,
                    const char* what, bool skip = false) -> Status {
        const auto bad = [what](const char* problem) { return make_error(std::string("quantized ") + what + " " + problem); };
        if (layers.empty()) return bad("has no layers");
        if (skip && layers.size() < 2) return bad("has a skip but no hidden layer");
        std::vector<std::int32_t> feeds(input_max.begin(), input_max.end());
        for (const QLinear& l : layers) {
            if (skip && &l == &layers.back()) feeds.insert(feeds.end(), input_max.begin(), input_max.end());
            const auto in = static_cast<std::size_t>(l.in), rows = static_cast<std::size_t>(l.out);
            if (l.in < 1 || l.out < 1 || in != feeds.size() || l.weight.size() != in * rows || l.bias.size() != rows ||
                l.shift.size() != rows || l.lo.size() != rows || l.hi.size() != rows || l.in_max.size() != in)
                return bad("has inconsistent layer shapes");
            for (std::size_t c = 0; c < in; ++c)
                if (l.in_max[c] < feeds[c]) return bad("has an input range smaller than what feeds it");
            if (!l.within_budget()) return bad("exceeds the accumulator bound");
            feeds.resize(rows);
            for (std::size_t r = 0; r < rows; ++r) {
                if (l.shift[r] < -31 || l.shift[r] > 62 || l.lo[r] > l.hi[r]) return bad("has an invalid row format");
                feeds[r] = static_cast<std::int32_t>(std::max(std::abs(std::int64_t{l.lo[r]}), std::abs(std::int64_t{l.hi[r]})));
            }
            // Hidden outputs travel as int16.
            if (&l != &layers.back())
                for (std::int32_t f : feeds)
                    if (f > 32767) return bad("has a hidden layer wider than int16");
        }
        if (feeds.size() != out) return bad("has the wrong output size");
        return Ok{};
    };
    const std::vector<std::int32_t> pixels(config_.samples(), 255);
    const std::vector<std::int32_t> latents(config_.latent, kQDecoderInputMax);
    const LikelihoodKind& kind = likelihood_kind(config_);
    std::vector<std::int32_t> head_in(config_.decoder_channels(), kQActivationMax);
    if (kind.reads_context(config_)) head_in.resize(config_.head_inputs(), 255);
    if (auto s = chain(encoder_, pixels, 2 * std::size_t{config_.latent}, "encoder"); !s) return s;
    if (auto s = chain(decoder_, latents, config_.samples() * config_.decoder_channels(), "decoder"); !s) return s;
    if (config_.hierarchical()) {
        const std::vector<std::int32_t> latents2(config_.latent2, kQDecoderInputMax);
        if (auto s = chain(encoder2_, latents, 2 * std::size_t{config_.latent2}, "encoder2"); !s) return s;
        if (auto s = chain(prior1_, latents2, 2 * std::size_t{config_.latent}, "prior1"); !s) return s;
    } else if (!encoder2_.empty() || !prior1_.empty()) {
        return make_error("quantized second latent layer present in a model with one latent layer");
    }
    for (std::size_t r = 0; r < static_cast<std::size_t>(decoder_.back().out); ++r)
        if (decoder_.back().lo[r] < -kQActivationMax || decoder_.back().hi[r] > kQActivationMax)
            return make_error("quantized decoder outputs exceed the channel range");
    if (!kind.has_head(config_)) {
        if (!head_.empty()) return make_error("quantized head present in a model whose likelihood has none");
        return Ok{};
    }
    // head_per_channel: S heads of one shape, one after another.
    const std::size_t heads = config_.heads();
    if (head_.size() % heads != 0) return make_error("quantized head is not " + std::to_string(heads) + " heads of one depth");
    for (std::size_t s = 0; s < heads; ++s) {
        const std::span<const QLinear> h = channel_head(s), first = channel_head(0);
        for (std::size_t i = 0; i < h.size(); ++i)
            if (h[i].in != first[i].in || h[i].out != first[i].out) return make_error("quantized heads of different shapes");
        if (auto st = chain(h, head_in, kind.head_outputs(config_), "head", config_.head_skip); !st) return st;
    }
    return Ok{};
}

}  // namespace bbans::models
