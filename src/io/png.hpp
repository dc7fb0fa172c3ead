#pragma once
// PNG files as samples plus the attributes that rebuild them pixel-exactly.
//
// read_png gives an image's samples (io::ImageSet, as parse_png does) and its PngAttributes:
// the header fields, the palette and every ancillary chunk kept raw with its place in the file.
// write_png(samples, attributes) writes a PNG that decodes to the same samples with the same
// colour type, bit depth, interlace method, palette and ancillary chunks (same bytes, same
// order, same places). Only the compressed image data (IDAT) is new: zlib level 9 over
// libpng's filters, so the file is pixel-exact, not byte-exact.
//
// Samples (see parse_png in images.hpp): 8-bit grey, grey+alpha, RGB, RGBA verbatim; 1/2/4-bit
// grey as the stored values 0..2^depth-1 (not scaled to 0..255: exactly what is written back);
// palette images as RGB samples, or RGBA with a tRNS chunk (alpha 255 for entries beyond it),
// written back as the first palette index of each pixel's colour (so a palette with duplicate
// entries can come back with other indices of the same colour: the pixels are the same).
// 16-bit images are refused with an error containing kPng16BitSamples.
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "bbans/expected.hpp"
#include "src/io/images.hpp"

namespace bbans::io {

// Where an ancillary chunk was: after IHDR and before PLTE (or before IDAT when the file has no
// PLTE), between PLTE and IDAT, or after the IDAT chunks.
enum class PngPlace : std::uint8_t { before_plte = 0, before_idat = 1, after_idat = 2 };

struct PngChunk {
    std::array<std::uint8_t, 4> type{};  // four ASCII letters, the first lower case (ancillary)
    PngPlace place = PngPlace::before_plte;
    std::vector<std::uint8_t> data;
    std::string type_name() const { return std::string(type.begin(), type.end()); }
    friend bool operator==(const PngChunk&, const PngChunk&) = default;
};

struct PngAttributes {
    std::uint32_t width = 0, height = 0;
    std::uint8_t bit_depth = 8, color_type = 0, interlace = 0;  // as in IHDR
    std::vector<std::uint8_t> palette;  // PLTE's data (3 bytes an entry); empty if none
    std::vector<PngChunk> chunks;       // every ancillary chunk in file order (tRNS included)

    // tRNS's data, or empty.
    std::span<const std::uint8_t> transparency() const;
    // Samples a pixel: 1 grey, 2 grey+alpha, 3 RGB or palette, 4 RGBA or palette with tRNS.
    std::uint32_t channels() const;
    friend bool operator==(const PngAttributes&, const PngAttributes&) = default;
};

struct PngImage {
    ImageSet image;  // one image, attributes.channels() channels
    PngAttributes attributes;
};

inline constexpr const char* kPng16BitSamples = "16-bit samples";
// The serialized attributes (and so the ancillary chunks of a file) are at most 64 MiB.
inline constexpr std::uint64_t kMaxPngAttributesBytes = std::uint64_t{64} << 20;

Expected<PngImage> read_png(std::span<const std::uint8_t> bytes);
// True if `error` is read_png's refusal of a 16-bit image (a caller falls back to bytes).
bool is_png_16bit_error(const Error& error);

// A PNG of these samples (width x height x channels(), interleaved) with these attributes.
// An error if the attributes are invalid (check_png_attributes) or the samples do not fit them:
// wrong count, a grey value of 2^depth or more, a colour that is not in the palette.
Expected<std::vector<std::uint8_t>> write_png(std::span<const std::uint8_t> samples, const PngAttributes& attributes);

// The rules every PngAttributes from read_png or parse_png_attributes keeps: a valid IHDR
// (1..2^31-1 pixels a side, a PNG colour type and bit depth other than 16, interlace 0 or 1),
// a palette exactly when the colour type needs one (optional for RGB/RGBA, at most 2^depth
// entries), ancillary chunk types of four letters with a lower-case first, a palette image's
// tRNS between PLTE and IDAT and no longer than the palette.
Status check_png_attributes(const PngAttributes& attributes);

// Little-endian, versioned (docs/format.md, "PNG attributes"):
//   u8 version (1) | u8 bit depth | u8 colour type | u8 interlace | u32 width | u32 height |
//   u32 palette bytes p | p bytes | u32 chunk count n | n x (4 type | u8 place | u32 length | data)
std::vector<std::uint8_t> serialize_png_attributes(const PngAttributes& attributes);
// The inverse; every field checked (check_png_attributes), nothing may follow the last chunk,
// at most kMaxPngAttributesBytes.
Expected<PngAttributes> parse_png_attributes(std::span<const std::uint8_t> bytes);

}  // namespace bbans::io
