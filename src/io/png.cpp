// PNG through libpng: samples and attributes (read_png), and back (write_png).
//
// The chunk stream is walked here (length, type, CRC) to keep every ancillary chunk raw with
// its place; libpng decodes and encodes the pixels. libpng reports errors by longjmp. A longjmp
// across a C++ frame that owns objects with destructors is undefined, so the functions that
// call setjmp (read_header, read_rows, write_rows) hold only plain data, and everything with a
// destructor lives in their callers, which libpng never jumps over.
// No transformations are requested except unpacking 1/2/4-bit samples to one byte each
// (png_set_packing: the values are not scaled), so samples come out verbatim (no gamma).
#include "src/io/png.hpp"

#include <png.h>
#include <zlib.h>

#include <algorithm>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>

#include "bbans/bytes.hpp"
#include "src/io/detail.hpp"

namespace bbans::io {
namespace {

using Bytes = std::vector<std::uint8_t>;

constexpr std::uint8_t kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
constexpr std::uint32_t kMaxChunkLength = 0x7fffffffu;  // PNG's limit on lengths and sizes
constexpr std::uint8_t kAttributesVersion = 1;

// libpng's io and error pointer: the input (or output) and the last error message.
struct PngIo {
    const std::uint8_t* data = nullptr;
    std::size_t size = 0;
    std::size_t pos = 0;
    Bytes* out = nullptr;
    char error[200] = {};
};

void read_from_memory(png_structp png, png_bytep out, std::size_t n) {
    auto* src = static_cast<PngIo*>(png_get_io_ptr(png));
    if (n > src->size - src->pos) png_error(png, "truncated PNG data");
    std::memcpy(out, src->data + src->pos, n);
    src->pos += n;
}

void write_to_memory(png_structp png, png_bytep data, std::size_t n) {
    auto* dst = static_cast<PngIo*>(png_get_io_ptr(png));
    try {
        dst->out->insert(dst->out->end(), data, data + n);
    } catch (const std::exception&) {
        png_error(png, "out of memory");
    }
}

void no_flush(png_structp) {}

[[noreturn]] void record_error(png_structp png, png_const_charp message) {
    auto* io = static_cast<PngIo*>(png_get_error_ptr(png));
    std::snprintf(io->error, sizeof io->error, "%s", message ? message : "libpng error");
    png_longjmp(png, 1);
}

void ignore_warning(png_structp, png_const_charp) {}  // libraries never print

bool is_letter(std::uint8_t c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
bool is_type(const std::uint8_t* t, const char* name) { return std::memcmp(t, name, 4) == 0; }

// Samples a pixel in the file's rows: a palette image stores one index.
std::uint32_t stored_channels(std::uint8_t color_type) {
    switch (color_type) {
        case 0: return 1;
        case 2: return 3;
        case 3: return 1;
        case 4: return 2;
        case 6: return 4;
        default: return 0;
    }
}

bool valid_depth(std::uint8_t color_type, std::uint8_t depth) {
    switch (color_type) {
        case 0: return depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16;
        case 3: return depth == 1 || depth == 2 || depth == 4 || depth == 8;
        case 2:
        case 4:
        case 6: return depth == 8 || depth == 16;
        default: return false;
    }
}

std::string sixteen_bit_error() {
    return std::string("PNG: ") + kPng16BitSamples + " are not supported (only 1, 2, 4 and 8-bit PNGs are read as images)";
}

// ---- the chunk stream ----------------------------------------------------------------------

// IHDR and the ancillary chunks of a PNG, every chunk's CRC checked, up to IEND.
Expected<PngAttributes> walk_chunks(std::span<const std::uint8_t> bytes) {
    PngAttributes a;
    std::size_t pos = 8;
    bool seen_ihdr = false, seen_plte = false, seen_idat = false, after_idat = false;
    std::uint64_t kept = 0;
    while (true) {
        if (bytes.size() - pos < 12) return make_error("PNG: truncated chunk stream (no IEND)");
        const std::uint32_t length = detail::load_be32(bytes, pos);
        const std::uint8_t* type = bytes.data() + pos + 4;
        const std::string name(type, type + 4);
        if (length > kMaxChunkLength || length > bytes.size() - pos - 12)
            return make_error("PNG: chunk " + std::to_string(pos) + " is truncated or longer than the file");
        if (!std::all_of(type, type + 4, is_letter)) return make_error("PNG: invalid chunk type at byte " + std::to_string(pos));
        const auto data = bytes.subspan(pos + 8, length);
        const std::uint32_t crc = detail::load_be32(bytes, pos + 8 + length);
        if (crc != static_cast<std::uint32_t>(crc32(0, type, 4 + length)))
            return make_error("PNG: CRC error in chunk " + name);
        pos += std::size_t{12} + length;
        if (!seen_ihdr) {
            if (!is_type(type, "IHDR") || length != 13) return make_error("PNG: the first chunk is not a valid IHDR");
            seen_ihdr = true;
            a.width = detail::load_be32(data, 0);
            a.height = detail::load_be32(data, 4);
            a.bit_depth = data[8];
            a.color_type = data[9];
            a.interlace = data[12];
            continue;
        }
        if (is_type(type, "IEND")) break;  // anything after IEND is not part of the image
        if (is_type(type, "IDAT")) {
            if (after_idat) return make_error("PNG: IDAT chunks are not consecutive");
            seen_idat = true;
            continue;
        }
        if (seen_idat) after_idat = true;
        if (is_type(type, "PLTE")) {
            if (seen_plte || seen_idat) return make_error("PNG: PLTE is repeated or after IDAT");
            seen_plte = true;
            a.palette.assign(data.begin(), data.end());
            continue;
        }
        if (!(type[0] & 0x20)) return make_error("PNG: unknown critical chunk " + name);
        kept += std::uint64_t{length} + 9;
        if (kept > kMaxPngAttributesBytes / 2) return make_error("PNG: ancillary chunks larger than 32 MiB");
        PngChunk c;
        std::copy(type, type + 4, c.type.begin());
        c.place = after_idat ? PngPlace::after_idat : seen_plte ? PngPlace::before_idat : PngPlace::before_plte;
        c.data.assign(data.begin(), data.end());
        a.chunks.push_back(std::move(c));
    }
    if (!seen_idat) return make_error("PNG: no IDAT chunk");
    return a;
}

// Deflate cannot expand data more than about 1032:1, so a header that claims more samples than
// the file could hold is a lie; refusing it keeps a tiny hostile file from a huge allocation.
Status check_plausible_size(const PngAttributes& a, std::size_t file_size) {
    const auto samples = detail::checked_mul(a.width, a.height, a.channels());
    const auto capacity = detail::checked_mul(file_size, 1100 * 8);  // 8 samples a byte at 1 bit
    if (!samples || *samples > kMaxInputBytes || !capacity || *samples > *capacity)
        return make_error("PNG: header claims " + std::to_string(a.width) + "x" + std::to_string(a.height) +
                          " pixels, more than " + std::to_string(file_size) + " bytes of PNG can hold");
    return Ok{};
}

// ---- decoding with libpng ------------------------------------------------------------------

class ReadGuard {
public:
    ReadGuard(png_structp png, png_infop info) : png_(png), info_(info) {}
    ~ReadGuard() { png_destroy_read_struct(&png_, &info_, nullptr); }
    ReadGuard(const ReadGuard&) = delete;
    ReadGuard& operator=(const ReadGuard&) = delete;

private:
    png_structp png_;
    png_infop info_;
};

// Reads the header, then all rows (every interlace pass over the same buffer, one byte a
// sample) and the chunks after IDAT, so a truncated or corrupt file is an error rather than a
// partly filled image.
bool read_rows(png_structp png, png_infop info, std::uint8_t* rows_out, std::size_t row_bytes, png_uint_32 rows) {
    if (setjmp(png_jmpbuf(png))) return false;
    png_read_info(png, info);
    if (png_get_bit_depth(png, info) < 8) png_set_packing(png);
    const int passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_rowbytes(png, info) != row_bytes) png_error(png, "unexpected row size");
    for (int pass = 0; pass < passes; ++pass)
        for (png_uint_32 y = 0; y < rows; ++y) png_read_row(png, rows_out + std::size_t{y} * row_bytes, nullptr);
    png_read_end(png, nullptr);
    return true;
}

// A palette image's indices as RGB or RGBA samples.
Expected<Bytes> expand_palette(const Bytes& indices, const PngAttributes& a) {
    const std::size_t entries = a.palette.size() / 3;
    const auto trns = a.transparency();
    const std::uint32_t ch = a.channels();
    Bytes out(indices.size() * ch);
    std::uint8_t* o = out.data();
    for (const std::uint8_t i : indices) {
        if (i >= entries)
            return make_error("PNG: palette index " + std::to_string(i) + " beyond the palette's " + std::to_string(entries) + " entries");
        std::memcpy(o, a.palette.data() + 3 * std::size_t{i}, 3);
        if (ch == 4) o[3] = i < trns.size() ? trns[i] : 255;
        o += ch;
    }
    return out;
}

// ---- encoding with libpng ------------------------------------------------------------------

class WriteGuard {
public:
    WriteGuard(png_structp png, png_infop info) : png_(png), info_(info) {}
    ~WriteGuard() { png_destroy_write_struct(&png_, &info_); }
    WriteGuard(const WriteGuard&) = delete;
    WriteGuard& operator=(const WriteGuard&) = delete;

private:
    png_structp png_;
    png_infop info_;
};

// What write_rows needs, as plain data.
struct WritePlan {
    png_uint_32 width, height;
    int bit_depth, color_type, interlace;
    const png_color* palette;
    int palette_entries;
    const PngChunk* chunks;
    std::size_t chunk_count;
    const std::uint8_t* rows;  // one byte a sample (indices for a palette image)
    std::size_t row_bytes;
};

void write_chunks(png_structp png, const WritePlan& p, PngPlace place) {
    for (std::size_t i = 0; i < p.chunk_count; ++i)
        if (p.chunks[i].place == place) png_write_chunk(png, p.chunks[i].type.data(), p.chunks[i].data.data(), p.chunks[i].data.size());
}

bool write_rows(png_structp png, png_infop info, const WritePlan& p) {
    if (setjmp(png_jmpbuf(png))) return false;
    png_set_IHDR(png, info, p.width, p.height, p.bit_depth, p.color_type, p.interlace, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    if (p.palette_entries > 0) png_set_PLTE(png, info, p.palette, p.palette_entries);
    png_set_compression_level(png, 9);
    png_write_info_before_PLTE(png, info);  // signature, IHDR
    write_chunks(png, p, PngPlace::before_plte);
    png_write_info(png, info);  // PLTE
    write_chunks(png, p, PngPlace::before_idat);
    if (p.bit_depth < 8) png_set_packing(png);
    const int passes = png_set_interlace_handling(png);
    for (int pass = 0; pass < passes; ++pass)
        for (png_uint_32 y = 0; y < p.height; ++y) png_write_row(png, p.rows + std::size_t{y} * p.row_bytes);
    // The last row finished the IDAT stream; what follows it comes before IEND.
    write_chunks(png, p, PngPlace::after_idat);
    png_write_end(png, nullptr);
    return true;
}

// The rows libpng writes: samples as they are, or a palette image's colours as the first index
// of each colour.
Expected<Bytes> stored_rows(std::span<const std::uint8_t> samples, const PngAttributes& a) {
    if (a.color_type != 3) {
        if (a.bit_depth < 8) {
            const std::uint8_t limit = static_cast<std::uint8_t>(1u << a.bit_depth);
            if (std::any_of(samples.begin(), samples.end(), [limit](std::uint8_t v) { return v >= limit; }))
                return make_error("PNG: a " + std::to_string(a.bit_depth) + "-bit grey sample is " + std::to_string(1u << a.bit_depth) +
                                  " or more");
        }
        return Bytes(samples.begin(), samples.end());
    }
    const std::uint32_t ch = a.channels();
    const auto trns = a.transparency();
    std::map<std::uint32_t, std::uint8_t> index;  // 0xRRGGBBAA -> first palette index
    for (std::size_t i = a.palette.size() / 3; i-- > 0;) {
        const std::uint8_t* c = a.palette.data() + 3 * i;
        const std::uint32_t alpha = ch == 4 && i < trns.size() ? trns[i] : 255;
        index[std::uint32_t{c[0]} << 24 | std::uint32_t{c[1]} << 16 | std::uint32_t{c[2]} << 8 | alpha] = static_cast<std::uint8_t>(i);
    }
    Bytes out(samples.size() / ch);
    for (std::size_t j = 0; j < out.size(); ++j) {
        const std::uint8_t* s = samples.data() + j * ch;
        const std::uint32_t key = std::uint32_t{s[0]} << 24 | std::uint32_t{s[1]} << 16 | std::uint32_t{s[2]} << 8 | (ch == 4 ? s[3] : 255u);
        const auto it = index.find(key);
        if (it == index.end()) return make_error("PNG: pixel " + std::to_string(j) + "'s colour is not in the palette");
        out[j] = it->second;
    }
    return out;
}

}  // namespace

// ---- attributes ----------------------------------------------------------------------------

std::span<const std::uint8_t> PngAttributes::transparency() const {
    for (const PngChunk& c : chunks)
        if (is_type(c.type.data(), "tRNS")) return c.data;
    return {};
}

std::uint32_t PngAttributes::channels() const {
    if (color_type == 3) return transparency().empty() ? 3 : 4;
    return stored_channels(color_type);
}

bool is_png_16bit_error(const Error& error) { return error.message.find(kPng16BitSamples) != std::string::npos; }

Status check_png_attributes(const PngAttributes& a) {
    if (a.width == 0 || a.height == 0 || a.width > kMaxChunkLength || a.height > kMaxChunkLength)
        return make_error("PNG: invalid image size " + std::to_string(a.width) + "x" + std::to_string(a.height));
    if (!valid_depth(a.color_type, a.bit_depth))
        return make_error("PNG: invalid colour type " + std::to_string(a.color_type) + " with bit depth " + std::to_string(a.bit_depth));
    if (a.bit_depth == 16) return make_error(sixteen_bit_error());
    if (a.interlace > 1) return make_error("PNG: unknown interlace method " + std::to_string(a.interlace));
    const std::size_t entries = a.palette.size() / 3;
    const bool palette_allowed = a.color_type == 2 || a.color_type == 3 || a.color_type == 6;
    if (a.palette.size() % 3 != 0 || (!palette_allowed && !a.palette.empty()) || entries > 256 ||
        (a.color_type == 3 && (entries == 0 || entries > (std::size_t{1} << a.bit_depth))))
        return make_error("PNG: invalid palette (" + std::to_string(a.palette.size()) + " bytes for colour type " +
                          std::to_string(a.color_type) + ", " + std::to_string(a.bit_depth) + "-bit)");
    bool trns = false;
    for (const PngChunk& c : a.chunks) {
        if (!std::all_of(c.type.begin(), c.type.end(), is_letter) || !(c.type[0] & 0x20))
            return make_error("PNG: invalid ancillary chunk type");
        if (static_cast<std::uint8_t>(c.place) > 2) return make_error("PNG: invalid chunk place");
        if (c.data.size() > kMaxChunkLength) return make_error("PNG: chunk " + c.type_name() + " is too long");
        if (a.color_type == 3 && is_type(c.type.data(), "tRNS") && !trns) {
            trns = true;
            if (c.place != PngPlace::before_idat || c.data.empty() || c.data.size() > entries)
                return make_error("PNG: a palette image's tRNS must be between PLTE and IDAT, 1 to " + std::to_string(entries) + " bytes");
        }
    }
    return Ok{};
}

std::vector<std::uint8_t> serialize_png_attributes(const PngAttributes& a) {
    Bytes out;
    ByteWriter w(out);
    w.u8(kAttributesVersion);
    w.u8(a.bit_depth), w.u8(a.color_type), w.u8(a.interlace);
    w.u32(a.width), w.u32(a.height);
    w.u32(static_cast<std::uint32_t>(a.palette.size())), w.bytes(a.palette);
    w.u32(static_cast<std::uint32_t>(a.chunks.size()));
    for (const PngChunk& c : a.chunks) {
        w.bytes(c.type);
        w.u8(static_cast<std::uint8_t>(c.place));
        w.u32(static_cast<std::uint32_t>(c.data.size())), w.bytes(c.data);
    }
    return out;
}

Expected<PngAttributes> parse_png_attributes(std::span<const std::uint8_t> bytes) {
    if (bytes.size() > kMaxPngAttributesBytes) return make_error("PNG attributes larger than 64 MiB");
    ByteReader r(bytes);
    PngAttributes a;
    std::uint8_t version = 0;
    std::uint32_t palette_bytes = 0, n = 0;
    std::span<const std::uint8_t> b;
    if (!(r.u8(version) && r.u8(a.bit_depth) && r.u8(a.color_type) && r.u8(a.interlace) && r.u32(a.width) && r.u32(a.height) &&
          r.u32(palette_bytes) && r.bytes(palette_bytes, b)))
        return make_error("PNG attributes are truncated");
    if (version != kAttributesVersion) return make_error("PNG attributes version " + std::to_string(version) + " is not supported");
    a.palette.assign(b.begin(), b.end());
    if (!r.u32(n)) return make_error("PNG attributes are truncated");
    if (n > r.remaining() / 9) return make_error("PNG attributes claim more chunks than they hold");
    a.chunks.resize(n);
    for (PngChunk& c : a.chunks) {
        std::span<const std::uint8_t> type;
        std::uint8_t place = 0;
        std::uint32_t length = 0;
        if (!(r.bytes(4, type) && r.u8(place) && r.u32(length) && r.bytes(length, b))) return make_error("PNG attributes are truncated");
        if (place > 2) return make_error("PNG attributes: chunk place " + std::to_string(place) + " is not defined");
        std::copy(type.begin(), type.end(), c.type.begin());
        c.place = static_cast<PngPlace>(place);
        c.data.assign(b.begin(), b.end());
    }
    if (r.remaining() != 0) return make_error("PNG attributes have trailing bytes");
    if (auto ok = check_png_attributes(a); !ok) return make_error(ok.error().message + " (in the PNG attributes)");
    return a;
}

// ---- reading and writing -------------------------------------------------------------------

Expected<PngImage> read_png(std::span<const std::uint8_t> bytes) {
    if (bytes.size() < 8 || !std::equal(kSignature, kSignature + 8, bytes.begin())) return make_error("PNG: not a PNG file (bad signature)");
    auto walked = walk_chunks(bytes);
    if (!walked) return walked.error();
    PngImage out;
    out.attributes = std::move(*walked);
    const PngAttributes& a = out.attributes;
    if (auto ok = check_png_attributes(a); !ok) return ok.error();
    if (auto ok = check_plausible_size(a, bytes.size()); !ok) return ok.error();

    PngIo src{bytes.data(), bytes.size(), 0, nullptr, {}};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, record_error, ignore_warning);
    if (!png) return make_error("PNG: libpng initialisation failed");
    png_infop info = png_create_info_struct(png);
    ReadGuard guard(png, info);
    if (!info) return make_error("PNG: libpng initialisation failed");
    png_set_read_fn(png, &src, read_from_memory);
    // The walk checked every CRC; libpng still checks them too (its default).
    const std::size_t row_bytes = std::size_t{a.width} * stored_channels(a.color_type);
    Bytes rows(row_bytes * a.height);
    if (!read_rows(png, info, rows.data(), row_bytes, a.height)) return make_error(std::string("PNG: ") + src.error);

