#pragma once
// Integer versions of the functions behind every CDF bbans codes with.
//
// Why: a frequency that differs by one unit between encoder and decoder breaks a file, and
// float results differ between compilers, flags (FMA contraction, -O levels, SIMD) and
// CPUs. So the coding path never lets a float decide a frequency. The three functions here
// read committed integer tables (fixed_tables.inc, made by tools/gen_tables.py) and
// interpolate linearly in 64-bit integer arithmetic: identical results everywhere.
//
// Formats: QF means an integer x standing for x / 2^F.
//   arguments t of sigmoid / normal_cdf are Q28 (|t| beyond the table's range is clamped);
//   results are Q31 in [0, 2^31], non-decreasing in t (linear interpolation between
//   non-decreasing samples is non-decreasing, and the floor keeps it so);
//   log scales are Q8 natural logs; exp_neg gives e^(-l) as Q20 for l in [-8, 8] (clamped).
// Interpolation error (quality only, not correctness): sigmoid < 3e-6, normal_cdf < 2e-6
// absolute; exp_neg is rounded to the nearest Q20 unit.
#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace bbans::codec::fixed {

inline constexpr int kArgFrac = 28;          // Q28 arguments
inline constexpr std::int64_t kOneQ31 = std::int64_t{1} << 31;
inline constexpr int kLogScaleFrac = 8;      // Q8 log scales
inline constexpr std::int32_t kLogScaleMin = -8 << kLogScaleFrac;
inline constexpr std::int32_t kLogScaleMax = 8 << kLogScaleFrac;
inline constexpr int kExpFrac = 20;          // exp_neg result is Q20

namespace detail {
#include "codec/fixed_tables.inc"

// Samples table[i] at t = -range + i * 2^-step_bits (range = half_width); interpolates at
// t (Q28). Every operation is on integers; the shift of a negative product is avoided by
// interpolating a non-negative fraction. (Inline, with the tables in this header: the coder
// calls these several times per pixel, and a call per lookup cost 10-15% of coding time.)
template <std::size_t N>
inline std::int64_t interpolate(const std::uint32_t (&table)[N], std::int64_t t_q28, int step_bits) {
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
}  // namespace detail

// 1 / (1 + e^-t)
inline std::int64_t sigmoid_q31(std::int64_t t_q28) { return detail::interpolate(detail::kSigmoidQ31, t_q28, 6); }
// Phi(t)
inline std::int64_t normal_cdf_q31(std::int64_t t_q28) { return detail::interpolate(detail::kNormalCdfQ31, t_q28, 7); }
// e^(-l), l clamped to [-8, 8]
inline std::uint32_t exp_neg_q20(std::int32_t log_q8) {
    const std::int32_t l = std::clamp(log_q8, kLogScaleMin, kLogScaleMax);
    return detail::kExpNegQ20[static_cast<std::size_t>(l - kLogScaleMin)];
}

}  // namespace bbans::codec::fixed
