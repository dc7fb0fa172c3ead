#pragma once
// The .bbx archive, format version 2 (docs/format.md): header, directory of entries with their
// chunk records, trailer. Bytes only: building and parsing these structures, with every rule of
// the specification checked on parse. Coding the chunks is the compressor's job
// (src/compressor/archive_codec.hpp); file access is the CLI's.
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bbans/expected.hpp"

namespace bbans::archive {

inline constexpr std::uint8_t kVersion = 2;
inline constexpr std::size_t kHeaderSize = 16;
inline constexpr std::size_t kTrailerSize = 32;
inline constexpr std::size_t kChunkRecordSize = 56;
inline constexpr std::uint64_t kMaxDirectorySize = std::uint64_t{1} << 30;
inline constexpr std::uint64_t kMaxEntries = std::uint64_t{1} << 24;
inline constexpr std::uint64_t kMaxOriginalSize = std::uint64_t{1} << 50;
inline constexpr std::uint64_t kMaxChunkBytes = std::uint64_t{1} << 30;  // stored or original
inline constexpr std::size_t kMaxNameLength = 4096;
inline constexpr std::size_t kEntryFixedSize = 42;  // an entry without name, layout, model and chunks

// The size of an archive holding one stored entry of n bytes (n at most one chunk) whose name
// has name_length bytes: what an incompressible input costs at most.
constexpr std::uint64_t stored_archive_size(std::uint64_t n, std::size_t name_length) {
    return kHeaderSize + 4 + kEntryFixedSize + name_length + (n ? kChunkRecordSize : 0) + n + kTrailerSize;
}

enum class Kind : std::uint8_t { file = 1, directory = 2, image_set = 3 };
enum class Method : std::uint8_t { stored = 0, zstd = 1, xz = 2, bits_back = 3 };
enum class Layout : std::uint8_t { none = 0, idx = 1, raw = 2, pgm = 3, png = 4, ppm = 5 };
// A layout whose original is rebuilt from its samples and attributes (PNG: pixel-exact, not
// byte-exact; docs/format.md): chunks of methods 0-2 cover the samples, not the original bytes,
// and the content checksum is that of the samples followed by the attributes.
constexpr bool rebuilt_from_samples(Layout l) { return l == Layout::png; }
const char* to_string(Kind k);
const char* to_string(Method m);
const char* to_string(Layout l);
// "stored", "zstd", "xz", "bits-back" -> Method.
std::optional<Method> method_from_string(const std::string& name);

using ModelId = std::array<std::uint8_t, 16>;
std::string to_hex(const ModelId& id);

// How the original bytes are images: prefix | N images of rows x cols x channels | suffix.
struct ImageLayout {
    std::uint32_t rows = 0, cols = 0;
    std::uint8_t channels = 1;
    std::uint64_t count = 0;
    std::vector<std::uint8_t> prefix, suffix;
    std::vector<std::uint8_t> attributes;  // PNG: io::serialize_png_attributes (version 1); empty otherwise
    // The attributes field as the file holds it when it is packed (version 2: zstd or xz of
    // `attributes`, pack_attributes); empty: the field is `attributes` itself.
    std::vector<std::uint8_t> packed_attributes;
    // The attributes field's bytes in the file.
    std::span<const std::uint8_t> attributes_field() const { return packed_attributes.empty() ? attributes : packed_attributes; }
    std::uint64_t image_bytes() const { return std::uint64_t{rows} * cols * channels; }
};

// PNG attributes (version 1, io::serialize_png_attributes) packed as version 2 (docs/format.md,
// PNG attributes): the smaller of zstd at `zstd_level` and xz, or nullopt when neither makes the
// field smaller.
std::optional<std::vector<std::uint8_t>> pack_attributes(std::span<const std::uint8_t> attributes, int zstd_level);
// A layout 4 attributes field back to version 1 attributes: a version 1 field as it is, a
// version 2 field unpacked (an Error if it is malformed or does not decode to its length).
Expected<std::vector<std::uint8_t>> unpack_attributes(std::span<const std::uint8_t> field);

struct ModelRef {
    ModelId identity{};
    std::string name;  // a hint for error messages
    std::uint8_t lanes = 1;
    // 0: the model codes the images' pixels. P in 2..4 (the images' channels): a grey model codes
    // the P channels as planes (src/coding/tiled_coder.hpp, PLANES).
    std::uint8_t planes = 0;
    // Added to every logistic component's log-scale, in 1/64 nat (-127..127; 0: none): the
    // calibration the compressor chose for the entry (coding::CoderSettings::scale_offset_q8 =
    // 4 x this).
    std::int8_t scale_offset = 0;
};

struct ChunkRecord {
    std::uint64_t offset = 0, stored_size = 0;
    std::uint64_t first = 0, count = 0;  // bytes (methods 0-2) or images (bits-back)
    std::uint32_t seed_images = 0;
    std::uint64_t stored_checksum = 0, original_checksum = 0;
};

struct Entry {
    Kind kind = Kind::file;
    Method method = Method::stored;
    Layout layout = Layout::none;
    bool has_metadata = false;  // mode and mtime recorded
    bool row_units = false;     // bits-back of one image: chunks are bands of its rows, not images
    std::uint32_t mode = 0;
    std::int64_t mtime_sec = 0;
    std::uint32_t mtime_nsec = 0;
    std::string name;
    std::uint64_t original_size = 0;
    std::uint64_t checksum = 0;
    std::optional<ImageLayout> images;  // iff layout != none
    std::optional<ModelRef> model;      // iff method == bits_back
    std::vector<ChunkRecord> chunks;
};

std::uint64_t xxh64(std::span<const std::uint8_t> bytes);

std::vector<std::uint8_t> write_header();
std::vector<std::uint8_t> write_directory(std::span<const Entry> entries);
std::vector<std::uint8_t> write_trailer(std::uint64_t directory_offset, std::span<const std::uint8_t> directory);

// Byte 4 of a .bbx file after its magic: 1 or 2 (or anything else, to be refused). nullopt if
// the bytes do not start with the magic.
std::optional<std::uint8_t> peek_version(std::span<const std::uint8_t> first_bytes);

// Checks the header (16 bytes).
Status parse_header(std::span<const std::uint8_t> header);
struct Trailer {
    std::uint64_t directory_offset = 0, directory_size = 0, directory_checksum = 0;
};
// Checks the trailer (the last 32 bytes) against the file size.
Expected<Trailer> parse_trailer(std::span<const std::uint8_t> trailer, std::uint64_t file_size);
// Parses and validates the directory (its checksum already verified by the caller or not:
// this checks it too) against the trailer: every rule of docs/format.md about entries, names,
// layouts, and chunks (contiguous units, in-bounds non-overlapping data).
Expected<std::vector<Entry>> parse_directory(std::span<const std::uint8_t> directory, const Trailer& trailer);

// A name from an archive as it may appear in a one-line message: control bytes (and the
// backslash) written as \xNN, so that a hostile name cannot break a line or a terminal.
std::string printable(std::string_view name);

// The name rules of docs/format.md (for writers: a name the CLI makes from a path).
bool valid_name(const std::string& name);

}  // namespace bbans::archive
