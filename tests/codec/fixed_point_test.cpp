// The integer functions against libm. Tolerances are about model quality; bit-exactness
// across builds is a separate property (the integer results do not depend on the build).
#include <catch2/catch.hpp>
#include <cmath>

#include "codec/fixed_point.hpp"
#include "codec/gaussian.hpp"

using namespace bbans::codec;

TEST_CASE("fixed point: sigmoid and normal CDF match libm and are monotone", "[fixed]") {
    const double q28 = std::ldexp(1.0, 28), q31 = std::ldexp(1.0, 31);
    std::int64_t prev_s = -1, prev_n = -1;
    double max_err_s = 0, max_err_n = 0;
    for (std::int64_t t = -(std::int64_t{20} << 28); t <= (std::int64_t{20} << 28); t += (std::int64_t{1} << 14) + 7) {
        const std::int64_t s = fixed::sigmoid_q31(t), n = fixed::normal_cdf_q31(t);
        REQUIRE(s >= prev_s);
        REQUIRE(n >= prev_n);
        REQUIRE(s >= 0);
        REQUIRE(s <= fixed::kOneQ31);
        REQUIRE(n <= fixed::kOneQ31);
        prev_s = s;
        prev_n = n;
        const double x = static_cast<double>(t) / q28;
        max_err_s = std::max(max_err_s, std::abs(static_cast<double>(s) / q31 - 1.0 / (1.0 + std::exp(-x))));
        max_err_n = std::max(max_err_n, std::abs(static_cast<double>(n) / q31 - 0.5 * std::erfc(-x / std::sqrt(2.0))));
    }
    CHECK(max_err_s < 3e-6);  // h^2/8 * max|sigmoid''| with h = 1/64
    CHECK(max_err_n < 2e-6);  // h^2/8 * max|phi'| with h = 1/128
    REQUIRE(fixed::sigmoid_q31(0) == fixed::kOneQ31 / 2);
    REQUIRE(fixed::normal_cdf_q31(0) == fixed::kOneQ31 / 2);
}

TEST_CASE("fixed point: exp_neg matches libm and clamps outside its range", "[fixed]") {
    for (std::int32_t l = fixed::kLogScaleMin; l <= fixed::kLogScaleMax; ++l) {
        const double want = std::exp(-l / 256.0) * 1048576.0;
        REQUIRE(static_cast<double>(fixed::exp_neg_q20(l)) == Approx(want).margin(0.5001));  // rounded to the nearest integer
    }
    REQUIRE(fixed::exp_neg_q20(-100000) == fixed::exp_neg_q20(fixed::kLogScaleMin));
    REQUIRE(fixed::exp_neg_q20(100000) == fixed::exp_neg_q20(fixed::kLogScaleMax));
}

TEST_CASE("fixed point: bucket edges are the N(0,1) quantiles", "[fixed][gaussian]") {
    for (unsigned pp : {2u, 8u, 16u}) {
        auto grid = BucketGrid::make(pp);
        REQUIRE(grid.has_value());
        const double n = grid->buckets();
        for (std::uint32_t k = 1; k < grid->buckets(); k += 1 + grid->buckets() / 300) {
            const double z = grid->edge_q16(k) / 65536.0;
            const double mass = 0.5 * std::erfc(-z / std::sqrt(2.0));
            // Table error (2e-6) plus half a Q16 step times the largest density (6.1e-6).
            REQUIRE(mass == Approx(k / n).margin(8.2e-6));
            const double c = grid->centre_q16(k) / 65536.0;
            REQUIRE(0.5 * std::erfc(-c / std::sqrt(2.0)) == Approx((k + 0.5) / n).margin(8.2e-6));
        }
    }
}
