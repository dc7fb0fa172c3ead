#pragma once
// Fast integer inference for the quantized VAE: the same functions as QuantizedVae's
// posterior(), decoder_channels() and pixel_params(), with the weights rearranged for speed.
//
// TRAPS
//   - The result must equal QuantizedVae's reference methods bit for bit, on every build: it
//     does, because every sum is an exact int32 sum (the per-row budget of quantized.hpp bounds
//     it in any order and any grouping), and the rounding and clamping are the same integer
//     steps. tests/coding/packed_test.cpp compares both kernels (AVX2, portable C++) with the
//     reference on random layers and models; the determinism test compares whole files made
//     with AVX2 and with the portable kernels (BBANS_PORTABLE_KERNELS=1, clang -O0).
//   - A PackedVae is a snapshot: changing the QuantizedVae afterwards does not change it.
//
// WHY IT IS FASTER
//   ReLU layers are sparse: in the shipped models over 90% of the hidden activations feeding
//   the decoder's 384 x 3136 layer are 0. The reference kernel reads every weight (2.4 MB per
//   image, beyond the L2 cache); this one reads only the weights of non-zero inputs.
//
// LAYOUT (PackedLinear): inputs are taken in pairs (2p, 2p+1); for each pair the weights of all
// rows follow one another as int16 pairs,
//     w[(p * out_pad + r) * 2 + k] = W[r][2p + k]        (0 for padding rows and inputs)
// with out_pad = out rounded up to 8. One AVX2 multiply-add (vpmaddwd) then computes
// W[r][2p] x[2p] + W[r][2p+1] x[2p+1] for 8 rows; |that| <= the row budget < 2^30, so the
// instruction's int32 result is exact. Pairs whose two inputs are 0 are skipped.
#include <cstdint>
#include <span>
#include <vector>

#include "bbans/expected.hpp"
#include "models/quantized.hpp"

namespace bbans::models {

struct PackedLinear {
    std::int32_t in = 0, out = 0, pairs = 0, out_pad = 0;
    std::vector<std::int16_t> w;        // pairs * out_pad * 2, layout above
    std::vector<std::int16_t> w_rows;   // layers of at most 64 rows: QLinear's row-major weights too
    std::vector<std::int32_t> bias;     // out_pad (0 for padding rows)
    std::vector<std::int32_t> shift32;  // out_pad: QLinear::shift as int32 (1 for padding rows)
    std::vector<std::int32_t> lo, hi;   // out_pad (0 for padding rows)
    bool plain_shifts = false;          // every shift in 1..31 (rounding without int64, in SIMD)

    static PackedLinear pack(const QLinear& q);

    // best: AVX2 if the CPU has it (x86-64 builds with GCC or Clang carry both kernels), else
    // portable. portable: plain C++ (for tests: both must give the same results).
    enum class Kernel { best, portable };
    // Whether best means AVX2 here: the CPU supports it and BBANS_PORTABLE_KERNELS=1 is not set.
    static bool has_avx2();

    // x: in values within the layer's declared ranges -> y: out values (as QLinear::forward).
    // Out = int16 only where the outputs fit (hidden layers; QuantizedVae::validate checks).
    template <class Out>
    void forward(const std::int16_t* x, Out* y, Kernel kernel = Kernel::best) const;
    // The same into acc[0, out_pad) (rows from out on are padding), without a copy.
    void forward_padded(const std::int16_t* x, std::int32_t* acc, Kernel kernel = Kernel::best) const;

private:
    // acc[0, out_pad): the requantized rows.
    void accumulate_portable(const std::int16_t* x, std::int32_t* acc) const;
    void accumulate_avx2(const std::int16_t* x, std::int32_t* acc) const;
};

class PackedVae {
public:
    // Validates q (QuantizedVae::validate) and packs its layers.
    static Expected<PackedVae> make(const QuantizedVae& q);

    const VaeConfig& config() const { return config_; }
    // As QuantizedVae's methods of the same names, same arguments, same results.
    void posterior(std::span<const std::uint8_t> x, std::span<std::int32_t> mean_q16, std::span<std::int32_t> log_scale_q8) const;
    void posterior2(std::span<const std::int32_t> z1_q16, std::span<std::int32_t> mean_q16, std::span<std::int32_t> log_scale_q8) const;
    void prior1(std::span<const std::int32_t> z2_q16, std::span<std::int32_t> mean_q16, std::span<std::int32_t> log_scale_q8) const;
    void decoder_channels(std::span<const std::int32_t> z_q16, std::span<std::int16_t> channels) const;
    void pixel_params(const std::int16_t* channels, const std::uint8_t* neighbours, std::size_t s, QPixelMixture& out) const;
    // The same from the head's input vector: the C channels, then (if autoregressive) the
    // context bytes, as int16; s: the sample's channel in its pixel (with head_per_channel, head
    // s codes it). (With head_skip its last layer reads the inputs again after the last hidden
    // layer, as QuantizedVae does.)
    void head(const std::int16_t* input, std::size_t s, QPixelMixture& out) const;

    // The AVX2 kernels of a head whose layers fit in registers (packed.cpp): one per hidden
    // layer (x -> int16 rows), and the output layer's (x -> int32 rows). output null: none.
    using HiddenKernel = void (*)(const PackedLinear&, const std::int16_t*, std::int16_t*);
    using OutputKernel = void (*)(const PackedLinear&, const std::int16_t*, std::int32_t*);
    struct FusedHead {
        std::vector<HiddenKernel> hidden;
        OutputKernel output = nullptr;
    };

private:
    VaeConfig config_;
    std::vector<PackedLinear> encoder_, decoder_, encoder2_, prior1_;
    std::vector<std::vector<PackedLinear>> heads_;  // QuantizedVae::channel_head(s) for each head (none without a head)
    std::size_t head_width_ = 0;  // the widest head layer's out_pad
    std::vector<FusedHead> fused_;  // per head: its fused kernels, or none
};

}  // namespace bbans::models
