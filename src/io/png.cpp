// 8-bit grayscale PNG through libpng.
//
// libpng reports errors by longjmp. A longjmp across a C++ frame that owns objects with
// destructors is undefined, so the two functions that call setjmp (read_header, read_pixels)
// hold only plain data, and everything with a destructor (the pixel vector, the guard that
// frees libpng's structs) lives in parse_png, which libpng never jumps over.
// No transformations are requested, so samples come out verbatim (no gamma correction).
#include <png.h>

#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <string>

#include "src/io/detail.hpp"
#include "src/io/images.hpp"

namespace bbans::io {
namespace {

// libpng's io and error pointer: the input and the last error message.
struct PngSource {
    const std::uint8_t* data = nullptr;
    std::size_t size = 0;
    std::size_t pos = 0;
    char error[200] = {};
};

void read_from_memory(png_structp png, png_bytep out, std::size_t n) {
    auto* src = static_cast<PngSource*>(png_get_io_ptr(png));
    if (n > src->size - src->pos) png_error(png, "truncated PNG data");
    std::memcpy(out, src->data + src->pos, n);
    src->pos += n;
}

[[noreturn]] void record_error(png_structp png, png_const_charp message) {
    auto* src = static_cast<PngSource*>(png_get_error_ptr(png));
    std::snprintf(src->error, sizeof src->error, "%s", message ? message : "libpng error");
    png_longjmp(png, 1);
}

void ignore_warning(png_structp, png_const_charp) {}  // libraries never print

struct PngHeader {
    png_uint_32 width = 0, height = 0;
    int bit_depth = 0, color_type = 0;
};

bool read_header(png_structp png, png_infop info, PngHeader* header) {
    if (setjmp(png_jmpbuf(png))) return false;
    png_read_info(png, info);
    header->width = png_get_image_width(png, info);
    header->height = png_get_image_height(png, info);
    header->bit_depth = png_get_bit_depth(png, info);
    header->color_type = png_get_color_type(png, info);
    return true;
}

// Reads all rows (every interlace pass over the same buffer) and the chunks after IDAT, so a
// truncated or corrupt file is an error rather than a partly filled image.
bool read_pixels(png_structp png, png_infop info, std::uint8_t* pixels, png_uint_32 rows, png_uint_32 cols) {
    if (setjmp(png_jmpbuf(png))) return false;
    const int passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_rowbytes(png, info) != cols) png_error(png, "unexpected row size");
    for (int pass = 0; pass < passes; ++pass)
        for (png_uint_32 y = 0; y < rows; ++y) png_read_row(png, pixels + std::size_t{y} * cols, nullptr);
    png_read_end(png, nullptr);
    return true;
}

Status check_grayscale8(const PngHeader& h) {
    const std::string depth = std::to_string(h.bit_depth) + "-bit";
    switch (h.color_type) {
        case PNG_COLOR_TYPE_GRAY:
            if (h.bit_depth == 8) return Ok{};
            return make_error("PNG: " + depth + " grayscale is not supported; only 8-bit grayscale");
        case PNG_COLOR_TYPE_PALETTE:
            return make_error("PNG: palette (indexed-colour) images are not supported; only 8-bit grayscale");
        case PNG_COLOR_TYPE_GRAY_ALPHA:
            return make_error("PNG: grayscale with alpha is not supported; only 8-bit grayscale");
        case PNG_COLOR_TYPE_RGB:
        case PNG_COLOR_TYPE_RGB_ALPHA:
            return make_error("PNG: colour (" + depth + " RGB" + (h.color_type == PNG_COLOR_TYPE_RGB ? "" : "A") +
                              ") images are not supported; only 8-bit grayscale");
        default: return make_error("PNG: unknown colour type " + std::to_string(h.color_type));
    }
}

// Deflate cannot expand data more than about 1032:1, so a header that claims more pixels than
// the file could hold is a lie; refusing it keeps a tiny hostile file from a huge allocation.
Status check_plausible_size(const PngHeader& h, std::size_t file_size) {
    const std::uint64_t pixels = std::uint64_t{h.width} * h.height;
    const auto capacity = detail::checked_mul(file_size, 1100);
    if (pixels > kMaxInputBytes || !capacity || pixels > *capacity)
        return make_error("PNG: header claims " + std::to_string(h.width) + "x" + std::to_string(h.height) +
                          " pixels, more than " + std::to_string(file_size) + " bytes of PNG can hold");
    return Ok{};
}

class PngReadGuard {
public:
    PngReadGuard(png_structp png, png_infop info) : png_(png), info_(info) {}
    ~PngReadGuard() { png_destroy_read_struct(&png_, &info_, nullptr); }
    PngReadGuard(const PngReadGuard&) = delete;
    PngReadGuard& operator=(const PngReadGuard&) = delete;

private:
    png_structp png_;
    png_infop info_;
};

}  // namespace

Expected<ImageSet> parse_png(std::span<const std::uint8_t> bytes) {
    if (bytes.size() < 8 || png_sig_cmp(bytes.data(), 0, 8) != 0) return make_error("PNG: not a PNG file (bad signature)");
    PngSource src{bytes.data(), bytes.size(), 0, {}};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, record_error, ignore_warning);
    if (!png) return make_error("PNG: libpng initialisation failed");
    png_infop info = png_create_info_struct(png);
    PngReadGuard guard(png, info);
    if (!info) return make_error("PNG: libpng initialisation failed");
    png_set_read_fn(png, &src, read_from_memory);

    PngHeader header;
    if (!read_header(png, info, &header)) return make_error(std::string("PNG: ") + src.error);
    if (auto ok = check_grayscale8(header); !ok) return ok.error();
    if (auto ok = check_plausible_size(header, bytes.size()); !ok) return ok.error();

    ImageSet set;
    set.rows = header.height;
    set.cols = header.width;
    set.count = 1;
    set.pixels.resize(std::size_t{header.width} * header.height);
    if (!read_pixels(png, info, set.pixels.data(), header.height, header.width))
        return make_error(std::string("PNG: ") + src.error);
    return set;
}

}  // namespace bbans::io
