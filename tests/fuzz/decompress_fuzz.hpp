#pragma once
// The decompression fuzz target (decompress_fuzz.cpp), shared by the libFuzzer build and the
// replay program that runs the committed corpus as an ordinary test.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "bbans/expected.hpp"

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

// Shared by both targets: an invariant violation prints it and aborts (libFuzzer and the replay
// both report that as a failure); every error a reader returns is one non-empty line.
[[noreturn]] inline void violated(const char* target, const char* what, const char* file, int line) {
    std::fprintf(stderr, "%s: %s:%d: invariant violated: %s\n", target, file, line, what);
    std::fflush(stderr);
    std::abort();
}
inline void check_error(const char* target, const Error& e) {
    if (e.message.empty()) violated(target, "error message is empty", __FILE__, __LINE__);
    if (e.message.find('\n') != std::string::npos) violated(target, ("error message has a line break: " + e.message).c_str(), __FILE__, __LINE__);
}

}  // namespace bbans::fuzz

// In a target: #define BBANS_FUZZ_TARGET "name" before using these.
#define FUZZ_CHECK(cond) ((cond) ? void(0) : ::bbans::fuzz::violated(BBANS_FUZZ_TARGET, #cond, __FILE__, __LINE__))
