// ImageSet, the IDX and raw parsers, format detection and in-memory dispatch.
#include "src/io/images.hpp"

#include <algorithm>
#include <array>
#include <string>

#include "src/io/detail.hpp"

namespace bbans::io {

using detail::checked_mul;

std::span<const std::uint8_t> ImageSet::image(std::size_t i) const {
    const std::size_t n = samples_per_image();
    if (i >= count || n == 0 || pixels.size() / n <= i) return {};
    return std::span<const std::uint8_t>(pixels).subspan(i * n, n);
}

Status require_grey(const ImageSet& set, const char* what) {
    if (set.channels == 1) return Ok{};
    static const char* const names[] = {"", "grey", "grey+alpha", "RGB", "RGBA"};
    const char* name = set.channels <= 4 ? names[set.channels] : "unknown";
    return make_error("images have " + std::to_string(set.channels) + " channels (" + name + "); " + what +
                      " needs grey images (1 channel)");
}

namespace {

std::string dims_text(std::uint64_t count, std::uint32_t rows, std::uint32_t cols) {
    return std::to_string(count) + " images of " + std::to_string(rows) + "x" + std::to_string(cols);
}

// Builds an ImageSet from pixels whose size the caller has already matched to the shape.
ImageSet make_set(std::uint32_t rows, std::uint32_t cols, std::size_t count, std::span<const std::uint8_t> pixels) {
    ImageSet set;
    set.rows = rows;
    set.cols = cols;
    set.count = count;
    set.pixels.assign(pixels.begin(), pixels.end());
    return set;
}

const char* idx_type_name(std::uint8_t type) {
    switch (type) {
        case 0x08: return "unsigned byte";
        case 0x09: return "signed byte";
        case 0x0B: return "short";
        case 0x0C: return "int";
        case 0x0D: return "float";
        case 0x0E: return "double";
        default: return "unknown";
    }
}

// The magic is 0x00 0x00 <type> <ndims>; check each part so the error says which one is off.
Status check_idx_magic(std::span<const std::uint8_t> bytes) {
    if (bytes.size() < 4) return make_error("IDX: truncated header (" + std::to_string(bytes.size()) + " bytes)");
    const std::uint32_t magic = detail::load_be32(bytes, 0);
    if (bytes[0] != 0 || bytes[1] != 0)
        return make_error("IDX: bad magic " + detail::hex32(magic) + " (expected 0x00000803)");
    if (bytes[2] != 0x08)
        return make_error("IDX: element type " + detail::hex32(bytes[2]) + " (" + idx_type_name(bytes[2]) +
                          ") is not supported; only unsigned bytes (0x08)");
    if (bytes[3] != 3) {
        std::string hint = bytes[3] == 1 ? " (a label file?)" : "";
        return make_error("IDX: " + std::to_string(bytes[3]) + " dimensions" + hint +
                          "; expected 3 (count, rows, cols)");
    }
    return Ok{};
}

}  // namespace

Expected<ImageSet> parse_idx(std::span<const std::uint8_t> bytes) {
    if (auto magic = check_idx_magic(bytes); !magic) return magic.error();
    if (bytes.size() < kIdxHeaderBytes)
        return make_error("IDX: truncated header (" + std::to_string(bytes.size()) + " bytes, need 16)");
    const std::uint32_t count = detail::load_be32(bytes, 4);
    const std::uint32_t rows = detail::load_be32(bytes, 8);
    const std::uint32_t cols = detail::load_be32(bytes, 12);
    if (count == 0 || rows == 0 || cols == 0)
        return make_error("IDX: zero dimension in header (" + dims_text(count, rows, cols) + ")");
    const std::size_t body = bytes.size() - kIdxHeaderBytes;
    const auto needed = checked_mul(count, rows, cols);
    if (!needed) return make_error("IDX: header size " + dims_text(count, rows, cols) + " overflows");
    if (*needed != body)
        return make_error("IDX: header says " + dims_text(count, rows, cols) + " (" + std::to_string(*needed) +
                          " bytes) but " + std::to_string(body) + " pixel bytes follow the header" +
                          (body < *needed ? " (truncated)" : " (trailing bytes)"));
    return make_set(rows, cols, count, bytes.subspan(kIdxHeaderBytes));
}

std::vector<std::uint8_t> write_idx(const ImageSet& images) {
    std::vector<std::uint8_t> out;
    out.reserve(kIdxHeaderBytes + images.pixels.size());
    const auto put_be32 = [&out](std::uint64_t v) {
        for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
    };
    put_be32(0x00000803);
    put_be32(images.count);
    put_be32(images.rows);
    put_be32(images.cols);
    out.insert(out.end(), images.pixels.begin(), images.pixels.end());
    return out;
}

Expected<ImageSet> parse_raw(std::span<const std::uint8_t> bytes, Shape shape) {
    if (shape.rows == 0 || shape.cols == 0)
        return make_error("raw: zero image shape " + std::to_string(shape.rows) + "x" + std::to_string(shape.cols));
    if (shape.channels < 1 || shape.channels > 4) return make_error("raw: samples per pixel must be 1..4");
    if (bytes.empty()) return make_error("raw: no pixel bytes");
    const std::size_t per_image = std::size_t{shape.rows} * shape.cols * shape.channels;  // < 2^64: factors < 2^32, 2^32, 5
    if (bytes.size() % per_image != 0)
        return make_error("raw: " + std::to_string(bytes.size()) + " bytes is not a multiple of the image size " +
                          std::to_string(shape.rows) + "x" + std::to_string(shape.cols) + " = " +
                          std::to_string(per_image));
    ImageSet set = make_set(shape.rows, shape.cols, bytes.size() / per_image, bytes);
    set.channels = shape.channels;
    return set;
}

Format detect_format(std::span<const std::uint8_t> bytes) {
    static constexpr std::array<std::uint8_t, 8> png_signature = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    if (bytes.size() >= png_signature.size() && std::equal(png_signature.begin(), png_signature.end(), bytes.begin()))
        return Format::png;
    if (is_gzip(bytes)) return Format::gzip;
    if (bytes.size() >= 2 && bytes[0] == 'P' && bytes[1] == '6') return Format::ppm;
    // Any other 'P' + digit is routed to the PGM parser so that P2/P3 files get a precise error.
    if (bytes.size() >= 2 && bytes[0] == 'P' && bytes[1] >= '1' && bytes[1] <= '7') return Format::pgm;
    // Any IDX magic (0x00 0x00 type ndims) goes to parse_idx, which says what is wrong with it.
    if (bytes.size() >= 4 && bytes[0] == 0 && bytes[1] == 0 && bytes[2] >= 0x08 && bytes[2] <= 0x0E) return Format::idx;
    return Format::unknown;
}

const char* format_name(Format format) {
    switch (format) {
        case Format::idx: return "IDX";
        case Format::pgm: return "PGM";
        case Format::ppm: return "PPM";
        case Format::png: return "PNG";
        case Format::gzip: return "gzip";
        case Format::unknown: break;
    }
    return "unknown";
}

namespace {

Expected<ImageSet> parse_by_content(std::span<const std::uint8_t> bytes) {
    switch (detect_format(bytes)) {
        case Format::idx: return parse_idx(bytes);
        case Format::pgm: return parse_pgm(bytes);
        case Format::ppm: return parse_ppm(bytes);
        case Format::png: return parse_png(bytes);
        case Format::gzip: return make_error("gzip inside gzip is not supported");
        case Format::unknown: break;
    }
    if (bytes.empty()) return make_error("empty input");
    return make_error("unrecognised image format (expected IDX, gzip'd IDX, PGM, PPM or PNG; raw pixels need a shape)");
}

}  // namespace

Expected<ImageSet> parse_images(std::span<const std::uint8_t> bytes, std::optional<Shape> raw_shape) {
    // Raw means raw: raw pixels may begin with anything, including a gzip or PNG signature.
    if (raw_shape) return parse_raw(bytes, *raw_shape);
    if (!is_gzip(bytes)) return parse_by_content(bytes);
    auto inflated = gunzip(bytes, kMaxInputBytes);
    if (!inflated) return inflated.error();
    return parse_by_content(*inflated);
}

}  // namespace bbans::io
