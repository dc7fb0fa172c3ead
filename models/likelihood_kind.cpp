#include "models/likelihood_kind.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "models/likelihood.hpp"
#include "models/quantized.hpp"

namespace bbans::models {

namespace {

Status bad(const std::string& what) { return Status(make_error("invalid model configuration: " + what)); }

// The float and double overloads of log_prob and init_head_bias, from one template each.
template <class Derived>
class KindBase : public LikelihoodKind {
public:
    void init_head_bias(const VaeConfig& c, Mat<float>& b) const final { Derived::init_bias(c, b); }
    void init_head_bias(const VaeConfig& c, Mat<double>& b) const final { Derived::init_bias(c, b); }
    void log_prob(const VaeConfig& c, const Mat<float>& raw, const std::uint8_t* x, float* logp, Mat<float>* d_raw, float grad_scale,
                  LikelihoodScratch<float>& s) const final {
        Derived::log_prob_t(c, raw, x, logp, d_raw, grad_scale, s);
    }
    void log_prob(const VaeConfig& c, const Mat<double>& raw, const std::uint8_t* x, double* logp, Mat<double>* d_raw,
                  double grad_scale, LikelihoodScratch<double>& s) const final {
        Derived::log_prob_t(c, raw, x, logp, d_raw, grad_scale, s);
    }
    using LikelihoodKind::log_prob;
};

// ---- Discretized logistic mixture (likelihood.hpp), with the per-sample head -----------------
// Head outputs 3K: K logits, K means as 255 * raw, K log-scales clamped to [-7, 7].
class LogisticMixtureKind final : public KindBase<LogisticMixtureKind> {
public:
    Likelihood id() const override { return Likelihood::logistic_mixture; }
    std::string_view name() const override { return "logistic mixture"; }
    Status validate(const VaeConfig& c) const override {
        if (c.channels < 1 || c.channels > 64) return bad("channels must be 1..64");
        if (c.head_hidden < 1 || c.head_hidden > 4096) return bad("head width must be 1..4096");
        if (c.head_layers < 1 || c.head_layers > 4) return bad("head hidden layers must be 1..4");
        if (c.components < 1 || c.components > 8) return bad("mixture components must be 1..8");
        return Ok{};
    }
    std::size_t decoder_channels(const VaeConfig& c) const override { return c.channels; }
    std::size_t head_outputs(const VaeConfig& c) const override { return 3 * std::size_t{c.components}; }
    bool codes(std::uint8_t) const override { return true; }
    std::string_view codable() const override { return "every 8-bit sample"; }

