#pragma once
// The general-purpose methods, the one place bbans calls zstd and liblzma: what an archive
// chunk holds when it is not bits-back (docs/format.md, methods 1 and 2), and the references
// `bbans report` compares with.
#include <cstdint>
#include <span>
#include <vector>

#include "bbans/expected.hpp"

namespace bbans::bytes_codec {

inline constexpr int kZstdLevel = 19;  // zstd -19
inline constexpr std::uint32_t kXzPreset = 9;  // xz -9e (with LZMA_PRESET_EXTREME)

// One zstd frame with its content size recorded.
Expected<std::vector<std::uint8_t>> zstd_compress(std::span<const std::uint8_t> in, int level = kZstdLevel);
// Exactly one zstd frame (no skippable frames, nothing after it) recording `size` as its
// content size and decoding to exactly `size` bytes.
Expected<std::vector<std::uint8_t>> zstd_decompress(std::span<const std::uint8_t> frame, std::uint64_t size);

// One .xz stream. Archive chunks carry no integrity check of their own (the archive checksums
// every chunk); `crc64` adds the check the xz tool writes by default (for the report's reference).
Expected<std::vector<std::uint8_t>> xz_compress(std::span<const std::uint8_t> in, std::uint32_t preset = kXzPreset, bool crc64 = false);
// Exactly one .xz stream, nothing after it, decoding to exactly `size` bytes.
Expected<std::vector<std::uint8_t>> xz_decompress(std::span<const std::uint8_t> stream, std::uint64_t size);

}  // namespace bbans::bytes_codec
