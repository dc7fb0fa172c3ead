#include "codec/categorical.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

namespace bbans::codec {

__extension__ typedef unsigned __int128 u128;  // GCC and Clang on 64-bit targets

Expected<std::vector<std::uint32_t>> frequencies_from_weights(std::span<const std::uint64_t> weights, unsigned prec) {
    const std::size_t n = weights.size();
    if (prec == 0 || prec > kMaxPrecision) return make_error("precision " + std::to_string(prec) + " out of range 1..31");
    const std::uint64_t total_freq = std::uint64_t{1} << prec;
    if (n == 0 || n > total_freq)
        return make_error(std::to_string(n) + " symbols do not fit in " + std::to_string(prec) + " bits with frequency >= 1 each");
    u128 w_sum = 0;
    for (std::uint64_t w : weights) w_sum += w;
    std::vector<std::uint32_t> freqs(n, 1);
    if (w_sum == 0) {  // uniform: spread the rest one by one
        const std::uint64_t each = total_freq / n, extra = total_freq % n;
        for (std::size_t i = 0; i < n; ++i) freqs[i] = static_cast<std::uint32_t>(each + (i < extra ? 1 : 0));
        return freqs;
    }
    const std::uint64_t avail = total_freq - n;
    std::vector<u128> rem(n);  // remainders of the division; all share the divisor W
    std::uint64_t used = n;
    for (std::size_t i = 0; i < n; ++i) {
        const u128 num = static_cast<u128>(weights[i]) * avail;
        const std::uint64_t q = static_cast<std::uint64_t>(num / w_sum);
        rem[i] = num % w_sum;
        freqs[i] += static_cast<std::uint32_t>(q);
        used += q;
    }
    std::uint64_t left = total_freq - used;  // < n
    if (left > 0) {
        std::vector<std::size_t> order(n);
        std::iota(order.begin(), order.end(), std::size_t{0});
        std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return rem[a] > rem[b]; });
        for (std::size_t k = 0; k < left; ++k) ++freqs[order[k]];
    }
    return freqs;
}

Expected<std::vector<std::uint32_t>> frequencies_from_probabilities(std::span<const double> probs, unsigned prec) {
    std::vector<std::uint64_t> w(probs.size());
    for (std::size_t i = 0; i < probs.size(); ++i) {
        const double p = probs[i];
        if (!(p >= 0.0) || !std::isfinite(p)) return make_error("probability " + std::to_string(i) + " is negative or not finite");
        w[i] = static_cast<std::uint64_t>(std::llround(std::min(p, 1.0) * 1099511627776.0));  // 2^40
    }
    return frequencies_from_weights(w, prec);
}

Expected<Categorical> Categorical::from_frequencies(std::vector<std::uint32_t> freqs, unsigned prec) {
    if (prec == 0 || prec > kMaxPrecision) return make_error("precision " + std::to_string(prec) + " out of range 1..31");
    if (freqs.empty()) return make_error("a categorical needs at least one symbol");
    std::uint64_t sum = 0;
    for (std::uint32_t f : freqs) sum += f;
    if (sum != (std::uint64_t{1} << prec))
        return make_error("frequencies sum to " + std::to_string(sum) + ", not 2^" + std::to_string(prec));
    Categorical c;
    c.prec_ = prec;
    c.freqs_ = std::move(freqs);
    c.cum_.resize(c.freqs_.size() + 1);
    c.cum_[0] = 0;
    for (std::size_t i = 0; i < c.freqs_.size(); ++i) c.cum_[i + 1] = c.cum_[i] + c.freqs_[i];
    if (prec <= 16) {
        c.slots_.resize(std::size_t{1} << prec);
        for (std::size_t s = 0; s < c.freqs_.size(); ++s)
            std::fill(c.slots_.begin() + c.cum_[s], c.slots_.begin() + c.cum_[s + 1], static_cast<std::uint32_t>(s));
    }
    return c;
}

std::uint32_t Categorical::symbol(std::uint32_t cf) const {
    if (!slots_.empty()) return slots_[cf];
    // Last s with cum_[s] <= cf; symbols with zero frequency are skipped since upper_bound
    // finds the first cum_ > cf and cum_ is non-decreasing.
    auto it = std::upper_bound(cum_.begin(), cum_.end(), cf);
    return static_cast<std::uint32_t>((it - cum_.begin()) - 1);
}

Bernoulli::Bernoulli(std::uint32_t one_freq, unsigned prec) : prec_(prec) {
    const std::uint32_t total = std::uint32_t{1} << prec;
    one_freq = std::clamp<std::uint32_t>(one_freq, 1, total - 1);
    zero_ = total - one_freq;
}

}  // namespace bbans::codec