    template <class T>
    static void init_bias(const VaeConfig& c, Mat<T>& b) {
        // Every logistic near mid-grey with a wide scale (s = e^3 = 20 pixel units), so the first
        // steps see moderate losses rather than hundreds of nats per pixel.
        const Index k = c.components;
        b.middleRows(k, k).setConstant(T(0.5));
        b.bottomRows(k).setConstant(T(3));
    }
    template <class T>
    static void log_prob_t(const VaeConfig& c, const Mat<T>& raw, const std::uint8_t* x, T* logp, Mat<T>* d_raw, T grad_scale,
                           LikelihoodScratch<T>& s) {
        // The mixture parameters and their gradient live in the scratch between calls.
        s.m.resize(6);
        MixtureParams<T> mix{std::move(s.m[0]), std::move(s.m[1]), std::move(s.m[2])};
        MixtureParams<T> grad{std::move(s.m[3]), std::move(s.m[4]), std::move(s.m[5])};
        mixture_from_raw(raw, static_cast<Index>(c.components), mix);
        logistic_mixture_log_prob(mix, x, logp, d_raw != nullptr ? &grad : nullptr);
        if (d_raw != nullptr) {
            grad.logits *= grad_scale;
            grad.means *= grad_scale;
            grad.log_scales *= grad_scale;
            mixture_grad_to_raw(raw, grad, *d_raw);
        }
        s.m[0] = std::move(mix.logits), s.m[1] = std::move(mix.means), s.m[2] = std::move(mix.log_scales);
        s.m[3] = std::move(grad.logits), s.m[4] = std::move(grad.means), s.m[5] = std::move(grad.log_scales);
    }
    double log_prob(const VaeConfig& c, int v, std::span<const double> raw) const override {
        const std::size_t K = c.components;
        std::vector<double> means(K);
        for (std::size_t k = 0; k < K; ++k) means[k] = kMeanScale * raw[K + k];
        return logistic_mixture_log_prob(v, raw.subspan(0, K), means, raw.subspan(2 * K, K));
    }
    std::vector<RowFormat> parameter_formats(const VaeConfig& c) const override {
        const auto K = static_cast<Index>(c.components);
        constexpr std::int32_t kWide = 1 << 20;  // logits and means: +-4096 in Q8, far beyond any useful value
        return {{0, K, kQPixelFrac, -kWide, kWide, 1.0},
                {K, 2 * K, kQPixelFrac, -kWide, kWide, kMeanScale},
                {2 * K, 3 * K, kQLogScaleFrac, static_cast<std::int32_t>(kMinLogScale * 256), static_cast<std::int32_t>(kMaxLogScale * 256),
                 1.0}};
    }
};

// ---- Bernoulli on binarized samples ---------------------------------------------------------
// One logit per sample straight from the decoder, no head. Training binarizes (bit = x > 127);
// coding takes samples 0 and 255 only (codes()), so that decoding gives back the image exactly.
class BernoulliKind final : public KindBase<BernoulliKind> {
public:
    Likelihood id() const override { return Likelihood::bernoulli; }
    std::string_view name() const override { return "Bernoulli"; }
    Status validate(const VaeConfig& c) const override {
        if (c.image_channels != 1) return bad("the Bernoulli likelihood is grey only");
        // The head fields are unused but stored: keep them in the ranges every reader accepts.
        if (c.channels < 1 || c.channels > 64) return bad("channels must be 1..64");
        if (c.head_hidden < 1 || c.head_hidden > 4096) return bad("head width must be 1..4096");
        if (c.head_layers < 1 || c.head_layers > 4) return bad("head hidden layers must be 1..4");
        if (c.components < 1 || c.components > 8) return bad("mixture components must be 1..8");
        return Ok{};
    }
    std::size_t decoder_channels(const VaeConfig&) const override { return 1; }
    std::size_t head_outputs(const VaeConfig&) const override { return 0; }
    bool codes(std::uint8_t v) const override { return v == 0 || v == 255; }
    std::string_view codable() const override { return "binary images only (every sample 0 or 255)"; }

    template <class T>
    static void init_bias(const VaeConfig&, Mat<T>&) {}
    template <class T>
    static void log_prob_t(const VaeConfig&, const Mat<T>& raw, const std::uint8_t* x, T* logp, Mat<T>* d_raw, T grad_scale,
                           LikelihoodScratch<T>&) {
        bernoulli_log_prob(raw, x, logp, d_raw);  // raw is 1 x N: one column per sample
        if (d_raw != nullptr) *d_raw *= grad_scale;
    }
    double log_prob(const VaeConfig&, int v, std::span<const double> raw) const override {
        const double s = v > 127 ? -raw[0] : raw[0];
        return -(std::max(s, 0.0) + std::log1p(std::exp(-std::abs(s))));
    }
    std::vector<RowFormat> parameter_formats(const VaeConfig&) const override {
        // The logit in Q8 nats, within the decoder's channel range (+-16 nats).
        return {{0, 1, kQPixelFrac, -kQActivationMax, kQActivationMax, 1.0}};
    }
};

}  // namespace

const LikelihoodKind& likelihood_kind(Likelihood l) {
    static const LogisticMixtureKind mixture;
    static const BernoulliKind bernoulli;
    switch (l) {
        case Likelihood::logistic_mixture: return mixture;
        case Likelihood::bernoulli: return bernoulli;
    }
    throw std::invalid_argument("unknown likelihood " + std::to_string(static_cast<int>(l)));
}

}  // namespace bbans::models
