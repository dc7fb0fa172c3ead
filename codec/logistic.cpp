#include "codec/logistic.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <string>

#include "codec/fixed_point.hpp"

namespace bbans::codec {

namespace {
constexpr std::int32_t kMeanLimitQ8 = 1 << 20;
__extension__ typedef unsigned __int128 u128;

// ln(u / (1 - u)) in Q8 at u = (i + 0.5) / 4096: the logistic's quantile function, where
// lookup() starts its search. It only decides where the search starts, never its result (the
// symbol whose interval holds cf is unique), so this table may come from floating point:
// a different last bit on another machine changes no frequency and no output.
const std::array<std::int32_t, 4096>& logit_q8() {
    static const std::array<std::int32_t, 4096> table = [] {
        std::array<std::int32_t, 4096> t{};
        for (std::size_t i = 0; i < t.size(); ++i) {
            const double u = (static_cast<double>(i) + 0.5) / 4096.0;
            t[i] = static_cast<std::int32_t>(std::lround(std::log(u / (1.0 - u)) * 256.0));
        }
        return t;
    }();
    return table;
}
}

Status LogisticMixture::assign(std::span<const LogisticParams> components, unsigned prec) {
    if (components.empty() || components.size() > kMaxComponents)
        return make_error("a logistic mixture needs 1.." + std::to_string(kMaxComponents) + " components, got " +
                          std::to_string(components.size()));
    if (prec < 9 || prec > kMaxPrecision) return make_error("logistic precision " + std::to_string(prec) + " out of range 9..31");
    LogisticMixture& m = *this;
    m.prec_ = prec;
    m.k_ = 0;
    m.weight_sum_ = 0;
    m.single_ = components.size() == 1;
    // Components of weight 0 add nothing to any sum in cdf(): they are left out (a speed-up
    // that changes no frequency). The rest keep their order.
    std::size_t heavy = 0;
    for (const LogisticParams& c : components) {
        m.weight_sum_ += c.weight;
        if (c.weight == 0) continue;
        const std::size_t j = m.k_++;
        m.comp_[j] = c;
        // Keeps (edge - mean) * inv_scale inside int64 (see cdf()); no useful mean is further out.
        m.comp_[j].mean_q8 = std::clamp(c.mean_q8, -kMeanLimitQ8, kMeanLimitQ8);
        m.inv_scale_q20_[j] = fixed::exp_neg_q20(c.log_scale_q8);
        if (c.weight > m.comp_[heavy].weight) heavy = j;
    }
    if (m.weight_sum_ == 0 || m.weight_sum_ >> 32) return make_error("logistic mixture weights must sum to 1..2^32-1");
    m.inv_weight_sum_ = (std::uint64_t{1} << 62) / m.weight_sum_;
    m.heavy_ = static_cast<std::uint8_t>(heavy);
    return Ok{};
}

Expected<LogisticMixture> LogisticMixture::make(std::span<const LogisticParams> components, unsigned prec) {
    LogisticMixture m;
    if (auto s = m.assign(components, prec); !s) return s.error();
    return m;
}

std::uint32_t LogisticMixture::cdf(std::uint32_t v) const {
    if (v == 0) return 0;
    const std::uint64_t total = std::uint64_t{1} << prec_;
    if (v >= kLevels) return static_cast<std::uint32_t>(total);
    // Boundary v - 0.5 in Q8 pixel units.
    const std::int64_t edge_q8 = (2 * static_cast<std::int64_t>(v) - 1) << 7;
    std::uint64_t mix;  // Q31 mixture CDF in [0, 2^31]
    if (single_) {
        mix = static_cast<std::uint64_t>(fixed::sigmoid_q31((edge_q8 - comp_[0].mean_q8) * inv_scale_q20_[0]));
    } else {
        std::uint64_t acc = 0;  // sum of w_j * sigmoid_j < 2^32 * 2^31
        for (std::size_t j = 0; j < k_; ++j)
            acc += comp_[j].weight *
                   static_cast<std::uint64_t>(fixed::sigmoid_q31((edge_q8 - comp_[j].mean_q8) * inv_scale_q20_[j]));
        // acc / W by the reciprocal floor(2^62 / W): one multiplication instead of a division
        // per evaluation (a pop makes eight). Monotone in acc, and never above acc / W <= 2^31.
        mix = static_cast<std::uint64_t>((static_cast<u128>(acc) * inv_weight_sum_) >> 62);
    }
    // (edge - mean) is Q8 with |.| < 2^21 (means clamped in make()) and inv_scale is Q20
    // below 2^32: the product is the Q28 argument, below 2^53 in magnitude.
    return from_mix(mix, v);
}

Interval LogisticMixture::interval(std::uint32_t v) const {
    if (v >= kLevels) return {0, 0};
    if (v == 0 || v + 1 >= kLevels) {  // an edge bucket: one end is fixed
        const std::uint32_t a = cdf(v), b = cdf(v + 1);
        return {a, b - a};
    }
    // cdf(v) and cdf(v + 1) as cdf() computes them, sharing each component's loads.
    const std::int64_t lo_q8 = (2 * static_cast<std::int64_t>(v) - 1) << 7, hi_q8 = lo_q8 + 256;
    std::uint64_t mix_lo, mix_hi;
    if (single_) {
        mix_lo = static_cast<std::uint64_t>(fixed::sigmoid_q31((lo_q8 - comp_[0].mean_q8) * inv_scale_q20_[0]));
        mix_hi = static_cast<std::uint64_t>(fixed::sigmoid_q31((hi_q8 - comp_[0].mean_q8) * inv_scale_q20_[0]));
    } else {
        std::uint64_t acc_lo = 0, acc_hi = 0;
        for (std::size_t j = 0; j < k_; ++j) {
            const std::int64_t m = comp_[j].mean_q8, s = inv_scale_q20_[j];
            const std::uint64_t w = comp_[j].weight;
            acc_lo += w * static_cast<std::uint64_t>(fixed::sigmoid_q31((lo_q8 - m) * s));
            acc_hi += w * static_cast<std::uint64_t>(fixed::sigmoid_q31((hi_q8 - m) * s));
        }
        mix_lo = static_cast<std::uint64_t>((static_cast<u128>(acc_lo) * inv_weight_sum_) >> 62);
        mix_hi = static_cast<std::uint64_t>((static_cast<u128>(acc_hi) * inv_weight_sum_) >> 62);
    }
    const std::uint32_t a = from_mix(mix_lo, v), b = from_mix(mix_hi, v + 1);
    return {a, b - a};
}

Lookup<LogisticMixture> LogisticMixture::lookup(std::uint32_t cf) const {
    // The largest v in [0, 255] with cdf(v) <= cf; it is unique (cdf is strictly increasing),
    // so the search order cannot change the answer. Most of the mass sits near the heaviest
    // component's mean: start there. A pixel at the guess takes two evaluations instead of the
    // eight of a plain bisection (and the two give its interval). On a miss (about a third of
    // the pixels of the shipped models), a Newton step and a gallop bracket cf, then an
    // interpolation search narrows the bracket: 2.1 calls of cdf() per decoded
    // pixel of Fashion-MNIST training images (the edge buckets' calls included), against 2.7
    // with a gallop from the guess and bisection (decompress 15-18% faster).
    std::uint32_t lo, hi;        // cdf(lo) <= cf < cdf(hi)
    std::uint32_t c_lo, c_hi;    // cdf(lo), cdf(hi)
    // Start at the heaviest component's quantile of cf: mean + scale * logit(cf / 2^prec).
    const std::int64_t q = logit_q8()[prec_ >= 12 ? cf >> (prec_ - 12) : cf << (12 - prec_)];
    const LogisticParams& h = comp_[heavy_];
    const std::int64_t scale_q20 = fixed::exp_neg_q20(-h.log_scale_q8);  // e^(log scale), Q20
    const std::int64_t at_q8 = h.mean_q8 + ((q * scale_q20) >> 20);
    const std::uint32_t guess = static_cast<std::uint32_t>(std::clamp<std::int64_t>((at_q8 + 128) >> 8, 0, kLevels - 1));
    // Both ends of the guess's interval in one pass (interval() shares the components' loads).
    const Interval at_guess = interval(guess);
    const std::uint32_t c_guess = at_guess.start;
    // A miss: one Newton step (the guess's frequency standing for the density), then a gallop
    // (step doubling) from there until cf is bracketed.
    const std::uint32_t f = std::max<std::uint32_t>(at_guess.freq, 1);
    if (c_guess <= cf) {
        lo = guess;
        c_lo = c_guess;
        hi = guess + 1;
        c_hi = at_guess.start + at_guess.freq;
        if (c_hi <= cf && hi < kLevels) {
            const std::uint32_t t = std::min(kLevels, hi + (cf - c_hi) / f + 1);
            const std::uint32_t c_t = cdf(t);
            lo = hi;
            c_lo = c_hi;
            hi = t;
            c_hi = c_t;
            for (std::uint32_t step = 1; hi < kLevels && c_hi <= cf; step *= 2) {
                lo = hi;
                c_lo = c_hi;
                hi = std::min(kLevels, lo + step);
                c_hi = cdf(hi);
            }
        }
    } else {  // guess > 0, since cdf(0) = 0 <= cf
        hi = guess;
        c_hi = c_guess;
        const std::uint32_t d = (c_guess - cf - 1) / f + 1;
        lo = guess > d ? guess - d : 0;
        c_lo = cdf(lo);
        for (std::uint32_t step = 1; lo > 0 && c_lo > cf; step *= 2) {
            hi = lo;
            c_hi = c_lo;
            lo = lo > step ? lo - step : 0;
            c_lo = cdf(lo);
        }
    }
    // Then interpolation search (the CDF is smooth), every other step a plain bisection so that
    // a bad interpolation costs at most twice the steps of bisection. (cf - c_lo) (hi - lo) <
    // 2^31 2^8, and c_lo <= cf < c_hi, so the division is by a positive number.
    for (bool bisect = false; hi - lo > 1; bisect = !bisect) {
        const std::uint32_t mid =
            bisect ? lo + (hi - lo) / 2
                   : std::clamp(lo + static_cast<std::uint32_t>(std::uint64_t{cf - c_lo} * (hi - lo) / (c_hi - c_lo)), lo + 1, hi - 1);
        const std::uint32_t c_mid = cdf(mid);
        if (c_mid <= cf) {
            lo = mid;
            c_lo = c_mid;
        } else {
            hi = mid;
            c_hi = c_mid;
        }
    }
    return {lo, {c_lo, c_hi - c_lo}};
}

LogisticParams LogisticMixture::params_from_float(double mean, double scale, std::uint32_t weight) {
    return {static_cast<std::int32_t>(std::lround(mean * 256.0)),
            static_cast<std::int32_t>(std::lround(std::log(scale) * 256.0)), weight};
}

}  // namespace bbans::codec
