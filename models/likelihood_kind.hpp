#pragma once
// One seam for likelihoods: what training, quantization and the coder need to know about
// p(x_q | ...) of one sample, behind one interface. A likelihood is a LikelihoodKind; the
// VAE, the quantizer and the model-file checks ask likelihood_kind(config.likelihood) instead of
// switching on the enum. The coding half (integer parameters of a sample -> a codec/ symbol
// model) lives in src/coding/sample_codecs.hpp, since models/ and codec/ never include each
// other.
//
// THE PARAMETERS OF A SAMPLE
//   The decoder gives every sample decoder_channels(c) values. A kind with a head
//   (head_outputs(c) > 0: the logistic mixture) feeds them, with the sample's causal context if
//   reads_context(c), to the per-sample head, whose head_outputs(c) raw outputs are the
//   sample's parameters. A kind without a head (Bernoulli) takes the decoder's values as the
//   parameters. log_prob reads the parameters as a P x N matrix, one sample per column, P =
//   parameters(c).
//
// ADDING A LIKELIHOOD
//   A value in `Likelihood` (config.hpp; kMaxLikelihood), a subclass here (likelihood_kind.cpp,
//   the float half), a sample codec in src/coding/sample_codecs.hpp (the integer half) and its
//   case in with_sample_codec. The VAE, the quantizer, the model files, the coders and the
//   compressor's choice of models need no change.
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "bbans/expected.hpp"
#include "models/config.hpp"
#include "models/tensor.hpp"

namespace bbans::models {

// The integer format of a run of rows of the layer that outputs the parameters (the head's last
// layer, or the decoder's when there is no head): rows [begin, end) are quantized at out_frac
// bits, clamped to [lo, hi], with `factor` folded into their weights and biases first (e.g. the
// mixture's mean = 255 * raw). Rows are per sample: row r of sample q is row q * P + r of a
// decoder's last layer.
struct RowFormat {
    Index begin, end;
    int out_frac;
    std::int32_t lo, hi;
    double factor;
};

// Scratch matrices a kind may keep between calls (one per training shard).
template <class T>
struct LikelihoodScratch {
    std::vector<Mat<T>> m;
};

class LikelihoodKind {
public:
    virtual ~LikelihoodKind() = default;
    virtual Likelihood id() const = 0;
    virtual std::string_view name() const = 0;

    // ---- Configuration ------------------------------------------------------------------
    // The kind's own checks of a configuration (VaeConfig::validate calls it).
    virtual Status validate(const VaeConfig& c) const = 0;
    // Decoder outputs per sample.
    virtual std::size_t decoder_channels(const VaeConfig& c) const = 0;
    // Outputs of the per-sample head, 0 if the kind has none.
    virtual std::size_t head_outputs(const VaeConfig& c) const = 0;
    bool has_head(const VaeConfig& c) const { return head_outputs(c) > 0; }
    // Parameters per sample that log_prob reads: the head's outputs, or the decoder's channels.
    std::size_t parameters(const VaeConfig& c) const { return has_head(c) ? head_outputs(c) : decoder_channels(c); }
    // Whether the head also reads the sample's causal context (models/neighbourhood.hpp).
    bool reads_context(const VaeConfig& c) const { return has_head(c) && c.autoregressive; }
    // Whether a sample of value v can be coded at all (the Bernoulli likelihood codes 0 and 255
    // only): a model is never used for an image with a sample it cannot code.
    virtual bool codes(std::uint8_t v) const = 0;
    // What codes() accepts, for messages ("binary images (every sample 0 or 255)").
    virtual std::string_view codable() const = 0;
    bool codes_every_byte() const {
        for (unsigned v = 0; v < 256; ++v)
            if (!codes(static_cast<std::uint8_t>(v))) return false;
        return true;
    }

    // ---- Training (float) -------------------------------------------------------------------
    // A fresh model's head: its last layer's bias (head_outputs x 1) set to a sane start.
    virtual void init_head_bias(const VaeConfig& c, Mat<float>& bias) const = 0;
    virtual void init_head_bias(const VaeConfig& c, Mat<double>& bias) const = 0;
    // raw: P x N parameters, x: N samples -> logp[j] = log p(x_j) (nats). If d_raw is given it
    // is set to grad_scale * d logp_j / d raw (P x N; column j only depends on x_j).
    virtual void log_prob(const VaeConfig& c, const Mat<float>& raw, const std::uint8_t* x, float* logp, Mat<float>* d_raw,
                          float grad_scale, LikelihoodScratch<float>& scratch) const = 0;
    virtual void log_prob(const VaeConfig& c, const Mat<double>& raw, const std::uint8_t* x, double* logp, Mat<double>* d_raw,
                          double grad_scale, LikelihoodScratch<double>& scratch) const = 0;
    // One sample in double precision (inference checks, tests).
    virtual double log_prob(const VaeConfig& c, int v, std::span<const double> raw) const = 0;

    // ---- Quantization ------------------------------------------------------------------------
    // The integer formats of the P parameter rows of one sample (RowFormat: begin, end < P).
    virtual std::vector<RowFormat> parameter_formats(const VaeConfig& c) const = 0;
};

// The kind of a likelihood; every value of Likelihood up to kMaxLikelihood has one.
const LikelihoodKind& likelihood_kind(Likelihood l);
inline const LikelihoodKind& likelihood_kind(const VaeConfig& c) { return likelihood_kind(c.likelihood); }

}  // namespace bbans::models
