#pragma once
// Helpers for the io tests: byte builders for every format (so each bad input is made in the
// test that rejects it), an independent PNG writer (libpng's own encoder) and temp directories.
#include <png.h>
#include <unistd.h>
#include <zlib.h>

#include <csetjmp>
#include <cstdint>
#include <cstring>
#include <optional>
#include <filesystem>
#include <fstream>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "src/io/images.hpp"

namespace io_test {

using Bytes = std::vector<std::uint8_t>;

inline Bytes to_bytes(const std::string& s) { return Bytes(s.begin(), s.end()); }

inline void append(Bytes& out, const Bytes& more) { out.insert(out.end(), more.begin(), more.end()); }

inline void put_be32(Bytes& out, std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}

// Pseudo-random pixels, fixed seed: tests are reproducible.
inline Bytes random_pixels(std::size_t n, std::uint32_t seed = 1) {
    std::mt19937 rng(seed);
    Bytes b(n);
    for (auto& x : b) x = static_cast<std::uint8_t>(rng() >> 24);
    return b;
}

inline bbans::io::ImageSet make_set(std::uint32_t rows, std::uint32_t cols, std::size_t count, std::uint32_t seed = 1) {
    bbans::io::ImageSet s;
    s.rows = rows;
    s.cols = cols;
    s.count = count;
    s.pixels = random_pixels(count * rows * cols, seed);
    return s;
}

// An IDX header with arbitrary fields (magic included), for building bad files.
inline Bytes idx_header(std::uint32_t magic, std::uint32_t count, std::uint32_t rows, std::uint32_t cols) {
    Bytes out;
    put_be32(out, magic);
    put_be32(out, count);
    put_be32(out, rows);
    put_be32(out, cols);
    return out;
}

inline Bytes pgm(const std::string& header, const Bytes& raster) {
    Bytes out = to_bytes(header);
    append(out, raster);
    return out;
}

// gzip via zlib's deflate (windowBits 16+15 selects the gzip wrapper).
inline Bytes gzip(std::span<const std::uint8_t> data, int level = 6) {
    z_stream zs{};
    if (deflateInit2(&zs, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) return {};
    Bytes out(deflateBound(&zs, static_cast<uLong>(data.size())) + 64);
    zs.next_in = const_cast<Bytef*>(data.data());
    zs.avail_in = static_cast<uInt>(data.size());
    zs.next_out = out.data();
    zs.avail_out = static_cast<uInt>(out.size());
    const int rc = deflate(&zs, Z_FINISH);
    out.resize(zs.total_out);
    deflateEnd(&zs);
    return rc == Z_STREAM_END ? out : Bytes{};
}

// ---- PNG, hand-made: chunks with real CRCs, so each field can be set to anything. ----

inline void png_chunk(Bytes& out, const char type[4], const Bytes& data) {
    put_be32(out, static_cast<std::uint32_t>(data.size()));
    Bytes body(type, type + 4);
    append(body, data);
    append(out, body);
    put_be32(out, static_cast<std::uint32_t>(crc32(0, body.data(), static_cast<uInt>(body.size()))));
}

inline Bytes png_signature() { return {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'}; }

inline Bytes ihdr(std::uint32_t width, std::uint32_t height, std::uint8_t depth, std::uint8_t color_type,
                  std::uint8_t interlace = 0) {
    Bytes d;
    put_be32(d, width);
    put_be32(d, height);
    d.insert(d.end(), {depth, color_type, 0, 0, interlace});
    return d;
}

// A non-interlaced PNG whose rows are given already packed (row_bytes each), filter type 0.
inline Bytes handmade_png(const Bytes& ihdr_data, const Bytes& packed, std::size_t row_bytes, const Bytes& plte = {}) {
    Bytes filtered;
    for (std::size_t at = 0; at < packed.size(); at += row_bytes) {
        filtered.push_back(0);
        filtered.insert(filtered.end(), packed.begin() + static_cast<long>(at),
                        packed.begin() + static_cast<long>(at + row_bytes));
    }
    uLongf zsize = compressBound(static_cast<uLong>(filtered.size()));
    Bytes z(zsize);
    compress(z.data(), &zsize, filtered.data(), static_cast<uLong>(filtered.size()));
    z.resize(zsize);
    Bytes out = png_signature();
    png_chunk(out, "IHDR", ihdr_data);
    if (!plte.empty()) png_chunk(out, "PLTE", plte);
    png_chunk(out, "IDAT", z);
    png_chunk(out, "IEND", {});
    return out;
}

// ---- PNG through libpng's encoder (adaptive filters, optional Adam7 interlace). ----

inline void png_append(png_structp png, png_bytep data, std::size_t n) {
    auto* out = static_cast<Bytes*>(png_get_io_ptr(png));
    out->insert(out->end(), data, data + n);
}

inline void png_no_flush(png_structp) {}

// Only plain data in this frame: libpng may longjmp back here.
inline bool libpng_encode(png_structp png, png_infop info, Bytes* out, const std::uint8_t* pixels,
                          std::uint32_t rows, std::uint32_t cols, bool interlace) {
    if (setjmp(png_jmpbuf(png))) return false;
    png_set_write_fn(png, out, png_append, png_no_flush);
    png_set_IHDR(png, info, cols, rows, 8, PNG_COLOR_TYPE_GRAY,
                 interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    const int passes = png_set_interlace_handling(png);
    for (int pass = 0; pass < passes; ++pass)
        for (std::uint32_t y = 0; y < rows; ++y)
            png_write_row(png, const_cast<png_bytep>(pixels + std::size_t{y} * cols));
    png_write_end(png, nullptr);
    return true;
}

inline Bytes libpng_gray8(const bbans::io::ImageSet& image, bool interlace = false) {
    Bytes out;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
    png_infop info = png ? png_create_info_struct(png) : nullptr;
    const bool ok = info && libpng_encode(png, info, &out, image.pixels.data(), image.rows, image.cols, interlace);
    png_destroy_write_struct(&png, &info);
    return ok ? out : Bytes{};
}

// ---- Any PNG through libpng's encoder: every colour type and bit depth, palettes, tRNS. ----

struct PngSpec {
    std::uint32_t rows = 1, cols = 1;
    int depth = 8, color_type = PNG_COLOR_TYPE_GRAY;
    bool interlace = false;
    Bytes palette;  // PLTE data, 3 bytes an entry
    Bytes trns;     // palette alpha values, or the raw tRNS value for grey (2 bytes) / RGB (6 bytes)
    Bytes stored;   // one byte a stored sample (palette indices; 1/2/4-bit values unscaled)
    int zlib_level = -1;     // libpng's default unless 0..9
    bool no_filter = false;  // filter type 0 on every row (as fast encoders write)
};

inline bool libpng_encode_spec(png_structp png, png_infop info, Bytes* out, const PngSpec* s, const png_color* plte) {
    if (setjmp(png_jmpbuf(png))) return false;
    png_set_write_fn(png, out, png_append, png_no_flush);
    png_set_IHDR(png, info, s->cols, s->rows, s->depth, s->color_type, s->interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (!s->palette.empty()) png_set_PLTE(png, info, plte, static_cast<int>(s->palette.size() / 3));
    if (!s->trns.empty()) {
        if (s->color_type == PNG_COLOR_TYPE_PALETTE) {
            png_set_tRNS(png, info, s->trns.data(), static_cast<int>(s->trns.size()), nullptr);
        } else {
            png_color_16 v{};
            v.gray = static_cast<png_uint_16>(s->trns[0] << 8 | s->trns[1]);
            if (s->trns.size() == 6) {
                v.red = static_cast<png_uint_16>(s->trns[0] << 8 | s->trns[1]);
                v.green = static_cast<png_uint_16>(s->trns[2] << 8 | s->trns[3]);
                v.blue = static_cast<png_uint_16>(s->trns[4] << 8 | s->trns[5]);
            }
            png_set_tRNS(png, info, nullptr, 0, &v);
        }
    }
    if (s->zlib_level >= 0) png_set_compression_level(png, s->zlib_level);
    if (s->no_filter) png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_NONE);
    png_write_info(png, info);
    if (s->depth < 8) png_set_packing(png);
    const std::size_t row = s->stored.size() / s->rows;
    const int passes = png_set_interlace_handling(png);
    for (int pass = 0; pass < passes; ++pass)
        for (std::uint32_t y = 0; y < s->rows; ++y) png_write_row(png, const_cast<png_bytep>(s->stored.data() + y * row));
    png_write_end(png, nullptr);
    return true;
}

inline Bytes libpng_png(const PngSpec& spec) {
    Bytes out;
    std::vector<png_color> plte(spec.palette.size() / 3);
    for (std::size_t i = 0; i < plte.size(); ++i) plte[i] = {spec.palette[3 * i], spec.palette[3 * i + 1], spec.palette[3 * i + 2]};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
    png_infop info = png ? png_create_info_struct(png) : nullptr;
    const bool ok = info && libpng_encode_spec(png, info, &out, &spec, plte.data());
    png_destroy_write_struct(&png, &info);
    return ok ? out : Bytes{};
}

// `png` with a raw chunk inserted before the first chunk named `before` (e.g. "PLTE", "IDAT",
// "IEND"; "PLTE" in a file without one means before IDAT).
inline Bytes with_chunk(const Bytes& png, const char before[4], const char type[4], const Bytes& data) {
    std::size_t pos = 8, at = 0, idat = 0;
    while (pos + 12 <= png.size()) {
        const std::size_t len = std::size_t{png[pos]} << 24 | std::size_t{png[pos + 1]} << 16 | std::size_t{png[pos + 2]} << 8 | png[pos + 3];
        const std::string name(png.begin() + static_cast<long>(pos + 4), png.begin() + static_cast<long>(pos + 8));
        if (name == std::string(before, 4)) {
            at = pos;
            break;
        }
        if (name == "IDAT" && !idat) idat = pos;
        pos += 12 + len;
    }
    if (!at) at = idat;
    Bytes out(png.begin(), png.begin() + static_cast<long>(at));
    png_chunk(out, type, data);
    out.insert(out.end(), png.begin() + static_cast<long>(at), png.end());
    return out;
}

// What libpng itself decodes a PNG to: IHDR fields, PLTE, and every pixel as 8-bit RGBA
// (palette expanded, tRNS to alpha, low depths scaled, grey to RGB): an independent check.
struct LibpngDecoded {
    std::uint32_t width = 0, height = 0;
    int depth = 0, color_type = 0, interlace = 0;
    Bytes palette, rgba;
    friend bool operator==(const LibpngDecoded&, const LibpngDecoded&) = default;
};

inline void png_read_memory(png_structp png, png_bytep out, std::size_t n) {
    auto* src = static_cast<std::span<const std::uint8_t>*>(png_get_io_ptr(png));
    if (n > src->size()) png_error(png, "truncated");
    std::memcpy(out, src->data(), n);
    *src = src->subspan(n);
}

inline bool libpng_decode_frame(png_structp png, png_infop info, LibpngDecoded* d) {
    if (setjmp(png_jmpbuf(png))) return false;
    png_read_info(png, info);
    d->width = png_get_image_width(png, info);
    d->height = png_get_image_height(png, info);
    d->depth = png_get_bit_depth(png, info);
    d->color_type = png_get_color_type(png, info);
    d->interlace = png_get_interlace_type(png, info);
    png_colorp plte = nullptr;
    int n = 0;
    if (png_get_PLTE(png, info, &plte, &n) & PNG_INFO_PLTE)
        for (int i = 0; i < n; ++i) d->palette.insert(d->palette.end(), {plte[i].red, plte[i].green, plte[i].blue});
    png_set_expand(png);
    png_set_gray_to_rgb(png);
    png_set_add_alpha(png, 0xff, PNG_FILLER_AFTER);
    const int passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);
    d->rgba.assign(std::size_t{d->width} * d->height * 4, 0);
    for (int pass = 0; pass < passes; ++pass)
        for (std::uint32_t y = 0; y < d->height; ++y) png_read_row(png, d->rgba.data() + std::size_t{y} * d->width * 4, nullptr);
    png_read_end(png, nullptr);
    return true;
}

inline std::optional<LibpngDecoded> libpng_decode(std::span<const std::uint8_t> bytes) {
    LibpngDecoded d;
    std::span<const std::uint8_t> src = bytes.size() > 8 ? bytes.subspan(8) : bytes;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, [](png_structp, png_const_charp) {});
    png_infop info = png ? png_create_info_struct(png) : nullptr;
    bool ok = false;
    if (info) {
        png_set_read_fn(png, &src, png_read_memory);
        png_set_sig_bytes(png, 8);
        ok = libpng_decode_frame(png, info, &d);
    }
    png_destroy_read_struct(&png, &info, nullptr);
    if (!ok) return std::nullopt;
    return d;
}

// ---- Files ----

// A fresh directory under the system temp dir, removed with everything in it at scope exit.
class TempDir {
public:
    TempDir() {
        static int counter = 0;
        path_ = std::filesystem::temp_directory_path() /
                ("bbans-io-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        std::filesystem::remove_all(path_);
        std::filesystem::create_directories(path_);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

private:
    std::filesystem::path path_;
};

inline void write_bytes(const std::filesystem::path& path, std::span<const std::uint8_t> bytes) {
    std::ofstream f(path, std::ios::binary);
    f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

inline Bytes read_bytes(const std::filesystem::path& path) {
    std::ifstream f(path, std::ios::binary);
    return Bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

}  // namespace io_test
