#pragma once
// The quantized VAE: the model that codes. Integer arithmetic only, so that every build on
// every machine computes the same parameters and therefore the same frequencies.
//
// WHERE THE FLOATS STOP
//   Training and quantization (QuantizedVae::from_float, which calibrates on images and
//   chooses scales) use floats. Their result is integers, stored in the model file. From there
//   on, posterior(), decoder_channels() and pixel_params() use int16/int32/int64 only; their
//   outputs are the integer parameters of the codecs in codec/ (Q16 latent means, Q8
//   log-scales, Q8 pixel means, Q8 logits). No float can reach a frequency.
//
// ONE LAYER (QLinear), y = clamp(round((b + W x) / 2^shift), lo, hi)
//   x: int16 inputs, each within a range declared at quantization (|x_c| <= in_max_c).
//   W: int16, out x in, row-major; b: int32. Row r is quantized at its own scale 2^f_r, the
//   largest for which   sum_c |W_rc| * in_max_c <= 2^30 - 1   and   |b_r| <= 2^30 - 1,
//   so the int32 accumulator b + W x can never overflow, for any inputs in range and in any
//   summation order: the compiler may vectorize and reassociate freely, the result is exact.
//   shift_r = f_r - out_frac (a right shift with rounding half up; negative = left shift).
//
// FIXED-POINT FORMATS (QF: integer v stands for v / 2^F)
//   encoder input   pixel bytes 0..255 (the float model's x / 255 is folded into W)
//   posterior       mean Q16 clamped to +-16, log-scale Q8 clamped to [-8, 8]
//   decoder input   z Q11 clamped to +-4.5 (bucket centres; |centre| < 4.3 up to 2^16 buckets)
//   hidden          ReLU outputs in [0, 4095] at a per-layer scale found by calibration
//   channels        decoder outputs in [-4095, 4095] at a calibrated scale; for a likelihood
//                   without a head (Bernoulli) they are the samples' parameters, in the formats
//                   the likelihood gives (LikelihoodKind::parameter_formats: the logit in Q8)
//   pixel mixture   logits Q8, means Q8 pixel units, log-scales Q8 clamped to [-7, 7]
//   head skip       (head_skip) the head's last layer reads [last hidden ; head input]: the
//                   hidden values at their calibrated scale (in_max 4095), then the head's
//                   int16 inputs as the first layer reads them (channels at channel_frac, in_max
//                   4095; context bytes 0..255, the float model's / 255 folded into W)
//   per-channel     (head_per_channel) S heads of one shape in head(), one after another; head s
//   heads           codes the samples of channel s and is calibrated on those samples alone
//   hierarchical    encoder2 (q(z2|z1)) and prior1 (p(z1|z2)): input z1 or z2 bucket centres as
//                   the decoder's (Q11, +-4.5), outputs as the posterior's (mean Q16 +-16,
//                   log-scale Q8 in [-8, 8]), hidden layers calibrated on the calibration
//                   images' z1 posterior samples (the decoder's) and z2 samples from q(z2|z1)
#include <algorithm>
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "bbans/expected.hpp"
#include "models/config.hpp"
#include "models/serialize.hpp"
#include "models/tensor.hpp"
#include "models/vae.hpp"

