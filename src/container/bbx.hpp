#pragma once
// The .bbx container, format version 1 (docs/format-v1.md): read for old files; the writer
// is kept for the golden-file maker only. Version 2 is src/archive/format.hpp. Was: (docs/format.md): header, the three payload methods, checksums.
// Works on bytes only; the CLI does the file I/O.
#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "bbans/expected.hpp"
#include "src/archive/format.hpp"

namespace bbans::container {

inline constexpr std::size_t kHeaderSize = 40;
inline constexpr std::uint8_t kVersion = 1;
// Inputs (and decoded outputs) are limited to 4 GiB.
inline constexpr std::uint64_t kMaxOriginalSize = std::uint64_t{1} << 32;

enum class Method : std::uint8_t { stored = 0, zstd = 1, bits_back = 2 };
const char* to_string(Method m);

struct Header {
    Method method = Method::stored;
    std::uint64_t original_size = 0;
    std::uint64_t checksum = 0;  // XXH64 of the original bytes
    std::uint64_t payload_size = 0;
    std::uint32_t payload_checksum = 0;  // XXH32 of the payload
};

using archive::ModelId;
using archive::to_hex;

enum class Layout : std::uint8_t { idx = 1, raw = 2 };

struct BitsBackPayload {
    ModelId model{};
    Layout layout = Layout::raw;
    std::uint8_t lanes = 1;
    std::uint32_t rows = 0, cols = 0;
    std::uint64_t count = 0;
    std::uint32_t seed_images = 0;
    std::vector<std::uint8_t> header_bytes;  // the input's header, verbatim
    std::vector<std::uint8_t> message;       // serialized codec::Message
};

std::uint64_t content_checksum(std::span<const std::uint8_t> bytes);

std::vector<std::uint8_t> write_header(const Header& h);
// Checks magic, version, method, flags, header checksum, that the file holds exactly
// payload_size more bytes, and the payload checksum.
Expected<Header> parse_header(std::span<const std::uint8_t> file);

std::vector<std::uint8_t> write_bits_back_payload(const BitsBackPayload& p);
Expected<BitsBackPayload> parse_bits_back_payload(std::span<const std::uint8_t> payload);

// A whole .bbx file from a header's method and payload (fills in the header).
std::vector<std::uint8_t> pack(Method method, std::span<const std::uint8_t> original, std::span<const std::uint8_t> payload);

// The smaller of stored and zstd at `level` (default: 19).
Expected<std::vector<std::uint8_t>> compress_fallback(std::span<const std::uint8_t> input, int level = 19);

// Decodes a bits-back payload into the original bytes; supplied by the model glue.
using BitsBackDecoder = std::function<Expected<std::vector<std::uint8_t>>(const BitsBackPayload&, std::uint64_t original_size)>;

// Any .bbx file back to the original bytes, checksum verified. `decoder` may be empty, in which
// case bits-back files are reported as needing their model.
Expected<std::vector<std::uint8_t>> decompress(std::span<const std::uint8_t> file, const BitsBackDecoder& decoder);

// What `bbans info` shows.
struct Info {
    Header header;
    std::uint64_t file_size = 0;
    bool has_bits_back = false;
    BitsBackPayload bits_back;  // without the message bytes
    std::uint64_t message_size = 0;
};
Expected<Info> inspect(std::span<const std::uint8_t> file);

}  // namespace bbans::container
