#pragma once
// Single-image files (PGM, PPM, PNG) as the archive keeps them, and back: the one place that
// turns a file's bytes into (layout, samples) and the samples into the file again, so that any
// coding method (zstd/xz on the samples today, bits-back later) plugs in between.
//
// PGM and PPM are byte-exact: the header is the layout's prefix and the samples are the rest of
// the file, so the file's bytes are what the chunks code (read chunk by chunk: any size). PNG is rebuilt: the samples are
// decoded (io::read_png) and the attributes (header, palette, ancillary chunks) go in the
// layout's attributes field; rebuild_image_file writes a pixel-exact PNG (io::write_png).
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "bbans/expected.hpp"
#include "src/archive/format.hpp"
#include "src/archive/stream.hpp"
#include "src/io/images.hpp"

namespace bbans {

// PGM and PPM files of any size are read in chunks (only their header is read here: at most
// kMaxNetpbmHeaderBytes, comments included). A PNG is decoded whole in memory: the largest PNG
// file read, and the most samples it may decode to (more is coded as opaque bytes).
inline constexpr std::uint64_t kMaxNetpbmHeaderBytes = std::uint64_t{1} << 20;
inline constexpr std::uint64_t kMaxImageFileBytes = std::uint64_t{256} << 20;
inline constexpr std::uint64_t kMaxImageFileSamples = std::uint64_t{1} << 30;

struct ImageFile {
    archive::Layout layout = archive::Layout::none;
    archive::ImageLayout images;
    std::vector<std::uint8_t> samples;  // PNG: the decoded samples; PGM/PPM: empty (the file's bytes are used)
};

// `in` (detected as `format`: PGM, PPM or PNG) as an image file; nullopt and `why` if it is not
// one bbans can rebuild (a malformed file, a 16-bit PNG, too large). An Error only if reading fails.
Expected<std::optional<ImageFile>> image_file_of(const archive::Input& in, io::Format format, std::string& why);

// A layout rebuilt from its samples (PNG): the file again from its samples and the layout.
Expected<std::vector<std::uint8_t>> rebuild_image_file(archive::Layout layout, const archive::ImageLayout& images,
                                                       std::span<const std::uint8_t> samples);

}  // namespace bbans