namespace bbans::models {

inline constexpr int kQLatentMeanFrac = 16;
inline constexpr int kQLogScaleFrac = 8;
inline constexpr int kQDecoderInputFrac = 11;
inline constexpr std::int32_t kQDecoderInputMax = 9216;  // 4.5 * 2^11
inline constexpr int kQPixelFrac = 8;                     // pixel means and logits
inline constexpr std::int32_t kQActivationMax = 4095;

// A row's output from its exact accumulator: round(acc / 2^shift) (half up; a negative shift
// multiplies), clamped to [lo, hi]. Shared by every kernel, so they all round alike.
inline std::int32_t requantize(std::int32_t acc, std::int8_t shift, std::int32_t lo, std::int32_t hi) {
    std::int64_t v = acc;
    if (shift > 0) v = (v + (std::int64_t{1} << (shift - 1))) >> shift;  // C++20: arithmetic shift
    else if (shift < 0) v *= std::int64_t{1} << (-shift);
    return static_cast<std::int32_t>(std::clamp<std::int64_t>(v, lo, hi));
}

// A latent value (bucket centre, Q16) as the decoder's input: Q11, clamped to +-4.5.
inline std::int16_t decoder_input(std::int32_t z_q16) {
    constexpr int kDrop = kQLatentMeanFrac - kQDecoderInputFrac;
    const std::int32_t v = (z_q16 + (1 << (kDrop - 1))) >> kDrop;
    return static_cast<std::int16_t>(std::clamp(v, -kQDecoderInputMax, kQDecoderInputMax));
}

// acc[r] = bias[r] + sum_c W[r][c] x[c] for r < rows, W row-major (rows x n): exact int32
// sums for any layer within the budget below. The reference kernel's sums (QLinear::forward).
void row_sums(const std::int16_t* w, std::size_t rows, std::size_t n, const std::int32_t* bias, const std::int16_t* x,
              std::int32_t* acc);

struct QLinear {
    std::int32_t in = 0, out = 0;
    std::vector<std::int16_t> weight;  // out x in, row-major
    std::vector<std::int32_t> bias;    // out
    std::vector<std::int8_t> shift;    // out, in [-31, 62]
    std::vector<std::int32_t> lo, hi;  // out: each row's output clamp
    std::vector<std::int32_t> in_max;  // in: the declared bound of |x_c|

    // x: in values within the declared ranges -> y: out values, row r in [lo[r], hi[r]].
    void forward(const std::int16_t* x, std::int32_t* y) const;

    // sum_c |W_rc| * in_max_c <= 2^30 - 1 and |b_r| <= 2^30 - 1 for every row.
    bool within_budget() const;

    bool operator==(const QLinear&) const = default;
};

// Quantizes y = W x_real + b, where input c is the integer x_c standing for x_c * in_scale[c]
// with |x_c| <= in_max[c]; the output integer stands for y * 2^out_frac, clamped to [lo, hi].
// W: out x in, b: out x 1 (floats from training).
QLinear quantize_linear(const Mat<float>& W, const Mat<float>& b, std::span<const double> in_scale,
                        std::span<const std::int32_t> in_max, int out_frac, std::int32_t lo, std::int32_t hi);

// One pixel's mixture: K logits (Q8), K means (Q8 pixel units), K log-scales (Q8, in [-7, 7]).
struct QPixelMixture {
    static constexpr std::size_t kMaxComponents = 16;
    std::size_t k = 0;
    std::array<std::int32_t, kMaxComponents> logits{}, means{}, log_scales{};
};

class QuantizedVae {
public:
    QuantizedVae() = default;
    QuantizedVae(VaeConfig config, std::vector<QLinear> encoder, std::vector<QLinear> decoder, std::vector<QLinear> head,
                 std::int32_t channel_frac, std::vector<QLinear> encoder2 = {}, std::vector<QLinear> prior1 = {})
        : config_(config), encoder_(std::move(encoder)), decoder_(std::move(decoder)), head_(std::move(head)),
          encoder2_(std::move(encoder2)), prior1_(std::move(prior1)), channel_frac_(channel_frac) {}
    // Calibrates activation scales on `calibration` images (a few hundred are plenty) and
    // quantizes every layer; the likelihood (likelihood_kind.hpp) gives the formats of the
    // parameters and whether there is a head.
    static Expected<QuantizedVae> from_float(const Vae& vae, const ImageSet& calibration);

    const VaeConfig& config() const { return config_; }

