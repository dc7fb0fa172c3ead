#pragma once
// bbans::io: 8-bit grayscale image sets and the parsers that build them from bytes.
//
// Every parser here works on bytes in memory (file access is in src/io/files.hpp) and treats
// its input as hostile: each read is bounds-checked, each size product is overflow-checked
// before anything is allocated, and a mismatch between what the input claims and what it
// contains is an Error naming the problem. Nothing throws for bad input, prints or exits.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <vector>

#include "bbans/expected.hpp"

namespace bbans::io {

struct Shape {
    std::uint32_t rows = 0, cols = 0;
    friend bool operator==(const Shape&, const Shape&) = default;
};

// count images of rows x cols 8-bit pixels. Invariant kept by every parser:
// pixels.size() == count * rows * cols, and rows, cols, count are all non-zero.
struct ImageSet {
    std::uint32_t rows = 0, cols = 0;
    std::size_t count = 0;
    std::vector<std::uint8_t> pixels;  // count*rows*cols, row-major, image after image

    // Image i's pixels; an empty span if i >= count (never a read past the end).
    std::span<const std::uint8_t> image(std::size_t i) const;
    std::size_t pixels_per_image() const { return std::size_t{rows} * cols; }
    Shape shape() const { return {rows, cols}; }
};

// The largest file, decompressed buffer or image set the loaders accept (4 GiB). Parsers also
// never allocate more than their input could possibly hold, so a hostile header cannot ask
// for an absurd allocation.
inline constexpr std::uint64_t kMaxInputBytes = std::uint64_t{4} << 30;

// idx3-ubyte (MNIST layout): magic 0x00000803, then count, rows, cols as big-endian uint32,
// then exactly count*rows*cols bytes.
inline constexpr std::size_t kIdxHeaderBytes = 16;
Expected<ImageSet> parse_idx(std::span<const std::uint8_t> bytes);
// The inverse of parse_idx. Precondition: the ImageSet invariant, and count < 2^32.
std::vector<std::uint8_t> write_idx(const ImageSet& images);

// Headerless pixels: bytes.size() must be a non-zero multiple of rows*cols (both non-zero).
Expected<ImageSet> parse_raw(std::span<const std::uint8_t> bytes, Shape shape);

// One binary PGM (P5) image with maxval 255; '#' comments allowed in the header; no bytes may
// follow the raster.
Expected<ImageSet> parse_pgm(std::span<const std::uint8_t> bytes);

// One PNG image with 8-bit grayscale samples (colour type 0, bit depth 8; interlacing is fine).
// Colour, alpha, palette, 16-bit and 1/2/4-bit images are rejected: the pixel values are taken
// verbatim (no gamma or other transformation), so a lossless round trip stays lossless.
Expected<ImageSet> parse_png(std::span<const std::uint8_t> bytes);

// gzip (RFC 1952; concatenated members are decoded in turn). An error if the output would
// exceed max_output bytes, if the stream is truncated or corrupt, or if bytes follow it.
bool is_gzip(std::span<const std::uint8_t> bytes);
Expected<std::vector<std::uint8_t>> gunzip(std::span<const std::uint8_t> bytes, std::size_t max_output);

// What the first bytes say a buffer is (no validation beyond the signature).
enum class Format { idx, pgm, png, gzip, unknown };
Format detect_format(std::span<const std::uint8_t> bytes);
const char* format_name(Format format);

// The in-memory form of load_images for one file's bytes: raw pixels if raw_shape is given;
// otherwise IDX, PGM or PNG by content, after gunzip if the bytes are gzip.
Expected<ImageSet> parse_images(std::span<const std::uint8_t> bytes, std::optional<Shape> raw_shape = std::nullopt);

// Load a corpus from a path: a file as parse_images does, or a directory of .pgm/.png files
// (case-insensitive extension; other files are ignored; not recursive) sorted by file name,
// all of the same shape. Errors name the offending file.
Expected<ImageSet> load_images(const std::filesystem::path& path, std::optional<Shape> raw_shape = std::nullopt);

// Images of any sizes, for training on crops: a file as load_images reads it (one set), or
// each image file of a directory (as load_images lists them) as its own set.
Expected<std::vector<ImageSet>> load_image_list(const std::filesystem::path& path);

}  // namespace bbans::io
