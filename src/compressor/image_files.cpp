#include "src/compressor/image_files.hpp"

#include <algorithm>

#include "src/io/png.hpp"

namespace bbans {

namespace {

// A PGM or PPM file from its header alone: the raster stays in the file, read chunk by chunk by
// whoever codes it, so a file of any size takes memory for its header only.
Expected<std::optional<ImageFile>> netpbm_file_of(const archive::Input& in, io::Format format, std::string& why) {
    const std::string name = io::format_name(format);
    auto head = archive::read_range(in, 0, std::min(in.size(), kMaxNetpbmHeaderBytes));
    if (!head) return head.error();
    auto h = format == io::Format::ppm ? io::parse_ppm_header(*head, in.size()) : io::parse_pgm_header(*head, in.size());
    if (!h) {
        why = "not a valid " + name + " image: " + h.error().message;
        if (in.size() > kMaxNetpbmHeaderBytes) why += " (bbans reads at most 1 MiB of header)";
        return std::optional<ImageFile>();
    }
    ImageFile f;
    f.layout = format == io::Format::ppm ? archive::Layout::ppm : archive::Layout::pgm;
    f.images.channels = static_cast<std::uint8_t>(h->channels);
    f.images.prefix.assign(head->begin(), head->begin() + static_cast<std::ptrdiff_t>(h->header_bytes));
    f.images.rows = h->rows;
    f.images.cols = h->cols;
    f.images.count = 1;
    return std::optional<ImageFile>(std::move(f));
}

}  // namespace

Expected<std::optional<ImageFile>> image_file_of(const archive::Input& in, io::Format format, std::string& why) {
    if (format != io::Format::png) return netpbm_file_of(in, format, why);
    if (in.size() > kMaxImageFileBytes) {
        why = "PNG files over 256 MiB are kept byte for byte by zstd/xz (a PNG is decoded whole in memory)";
        return std::optional<ImageFile>();
    }
    auto bytes = archive::read_range(in, 0, in.size());
    if (!bytes) return bytes.error();
    ImageFile f;
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
