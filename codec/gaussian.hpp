#pragma once
// Continuous latents, discretized (classic BB-ANS).
//
// A latent dimension lives on 2^prior_prec buckets of equal mass under N(0, 1). The prior is
// then uniform over bucket indices: Uniform(prior_prec) from categorical.hpp. The posterior
// N(mean, scale) is coded over the same buckets at precision prec > prior_prec:
//     C(0) = 0,  C(2^prior_prec) = 2^prec,
//     C(k) = floor(Phi((edge_k - mean) / scale) * (2^prec - 2^prior_prec)) + k,
// strictly increasing, so every bucket has frequency >= 1. Phi is the integer normal CDF of
// fixed_point.hpp; edges and centres come from inverting that same integer Phi by binary
// search, so the grid is identical on every machine too.
#include <cstdint>
#include <vector>

#include "bbans/expected.hpp"
#include "codec/codec.hpp"

namespace bbans::codec {

// The equal-mass buckets for one prior precision. Values are Q16 (z * 65536).
class BucketGrid {
public:
    static constexpr unsigned kMaxPriorPrecision = 16;
    static Expected<BucketGrid> make(unsigned prior_prec);

    unsigned prior_precision() const { return prior_prec_; }
    std::uint32_t buckets() const { return std::uint32_t{1} << prior_prec_; }
    // edge(k) for k = 1 .. buckets-1: the boundary between buckets k-1 and k.
    std::int32_t edge_q16(std::uint32_t k) const { return edges_[k]; }
    // The bucket's median under N(0,1): the latent value a decoder network is fed.
    std::int32_t centre_q16(std::uint32_t k) const { return centres_[k]; }
    const std::vector<std::int32_t>& centres_q16() const { return centres_; }

private:
    unsigned prior_prec_ = 0;
    std::vector<std::int32_t> edges_;    // size buckets + 1; [0] and [buckets] unused
    std::vector<std::int32_t> centres_;  // size buckets
};

struct GaussianParams {
    std::int32_t mean_q16;      // mean * 65536
    std::int32_t log_scale_q8;  // ln(scale) * 256, clamped to [-8, 8]
};

// Posterior N(mean, scale) over the buckets of a grid. The grid must outlive the model.
class GaussianBuckets {
public:
    using symbol_type = std::uint32_t;  // bucket index
    // Fails unless grid.prior_precision() < prec <= 31.
    static Expected<GaussianBuckets> make(const BucketGrid& grid, GaussianParams params, unsigned prec);

    unsigned precision() const { return prec_; }
    Interval interval(std::uint32_t k) const {
        if (k >= grid_->buckets()) return {0, 0};
        const std::uint32_t a = cdf(k), b = cdf(k + 1);
        return {a, b - a};
    }
    std::uint32_t symbol(std::uint32_t cf) const;
    std::uint32_t cdf(std::uint32_t k) const;  // C(k) above, k in 0..buckets

    static GaussianParams params_from_float(double mean, double scale);

private:
    const BucketGrid* grid_ = nullptr;
    std::int32_t mean_q16_ = 0;
    std::uint32_t inv_scale_q20_ = 0;
    unsigned prec_ = 0;
};

}  // namespace bbans::codec
