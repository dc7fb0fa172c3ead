#include "codec/gaussian.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "codec/fixed_point.hpp"

namespace bbans::codec {

namespace {
constexpr std::int32_t kZLimitQ16 = 16 << 16;  // latents live well inside |z| < 16

// Smallest t (Q16) in [-kZLimit, kZLimit] with Phi(t) >= target (Q31).
std::int32_t inverse_normal_cdf_q16(std::int64_t target_q31) {
    std::int32_t lo = -kZLimitQ16, hi = kZLimitQ16;
    while (lo < hi) {
        const std::int32_t mid = lo + (hi - lo) / 2;
        if (fixed::normal_cdf_q31(std::int64_t{mid} << 12) >= target_q31) hi = mid; else lo = mid + 1;
    }
    return lo;
}
}  // namespace

Expected<BucketGrid> BucketGrid::make(unsigned prior_prec) {
    if (prior_prec == 0 || prior_prec > kMaxPriorPrecision)
        return make_error("latent prior precision " + std::to_string(prior_prec) + " out of range 1..16");
    BucketGrid g;
    g.prior_prec_ = prior_prec;
    const std::uint32_t n = g.buckets();
    g.edges_.assign(n + 1, 0);
    g.centres_.assign(n, 0);
    // Targets k / n and (k + 1/2) / n as Q31: exact, since n = 2^prior_prec <= 2^16.
    for (std::uint32_t k = 1; k < n; ++k) g.edges_[k] = inverse_normal_cdf_q16((std::int64_t{k} << 31) >> prior_prec);
    for (std::uint32_t k = 0; k < n; ++k)
        g.centres_[k] = inverse_normal_cdf_q16(((std::int64_t{2 * k + 1} << 31) >> (prior_prec + 1)));
    return g;
}

Expected<GaussianBuckets> GaussianBuckets::make(const BucketGrid& grid, GaussianParams params, unsigned prec) {
    if (prec <= grid.prior_precision() || prec > kMaxPrecision)
        return make_error("posterior precision " + std::to_string(prec) + " must be above the prior precision " +
                          std::to_string(grid.prior_precision()) + " and at most 31");
    GaussianBuckets g;
    g.grid_ = &grid;
    g.mean_q16_ = std::clamp(params.mean_q16, -kZLimitQ16, kZLimitQ16);
    g.inv_scale_q20_ = fixed::exp_neg_q20(params.log_scale_q8);
    g.prec_ = prec;
    return g;
}

std::uint32_t GaussianBuckets::cdf(std::uint32_t k) const {
    const std::uint32_t n = grid_->buckets();
    if (k == 0) return 0;
    const std::uint64_t total = std::uint64_t{1} << prec_;
    if (k >= n) return static_cast<std::uint32_t>(total);
    // (edge - mean): Q16, |.| <= 2^21; inv_scale Q20 < 2^32; product Q36 < 2^53; to Q28.
    const std::int64_t t_q36 = (std::int64_t{grid_->edge_q16(k)} - mean_q16_) * inv_scale_q20_;
    const auto phi = static_cast<std::uint64_t>(fixed::normal_cdf_q31(t_q36 >> 8));  // C++20: arithmetic shift
    return static_cast<std::uint32_t>(((phi * (total - n)) >> 31) + k);
}

std::uint32_t GaussianBuckets::symbol(std::uint32_t cf) const {
    std::uint32_t lo = 0, hi = grid_->buckets();  // cdf(lo) <= cf < cdf(hi)
    while (hi - lo > 1) {
        const std::uint32_t mid = lo + (hi - lo) / 2;
        if (cdf(mid) <= cf) lo = mid; else hi = mid;
    }
    return lo;
}

GaussianParams GaussianBuckets::params_from_float(double mean, double scale) {
    return {static_cast<std::int32_t>(std::lround(std::clamp(mean, -16.0, 16.0) * 65536.0)),
            static_cast<std::int32_t>(std::lround(std::log(scale) * 256.0))};
}

}  // namespace bbans::codec
