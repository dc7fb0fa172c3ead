#pragma once
#include <cstdint>
#include <random>

#include "codec/message.hpp"

namespace bbans::test {

// A message with some random content already on it, so that round trips are checked against
// a non-trivial state (heads not at their minimum, words in the tail).
inline codec::Message random_message(std::mt19937_64& rng, std::size_t lanes, int symbols = 200) {
    codec::Message m(lanes);
    for (int i = 0; i < symbols; ++i) {
        const unsigned prec = 1 + static_cast<unsigned>(rng() % 31);
        const std::uint64_t total = std::uint64_t{1} << prec;
        const std::uint64_t start = rng() % total;
        const std::uint64_t freq = 1 + rng() % (total - start);
        m.push(rng() % lanes, static_cast<std::uint32_t>(start), static_cast<std::uint32_t>(freq), prec);
    }
    return m;
}

}  // namespace bbans::test
