#pragma once
// bbans::io: 8-bit image sets (grey, grey+alpha, RGB, RGBA) and the parsers that build them
// from bytes.
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
    std::uint32_t channels = 1;  // samples per pixel (interleaved), 1..4
    friend bool operator==(const Shape&, const Shape&) = default;
};

// count images of rows x cols pixels of `channels` 8-bit samples each: 1 grey, 2 grey+alpha,
// 3 RGB, 4 RGBA, interleaved (a pixel's samples next to each other). Invariant kept by every
// parser: pixels.size() == count * rows * cols * channels, and rows, cols, count, channels are
// all non-zero. Code that needs grey images (the models, bits-back coding) checks channels == 1.
struct ImageSet {
    std::uint32_t rows = 0, cols = 0;
    std::size_t count = 0;
    std::uint32_t channels = 1;
    std::vector<std::uint8_t> pixels;  // count*rows*cols*channels samples, row-major, image after image

    // Image i's samples; an empty span if i >= count (never a read past the end).
    std::span<const std::uint8_t> image(std::size_t i) const;
    std::size_t pixels_per_image() const { return std::size_t{rows} * cols; }
    std::size_t samples_per_image() const { return pixels_per_image() * channels; }
    Shape shape() const { return {rows, cols, channels}; }
};

// "images have 3 channels (RGB); <what> needs grey images (1 channel)" unless set is grey.
Status require_grey(const ImageSet& set, const char* what);

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
// follow the raster. The header is bytes.size() - pixels.size() bytes, kept by whoever needs
// the file back byte for byte.
Expected<ImageSet> parse_pgm(std::span<const std::uint8_t> bytes);
// One binary PPM (P6) image with maxval 255: the same grammar, 3 channels (RGB).
Expected<ImageSet> parse_ppm(std::span<const std::uint8_t> bytes);

// The header of a PGM (P5) or PPM (P6) file of `file_size` bytes, parsed from the file's first
// bytes `head` (the whole header, and possibly more; the raster is not read): the image's shape
// and the header's length, the file's size checked as parse_pgm / parse_ppm check it. So a
// file of any size is checked without reading its raster (bbans compress reads it in chunks).
struct NetpbmHeader {
    std::uint32_t rows = 0, cols = 0, channels = 1;
    std::size_t header_bytes = 0;  // the raster starts here
};
Expected<NetpbmHeader> parse_pgm_header(std::span<const std::uint8_t> head, std::uint64_t file_size);
Expected<NetpbmHeader> parse_ppm_header(std::span<const std::uint8_t> head, std::uint64_t file_size);

// One PNG image's samples (src/io/png.hpp has the attributes that rebuild the file): grey,
// grey+alpha, RGB, RGBA, palette (expanded to RGB, or RGBA if it has a tRNS chunk), 1/2/4-bit
// grey (the stored values 0..2^depth-1, not scaled); interlacing is fine. Samples are verbatim
// (no gamma or other transformation). 16-bit images are an error containing "16-bit samples".
Expected<ImageSet> parse_png(std::span<const std::uint8_t> bytes);

// gzip (RFC 1952; concatenated members are decoded in turn). An error if the output would
// exceed max_output bytes, if the stream is truncated or corrupt, or if bytes follow it.
bool is_gzip(std::span<const std::uint8_t> bytes);
Expected<std::vector<std::uint8_t>> gunzip(std::span<const std::uint8_t> bytes, std::size_t max_output);

// What the first bytes say a buffer is (no validation beyond the signature).
enum class Format { idx, pgm, ppm, png, gzip, unknown };
Format detect_format(std::span<const std::uint8_t> bytes);
const char* format_name(Format format);

// The in-memory form of load_images for one file's bytes: raw pixels if raw_shape is given;
// otherwise IDX, PGM, PPM or PNG by content, after gunzip if the bytes are gzip.
Expected<ImageSet> parse_images(std::span<const std::uint8_t> bytes, std::optional<Shape> raw_shape = std::nullopt);

// Load a corpus from a path: a file as parse_images does, or a directory of .pgm/.ppm/.png
// files (case-insensitive extension; other files and dot files are ignored), its subdirectories
// included, sorted by relative path, all of the same shape and channel count. Errors name the
// offending file (for a mismatch: the first file that differs from the first file).
Expected<ImageSet> load_images(const std::filesystem::path& path, std::optional<Shape> raw_shape = std::nullopt);

// Images of any sizes, for training on crops: a file as load_images reads it (one set), or
// each image file of a directory (as load_images lists them) as its own set.
Expected<std::vector<ImageSet>> load_image_list(const std::filesystem::path& path);

}  // namespace bbans::io
