#pragma once
// Discretized logistic mixture over the 256 pixel values, with open edge buckets.
//
// Pixel value v owns the interval (v - 0.5, v + 0.5] of the real line, except that 0 owns
// everything below 0.5 and 255 everything above 254.5 (the edge buckets take the tails, as in
// PixelCNN++). With mixture CDF F(y) = sum_j w_j sigmoid((y - mean_j) / scale_j) / sum_j w_j
// (the division done as a multiplication by floor(2^62 / sum_j w_j) and a shift), the integer
// cumulative frequency of the boundary below v is
//     C(0) = 0,  C(256) = 2^prec,
//     C(v) = floor(F(v - 0.5) * (2^prec - 256)) + v       for v = 1..255,
// where F is evaluated with the integer sigmoid of fixed_point.hpp. C is strictly increasing
// (F is non-decreasing and +v adds one per step), so every value has frequency >= 1.
// push: two evaluations of C in one pass, O(K). pop: a search from the heaviest component's quantile of cf
// (2 evaluations when the value is there; otherwise a Newton step, a gallop and an interpolation
// search, at most about 20).
//
// Parameters are integers: mean in 1/256 pixel (Q8), log of the scale in pixels (Q8 natural
// log, clamped to [-8, 8]), and non-negative integer mixture weights (not all zero).
#include <array>
#include <cstdint>
#include <span>

#include "bbans/expected.hpp"
#include "codec/codec.hpp"

namespace bbans::codec {

struct LogisticParams {
    std::int32_t mean_q8;       // mean * 256, pixel units (0..255 scale)
    std::int32_t log_scale_q8;  // ln(scale) * 256
    std::uint32_t weight = 1;   // mixture weight (any scale; only ratios matter)
};

class LogisticMixture {
public:
    static constexpr std::size_t kMaxComponents = 8;
    static constexpr std::uint32_t kLevels = 256;
    using symbol_type = std::uint32_t;

    // Fails for 0 or more than kMaxComponents components, all-zero weights, weights summing
    // to 2^32 or more, or a precision outside 9..31 (there must be room for 256 values).
    static Expected<LogisticMixture> make(std::span<const LogisticParams> components, unsigned prec);
    // The same in place (for a coder that reuses one object per pixel); on failure the object
    // is not usable until a successful assign.
    Status assign(std::span<const LogisticParams> components, unsigned prec);

    unsigned precision() const { return prec_; }
    // {C(v), C(v+1) - C(v)}: both ends in one pass over the components (the same integers as
    // two cdf() calls).
    Interval interval(std::uint32_t v) const;
    std::uint32_t symbol(std::uint32_t cf) const { return lookup(cf).symbol; }
    // The symbol whose interval holds cf, and that interval (the search evaluates both ends).
    Lookup<LogisticMixture> lookup(std::uint32_t cf) const;

    // C(v) above, for v in 0..256.
    std::uint32_t cdf(std::uint32_t v) const;

    // Float convenience (tests and tools): parameters rounded to the integer form.
    static LogisticParams params_from_float(double mean, double scale, std::uint32_t weight = 1);

private:
    // C(v) from the Q31 mixture CDF at v's lower edge.
    std::uint32_t from_mix(std::uint64_t mix_q31, std::uint32_t v) const {
        return static_cast<std::uint32_t>(((mix_q31 * ((std::uint64_t{1} << prec_) - kLevels)) >> 31) + v);
    }
    std::array<LogisticParams, kMaxComponents> comp_{};
    std::array<std::uint32_t, kMaxComponents> inv_scale_q20_{};
    std::size_t k_ = 0;                 // components of non-zero weight, in comp_[0, k_)
    bool single_ = false;               // made with one component: cdf() needs no division
    std::uint64_t weight_sum_ = 0;
    std::uint64_t inv_weight_sum_ = 0;  // floor(2^62 / weight_sum_)
    std::uint8_t heavy_ = 0;            // the heaviest component (lookup() starts at its quantile of cf)
    unsigned prec_ = 0;
};

}  // namespace bbans::codec
