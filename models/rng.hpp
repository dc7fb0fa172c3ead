#pragma once
// A small, fully specified pseudo-random generator (xoshiro256** seeded through splitmix64), so
// that a seed means the same stream on every platform and standard library (std::normal_ and
// std::uniform_int_distribution are implementation-defined). Its whole state is four words,
// saved in training checkpoints.
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace bbans::models {

class Rng {
public:
    using State = std::array<std::uint64_t, 4>;

    explicit Rng(std::uint64_t seed = 0) { reseed(seed); }
    void reseed(std::uint64_t seed);

    std::uint64_t next_u64();
    // Uniform in [0, n) without modulo bias (rejection). n >= 1.
    std::uint64_t uniform_below(std::uint64_t n);
    // Uniform in [0, 1) with 53 random bits.
    double uniform01();
    // Standard normal (Box-Muller; one value per two uniforms, so the state alone is the whole
    // generator and save/restore is exact anywhere).
    double normal();
    // Fisher-Yates shuffle.
    void shuffle(std::span<std::size_t> items);

    State state() const { return s_; }
    void set_state(const State& s) { s_ = s; }

private:
    State s_{};
};

// splitmix64: also used to derive independent seeds (e.g. per purpose) from one user seed.
std::uint64_t splitmix64(std::uint64_t& state);
std::uint64_t mix_seed(std::uint64_t seed, std::uint64_t stream);

}  // namespace bbans::models
