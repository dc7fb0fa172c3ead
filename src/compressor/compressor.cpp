#include "src/compressor/compressor.hpp"

#include <zstd.h>

#include <random>

namespace bbans {

namespace {

// The images in the input, if it is images bbans can code: an IDX file, or raw images of an
// explicit shape. `why` says why not otherwise.
struct ImageInput {
    io::ImageSet images;
    container::Layout layout = container::Layout::raw;
    std::vector<std::uint8_t> header;
};

Expected<std::optional<ImageInput>> find_images(std::span<const std::uint8_t> input, const CompressOptions& options, std::string& why) {
    if (options.raw_shape) {
        auto images = io::parse_raw(input, *options.raw_shape);
        if (!images) return images.error();  // the user said these are images: a mismatch is an error
        return std::optional<ImageInput>(ImageInput{std::move(*images), container::Layout::raw, {}});
    }
    if (io::detect_format(input) != io::Format::idx) {
        why = "not an IDX image file (raw images need --shape)";
        return std::optional<ImageInput>();
    }
    auto images = io::parse_idx(input);
    if (!images) {
        why = "not a valid IDX image file: " + images.error().message;
        return std::optional<ImageInput>();
    }
    ImageInput in{std::move(*images), container::Layout::idx, {}};
    in.header.assign(input.begin(), input.begin() + static_cast<std::ptrdiff_t>(io::kIdxHeaderBytes));
    return std::optional<ImageInput>(std::move(in));
}

// Up to `n` images spread evenly over the set.
std::vector<std::size_t> sample_indices(std::size_t count, std::size_t n) {
    std::vector<std::size_t> idx;
    const std::size_t k = std::min(count, n);
    for (std::size_t j = 0; j < k; ++j) idx.push_back(j * count / k);
    return idx;
}

double zstd_bpd(std::span<const std::uint8_t> bytes, int level) {
    std::vector<std::uint8_t> z(ZSTD_compressBound(bytes.size()));
    const std::size_t n = ZSTD_compress(z.data(), z.size(), bytes.data(), bytes.size(), level);
    return ZSTD_isError(n) ? 8.0 : 8.0 * static_cast<double>(n) / static_cast<double>(bytes.size());
}

}  // namespace

Expected<Compressed> compress(std::span<const std::uint8_t> input, const CompressOptions& options, std::span<const NamedModel> models) {
    CompressSummary s;
    s.input_bytes = input.size();
    auto fallback = [&](std::string why) -> Expected<Compressed> {
        auto file = container::compress_fallback(input, options.zstd_level);
        if (!file) return file.error();
        s.method = container::parse_header(*file)->method;
        s.output_bytes = file->size();
        s.why_fallback = std::move(why);
        s.images = 0;
        return Compressed{std::move(*file), std::move(s)};
    };

    std::string why;
    auto found = find_images(input, options, why);
    if (!found) return found.error();
    if (!*found) return fallback(why);
    ImageInput& in = **found;
    const io::ImageSet& images = in.images;
    if (models.empty()) return fallback("no model is available");

    // Choose the model with the lowest negative ELBO on a sample of the images.
    const auto sample = sample_indices(images.count, 16);
    const NamedModel* best = nullptr;
    double best_bpd = 0;
    for (const NamedModel& m : models) {
        const auto& cfg = m.model->quantized().config();
        if (cfg.rows != images.rows || cfg.cols != images.cols) continue;
        auto coder = coding::VaeCoder::make(m.model->quantized());
        if (!coder) return coder.error();
        std::mt19937_64 draw(1);
        double bits = 0;
        for (std::size_t i : sample) {
            const auto px = images.image(i);
            bits += coder->neg_elbo_bits(coding::Image(px.begin(), px.end()), draw);
        }
        const double bpd = bits / static_cast<double>(sample.size() * images.pixels_per_image());
        if (!best || bpd < best_bpd) best = &m, best_bpd = bpd;
    }
    if (!best)
        return fallback("no model codes " + std::to_string(images.rows) + "x" + std::to_string(images.cols) + " images");
    s.model_name = best->name;
    s.model_identity = best->model->identity_hex();
    s.sample_neg_elbo_bpd = best_bpd;

    // Is bits-back clearly better than zstd? Compare on the same sample's bytes.
    std::vector<std::uint8_t> sample_bytes;
    for (std::size_t i : sample) {
        const auto px = images.image(i);
        sample_bytes.insert(sample_bytes.end(), px.begin(), px.end());
    }
    const bool clearly_better = best_bpd < options.skip_zstd_below * zstd_bpd(sample_bytes, options.zstd_level);

    auto coder = coding::VaeCoder::make(best->model->quantized());
    if (!coder) return coder.error();
    auto encoded = encode_images(*coder, images, options.lanes, std::min(options.seed_images, images.count), options.progress);
    if (!encoded) return encoded.error();

    container::BitsBackPayload p;
    p.model = best->model->identity();
    p.layout = in.layout;
    p.lanes = static_cast<std::uint8_t>(options.lanes);
    p.rows = images.rows;
    p.cols = images.cols;
    p.count = images.count;
    p.seed_images = static_cast<std::uint32_t>(std::min(options.seed_images, images.count));
    p.header_bytes = std::move(in.header);
    p.message = std::move(encoded->message);
    std::vector<std::uint8_t> file = container::pack(container::Method::bits_back, input, container::write_bits_back_payload(p));

    if (!clearly_better) {
        auto alt = container::compress_fallback(input, options.zstd_level);
        if (!alt) return alt.error();
        if (alt->size() <= file.size()) return fallback("zstd is smaller than bits-back coding with model " + best->name + " on this input");
    }
    s.method = container::Method::bits_back;
    s.output_bytes = file.size();
    s.images = images.count;
    s.pixels_per_image = images.pixels_per_image();
    s.stats = std::move(encoded->stats);
    return Compressed{std::move(file), std::move(s)};
}

Expected<std::vector<std::uint8_t>> decompress(std::span<const std::uint8_t> file, const ModelResolver& resolve, const Progress& progress) {
    container::BitsBackDecoder decoder = [&](const container::BitsBackPayload& p, std::uint64_t) -> Expected<std::vector<std::uint8_t>> {
        if (!resolve) return make_error("this .bbx file needs model " + container::to_hex(p.model) + ", which is not available");
        auto model = resolve(p.model);
        if (!model) return model.error();
        const auto& cfg = (*model)->quantized().config();
        if (cfg.rows != p.rows || cfg.cols != p.cols) return make_error("the file's image shape does not match its model");
        auto coder = coding::VaeCoder::make((*model)->quantized());
        if (!coder) return coder.error();
        auto pixels = decode_images(*coder, p.message, p.lanes, static_cast<std::size_t>(p.count), p.seed_images, progress);
        if (!pixels) return pixels.error();
        std::vector<std::uint8_t> out = p.header_bytes;
        out.insert(out.end(), pixels->begin(), pixels->end());
        return out;
    };
    return container::decompress(file, decoder);
}

}  // namespace bbans
