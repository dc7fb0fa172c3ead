#pragma once
// The compressor: input bytes -> .bbx bytes and back. Chooses the method per file: bits-back
// coding with a model when the input is images the model can code and that is smaller,
// otherwise zstd (or stored). Works on bytes; the CLI does the files.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "bbans/expected.hpp"
#include "src/container/bbx.hpp"
#include "src/io/images.hpp"

namespace bbans {

struct CompressOptions {
    std::optional<io::Shape> raw_shape;  // treat the input as raw images of this shape
    int zstd_level = 19;
};

struct CompressSummary {
    container::Method method = container::Method::stored;
    std::uint64_t input_bytes = 0;
    std::uint64_t output_bytes = 0;
    std::size_t images = 0;        // 0 when the input was not coded as images
    std::string why_fallback;      // for zstd/stored: why bits-back coding was not used
};

struct Compressed {
    std::vector<std::uint8_t> file;
    CompressSummary summary;
};

Expected<Compressed> compress(std::span<const std::uint8_t> input, const CompressOptions& options);
Expected<std::vector<std::uint8_t>> decompress(std::span<const std::uint8_t> file);

}  // namespace bbans