    // x: D bytes -> mean_q16[L], log_scale_q8[L].
    void posterior(std::span<const std::uint8_t> x, std::span<std::int32_t> mean_q16,
                   std::span<std::int32_t> log_scale_q8) const;
    // Hierarchical models: z1_q16, L bucket centres (Q16) -> q(z2|z1) as mean_q16[L2],
    // log_scale_q8[L2]; z2_q16, L2 bucket centres -> p(z1|z2) as mean_q16[L], log_scale_q8[L].
    void posterior2(std::span<const std::int32_t> z1_q16, std::span<std::int32_t> mean_q16,
                    std::span<std::int32_t> log_scale_q8) const;
    void prior1(std::span<const std::int32_t> z2_q16, std::span<std::int32_t> mean_q16, std::span<std::int32_t> log_scale_q8) const;
    // z_q16: L latent values (bucket centres, Q16) -> channels: D*C values, pixel-major.
    void decoder_channels(std::span<const std::int32_t> z_q16, std::span<std::int16_t> channels) const;
    // (Logistic mixture.) One sample: its C channels, its context bytes (models/neighbourhood.hpp
    // order, 0 outside the image) and its channel s in its pixel (0..S-1: with head_per_channel,
    // head s) -> mixture parameters.
    void pixel_params(const std::int16_t* channels, const std::uint8_t* neighbours, std::size_t s, QPixelMixture& out) const;

    // The layers (mutable access is for tools and tests; validate() after changing them).
    std::vector<QLinear>& encoder() { return encoder_; }
    std::vector<QLinear>& decoder() { return decoder_; }
    std::vector<QLinear>& head() { return head_; }
    const std::vector<QLinear>& encoder() const { return encoder_; }
    const std::vector<QLinear>& decoder() const { return decoder_; }
    const std::vector<QLinear>& head() const { return head_; }  // every head's layers (head_per_channel: head 0's, then 1's, ...)
    // The layers of the head of a pixel's sample s: head s with head_per_channel, else all of head().
    std::span<const QLinear> channel_head(std::size_t s) const;
    std::vector<QLinear>& encoder2() { return encoder2_; }  // empty unless hierarchical
    std::vector<QLinear>& prior1() { return prior1_; }
    const std::vector<QLinear>& encoder2() const { return encoder2_; }
    const std::vector<QLinear>& prior1() const { return prior1_; }

    std::int32_t channel_frac() const { return channel_frac_; }
    Status validate() const;  // layer shapes agree with the config (for files read from disk)
    bool operator==(const QuantizedVae& o) const {
        return encoder_ == o.encoder_ && decoder_ == o.decoder_ && head_ == o.head_ && encoder2_ == o.encoder2_ &&
               prior1_ == o.prior1_ && channel_frac_ == o.channel_frac_;
    }

private:
    VaeConfig config_;
    std::vector<QLinear> encoder_, decoder_, head_, encoder2_, prior1_;
    std::int32_t channel_frac_ = 0;  // scale of the decoder's output channels (informational)
};

// ---- Coding model files ------------------------------------------------------------------------
// What `bbans train` ships and `bbans compress` loads: the same container as model files
// (serialize.hpp) with magic "BBANSCOD"; payload version 1:
//   VaeConfig and ModelInfo as in a model file, then u32 layer counts (encoder, decoder, head),
//   then every QLinear as u32 in, u32 out, int16 weight[out*in], int32 bias[out],
//   int8 shift[out], int32 lo[out], int32 hi[out], int32 in_max[in], then int32 channel frac;
//   with per-channel heads (configuration flag bit 5) the head's stack is the S heads' layers
//   one after another (head 0's first; its count S times one head's);
//   a hierarchical model (configuration flag bit 3) then has the encoder2 and prior1 stacks,
//   each as the others (u32 layer count, layers), their shapes checked against the
//   configuration before their weights are read.
// The XXH3-128 of the payload is the model identity written into every .bbx file.
// Loading validates the configuration and QuantizedVae::validate() (no accumulator can overflow).
inline constexpr std::string_view kCodingModelMagic = "BBANSCOD";

struct CodingModelFile {
    ModelInfo info;
    QuantizedVae quantized;  // carries the VaeConfig
    ModelHash hash;
    const VaeConfig& config() const { return quantized.config(); }
};

std::string serialize_coding_model(const ModelInfo& info, const QuantizedVae& q);
Expected<CodingModelFile> deserialize_coding_model(std::string_view file_bytes);
// The configuration at the start of a coding model file, from its first bytes (a few hundred
// suffice), without reading or checking the rest: to know what a model codes before loading it.
// An error if the bytes do not start a coding model file or end inside the configuration.
Expected<VaeConfig> peek_coding_config(std::string_view file_prefix);

}  // namespace bbans::models