    ImageSet& set = out.image;
    set.rows = a.height;
    set.cols = a.width;
    set.count = 1;
    set.channels = a.channels();
    if (a.color_type == 3) {
        auto rgb = expand_palette(rows, a);
        if (!rgb) return rgb.error();
        set.pixels = std::move(*rgb);
    } else {
        set.pixels = std::move(rows);
    }
    return out;
}

Expected<ImageSet> parse_png(std::span<const std::uint8_t> bytes) {
    auto png = read_png(bytes);
    if (!png) return png.error();
    return std::move(png->image);
}

Expected<std::vector<std::uint8_t>> write_png(std::span<const std::uint8_t> samples, const PngAttributes& a) {
    if (auto ok = check_png_attributes(a); !ok) return ok.error();
    const auto expected = detail::checked_mul(a.width, a.height, a.channels());
    if (!expected || *expected != samples.size())
        return make_error("PNG: " + std::to_string(samples.size()) + " samples do not make a " + std::to_string(a.width) + "x" +
                          std::to_string(a.height) + " image of " + std::to_string(a.channels()) + " channels");
    auto rows = stored_rows(samples, a);
    if (!rows) return rows.error();

    std::vector<png_color> palette(a.palette.size() / 3);
    for (std::size_t i = 0; i < palette.size(); ++i)
        palette[i] = png_color{a.palette[3 * i], a.palette[3 * i + 1], a.palette[3 * i + 2]};
    Bytes out;
    PngIo dst{nullptr, 0, 0, &out, {}};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &dst, record_error, ignore_warning);
    if (!png) return make_error("PNG: libpng initialisation failed");
    png_infop info = png_create_info_struct(png);
    WriteGuard guard(png, info);
    if (!info) return make_error("PNG: libpng initialisation failed");
    png_set_write_fn(png, &dst, write_to_memory, no_flush);
    const WritePlan plan{a.width,
                         a.height,
                         a.bit_depth,
                         a.color_type,
                         a.interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                         palette.data(),
                         static_cast<int>(palette.size()),
                         a.chunks.data(),
                         a.chunks.size(),
                         rows->data(),
                         std::size_t{a.width} * stored_channels(a.color_type)};
    if (!write_rows(png, info, plan)) return make_error(std::string("PNG: writing failed: ") + dst.error);
    return out;
}

}  // namespace bbans::io
