#pragma once
// The decompression fuzz target (decompress_fuzz.cpp), shared by the libFuzzer build and the
// replay program that runs the committed corpus as an ordinary test.
#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace bbans::fuzz {

// What the target saw, so that the replay can check the corpus reaches both outcomes.
struct Stats {
    std::uint64_t inputs = 0;
    std::uint64_t decoded = 0;         // bbans::decompress succeeded on the input as given
    std::uint64_t rejected = 0;        // ... and failed
    std::uint64_t repaired_decoded = 0;  // succeeded after the checksums were made to match
    std::uint64_t messages = 0;        // Message::from_bytes accepted some part of the input
    std::uint64_t bits_back_decoded = 0;  // a bits-back file decoded with the shipped model
};
Stats& stats();

}  // namespace bbans::fuzz
