#include "codec/fixed_point.hpp"

#include <algorithm>
#include <cstddef>

namespace bbans::codec::fixed {
namespace {
#include "codec/fixed_tables.inc"

// Samples table[i] at t = -range + i * 2^-step_bits (range = half_width); interpolates at
// t (Q28). Every operation is on integers; the shift of a negative product is avoided by
// interpolating a non-negative fraction.
template <std::size_t N>
std::int64_t interpolate(const std::uint32_t (&table)[N], std::int64_t t_q28, int step_bits) {
    const int frac_bits = kArgFrac - step_bits;
    const std::int64_t half = static_cast<std::int64_t>(N - 1) / 2;  // index of t = 0
    // Position in table steps, as Q(frac_bits), shifted so that it is >= 0 when in range.
    const std::int64_t lo = -(half << frac_bits), hi = half << frac_bits;
    const std::int64_t pos = std::clamp(t_q28, lo, hi) + (half << frac_bits);
    const std::size_t i = static_cast<std::size_t>(pos >> frac_bits);
    if (i >= N - 1) return table[N - 1];
    const std::int64_t f = pos & ((std::int64_t{1} << frac_bits) - 1);
    const std::int64_t a = table[i], b = table[i + 1];
    return a + (((b - a) * f) >> frac_bits);  // b >= a, so the product is >= 0
}
}  // namespace

std::int64_t sigmoid_q31(std::int64_t t_q28) { return interpolate(kSigmoidQ31, t_q28, 6); }
std::int64_t normal_cdf_q31(std::int64_t t_q28) { return interpolate(kNormalCdfQ31, t_q28, 7); }

std::uint32_t exp_neg_q20(std::int32_t log_q8) {
    const std::int32_t l = std::clamp(log_q8, kLogScaleMin, kLogScaleMax);
    return kExpNegQ20[static_cast<std::size_t>(l - kLogScaleMin)];
}

}  // namespace bbans::codec::fixed
