#pragma once
// Round trips of the tiled coder shared by its tests: images of several sizes on messages that
// already hold bits, every image and the message restored bit for bit.
#include <catch2/catch.hpp>
#include <cstdint>
#include <random>
#include <span>
#include <utility>
#include <vector>

#include "codec/message.hpp"
#include "src/coding/tiled_coder.hpp"

namespace bbans::test {

// A message of `lanes` lanes holding 40 symbols (a latent pop then reads them as bits back).
inline codec::Message some_message(std::size_t lanes, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    codec::Message m(lanes);
    for (int k = 0; k < 40; ++k) m.push(rng() % lanes, static_cast<std::uint32_t>(rng() % 1000), 1, 10);
    return m;
}

// For each size, images(rows, cols) pushed onto some_message with 1 and 3 lanes and 0 or 1 seed
// bands, then popped: the image and the message come back bit for bit.
template <class Images>
void check_round_trips(const coding::TiledCoder& coder, std::span<const std::pair<std::size_t, std::size_t>> sizes, Images images) {
    for (auto [rows, cols] : sizes)
        for (std::size_t lanes : {1u, 3u})
            for (std::size_t seed : {0u, 1u}) {
                CAPTURE(rows, cols, lanes, seed);
                const std::vector<std::uint8_t> px = images(rows, cols);
                codec::Message m = some_message(lanes, rows + cols);
                const codec::Message before = m;
                REQUIRE(coder.push(m, px, rows, cols, seed).has_value());
                REQUIRE(m.ok());
                REQUIRE(coder.pop(m, rows, cols, seed) == px);
                REQUIRE(m.ok());
                REQUIRE(m == before);
                REQUIRE(*m.to_bytes() == *before.to_bytes());
            }
}

}  // namespace bbans::test
