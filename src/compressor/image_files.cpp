#include "src/compressor/image_files.hpp"

#include "src/io/png.hpp"

namespace bbans {

Expected<std::optional<ImageFile>> image_file_of(const archive::Input& in, io::Format format, std::string& why) {
    const std::string name = io::format_name(format);
    if (in.size() > kMaxImageFileBytes) {
        why = name + " files over 256 MiB are kept byte for byte by zstd/xz";
        return std::optional<ImageFile>();
    }
    auto bytes = archive::read_range(in, 0, in.size());
    if (!bytes) return bytes.error();
    ImageFile f;
    if (format == io::Format::png) {
        auto png = io::read_png(*bytes);
        if (!png) {
            why = io::is_png_16bit_error(png.error())
                      ? "a PNG with 16-bit samples is kept byte for byte by zstd/xz (its samples are coded only at 8 bits and below)"
                      : "not a PNG bbans can rebuild (" + png.error().message + "): kept byte for byte";
            return std::optional<ImageFile>();
        }
        if (png->image.pixels.size() > kMaxImageFileSamples) {
            why = "a PNG of more than 2^30 samples is kept byte for byte by zstd/xz";
            return std::optional<ImageFile>();
        }
        f.layout = archive::Layout::png;
        f.images.channels = static_cast<std::uint8_t>(png->image.channels);
        f.images.attributes = io::serialize_png_attributes(png->attributes);
        f.samples = std::move(png->image.pixels);
        f.images.rows = png->image.rows;
        f.images.cols = png->image.cols;
    } else {
        auto pnm = format == io::Format::ppm ? io::parse_ppm(*bytes) : io::parse_pgm(*bytes);
        if (!pnm) {
            why = "not a valid " + name + " image: " + pnm.error().message;
            return std::optional<ImageFile>();
        }
        f.layout = format == io::Format::ppm ? archive::Layout::ppm : archive::Layout::pgm;
        f.images.channels = static_cast<std::uint8_t>(pnm->channels);
        f.images.prefix.assign(bytes->begin(), bytes->end() - static_cast<std::ptrdiff_t>(pnm->pixels.size()));
        f.images.rows = pnm->rows;
        f.images.cols = pnm->cols;
    }
    f.images.count = 1;
    return std::optional<ImageFile>(std::move(f));
}

Expected<std::vector<std::uint8_t>> rebuild_image_file(archive::Layout layout, const archive::ImageLayout& images,
                                                       std::span<const std::uint8_t> samples) {
    if (layout != archive::Layout::png) return make_error("internal error: layout " + std::string(archive::to_string(layout)) + " is not rebuilt");
    auto attributes = io::parse_png_attributes(images.attributes);
    if (!attributes) return attributes.error();
    return io::write_png(samples, *attributes);
}

}  // namespace bbans
