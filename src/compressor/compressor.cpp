#include "src/compressor/compressor.hpp"

namespace bbans {

Expected<Compressed> compress(std::span<const std::uint8_t> input, const CompressOptions& options) {
    CompressSummary s;
    s.input_bytes = input.size();
    // Bits-back coding needs a trained model; none ships yet (issue 3), so every input takes
    // the zstd path, which round-trips any file.
    s.why_fallback = "no bits-back model is available in this version";
    if (options.raw_shape) {
        auto images = io::parse_raw(input, *options.raw_shape);
        if (!images) return images.error();
    }
    auto file = container::compress_fallback(input, options.zstd_level);
    if (!file) return file.error();
    s.method = container::parse_header(*file)->method;
    s.output_bytes = file->size();
    return Compressed{std::move(*file), std::move(s)};
}

Expected<std::vector<std::uint8_t>> decompress(std::span<const std::uint8_t> file) {
    return container::decompress(file, container::BitsBackDecoder{});
}

}  // namespace bbans
