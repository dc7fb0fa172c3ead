#pragma once
// Symbol models over small alphabets: Uniform, Categorical, Bernoulli; and the deterministic
// builder that turns weights into frequencies.
#include <cstdint>
#include <span>
#include <vector>

#include "bbans/expected.hpp"
#include "codec/codec.hpp"

namespace bbans::codec {

// Symbols 0 .. 2^prec - 1, each with frequency 1.
class Uniform {
public:
    using symbol_type = std::uint32_t;
    explicit Uniform(unsigned prec) : prec_(prec) {}
    unsigned precision() const { return prec_; }
    // A symbol outside the range gets an empty interval, which push rejects.
    Interval interval(std::uint32_t s) const { return (s >> prec_) == 0 ? Interval{s, 1} : Interval{0, 0}; }
    std::uint32_t symbol(std::uint32_t cf) const { return cf; }

private:
    unsigned prec_;
};

// Integer frequencies (each >= 1, summing to exactly 2^prec) from non-negative integer
// weights, by integer arithmetic only, so that every machine computes the same table:
//   f_i = 1 + floor(w_i * (2^prec - n) / W)        (W = sum of weights)
// and the few units left over go to the largest remainders (ties: lower index first).
// All-zero weights give the uniform table. Needs 1 <= n <= 2^prec and prec <= 31.
Expected<std::vector<std::uint32_t>> frequencies_from_weights(std::span<const std::uint64_t> weights, unsigned prec);

// Convenience for tests and tools, NOT for the coding path of a model: probabilities are
// first rounded to integer weights (p * 2^40), then passed to frequencies_from_weights.
Expected<std::vector<std::uint32_t>> frequencies_from_probabilities(std::span<const double> probs, unsigned prec);

// A table of frequencies summing to 2^prec. Zero frequencies are allowed (the symbol can
// then not be coded). Decoding uses a cf -> symbol slot table when prec <= 16 and a binary
// search over the cumulative table otherwise.
class Categorical {
public:
    using symbol_type = std::uint32_t;

    // Fails if the frequencies do not sum to 2^prec or prec is out of range.
    static Expected<Categorical> from_frequencies(std::vector<std::uint32_t> freqs, unsigned prec);

    unsigned precision() const { return prec_; }
    std::size_t size() const { return freqs_.size(); }
    Interval interval(std::uint32_t s) const {
        return s < freqs_.size() ? Interval{cum_[s], freqs_[s]} : Interval{0, 0};
    }
    std::uint32_t symbol(std::uint32_t cf) const;
    std::span<const std::uint32_t> frequencies() const { return freqs_; }

private:
    Categorical() = default;
    unsigned prec_ = 0;
    std::vector<std::uint32_t> freqs_;
    std::vector<std::uint32_t> cum_;    // cum_[s] = sum of freqs_[0..s), size n + 1
    std::vector<std::uint32_t> slots_;  // slots_[cf] = symbol, only when prec <= 16
};

// P(1) = one_freq / 2^prec, 1 <= one_freq < 2^prec (clamped into that range).
class Bernoulli {
public:
    using symbol_type = std::uint32_t;
    Bernoulli(std::uint32_t one_freq, unsigned prec);
    unsigned precision() const { return prec_; }
    Interval interval(std::uint32_t s) const {
        return s == 0 ? Interval{0, zero_} : s == 1 ? Interval{zero_, (std::uint32_t{1} << prec_) - zero_} : Interval{0, 0};
    }
    std::uint32_t symbol(std::uint32_t cf) const { return cf >= zero_ ? 1u : 0u; }

private:
    unsigned prec_;
    std::uint32_t zero_;  // frequency of 0 = start of 1
};

}  // namespace bbans::codec
