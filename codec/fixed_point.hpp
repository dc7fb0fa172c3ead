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
#include <cstdint>

namespace bbans::codec::fixed {

inline constexpr int kArgFrac = 28;          // Q28 arguments
inline constexpr std::int64_t kOneQ31 = std::int64_t{1} << 31;
inline constexpr int kLogScaleFrac = 8;      // Q8 log scales
inline constexpr std::int32_t kLogScaleMin = -8 << kLogScaleFrac;
inline constexpr std::int32_t kLogScaleMax = 8 << kLogScaleFrac;
inline constexpr int kExpFrac = 20;          // exp_neg result is Q20

std::int64_t sigmoid_q31(std::int64_t t_q28);     // 1 / (1 + e^-t)
std::int64_t normal_cdf_q31(std::int64_t t_q28);  // Phi(t)
std::uint32_t exp_neg_q20(std::int32_t log_q8);   // e^(-l), l clamped to [-8, 8]

}  // namespace bbans::codec::fixed
