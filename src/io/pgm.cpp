// Binary PGM (Netpbm P5) and PPM (P6) with maxval 255: one image per file.
//
// Header grammar (Netpbm): "P5" or "P6", whitespace, width, whitespace, height, whitespace, maxval,
// then exactly one whitespace character, then width*height bytes. Anywhere whitespace may
// appear in the header, '#' starts a comment that runs to the end of the line.
#include <string>

#include "src/io/detail.hpp"
#include "src/io/images.hpp"

namespace bbans::io {
namespace {

bool is_pnm_space(std::uint8_t c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

class HeaderCursor {
public:
    HeaderCursor(std::span<const std::uint8_t> bytes, const char* kind) : bytes_(bytes), kind_(kind) {}

    std::size_t position() const { return pos_; }
    bool at_end() const { return pos_ >= bytes_.size(); }
    std::uint8_t peek() const { return bytes_[pos_]; }
    void advance() { ++pos_; }

    void skip_comment() {
        while (!at_end() && peek() != '\n' && peek() != '\r') advance();
    }

    void skip_space_and_comments() {
        while (!at_end()) {
            if (is_pnm_space(peek())) {
                advance();
            } else if (peek() == '#') {
                skip_comment();
            } else {
                break;
            }
        }
    }

    // A decimal field of the header, after optional whitespace and comments.
    Expected<std::uint32_t> number(const char* what) {
        skip_space_and_comments();
        if (at_end()) return make_error(std::string(kind_) + ": truncated header (no " + what + ")");
        if (peek() < '0' || peek() > '9')
            return make_error(std::string(kind_) + ": expected a number for the " + what + " at byte " +
                              std::to_string(pos_));
        std::uint64_t value = 0;
        while (!at_end() && peek() >= '0' && peek() <= '9') {
            value = value * 10 + (peek() - '0');
            if (value > UINT32_MAX) return make_error(std::string(kind_) + ": " + what + " is too large");
            advance();
        }
        return static_cast<std::uint32_t>(value);
    }

private:
    std::span<const std::uint8_t> bytes_;
    const char* kind_;
    std::size_t pos_ = 0;
};

Status check_pgm_magic(std::span<const std::uint8_t> bytes) {
    if (bytes.size() < 2 || bytes[0] != 'P') return make_error("PGM: not a PGM file (no P5 magic)");
    switch (bytes[1]) {
        case '5': return Ok{};
        case '2': return make_error("PGM: plain (ASCII, P2) PGM is not supported; only binary P5");
        case '3':
        case '6': return make_error("PGM: the file is a colour PPM image; only grayscale (P5) is supported");
        case '1':
        case '4': return make_error("PGM: the file is a PBM bitmap; only 8-bit grayscale (P5) is supported");
        case '7': return make_error("PGM: PAM (P7) is not supported; only binary PGM (P5)");
        default: return make_error("PGM: not a PGM file (no P5 magic)");
    }
}

Status check_ppm_magic(std::span<const std::uint8_t> bytes) {
    if (bytes.size() < 2 || bytes[0] != 'P') return make_error("PPM: not a PPM file (no P6 magic)");
    if (bytes[1] == '6') return Ok{};
    if (bytes[1] == '3') return make_error("PPM: plain (ASCII, P3) PPM is not supported; only binary P6");
    return make_error("PPM: not a PPM file (no P6 magic)");
}

Status check_maxval(std::uint32_t maxval, const std::string& kind) {
    if (maxval == 0 || maxval > 65535) return make_error(kind + ": invalid maxval " + std::to_string(maxval));
    if (maxval > 255) return make_error(kind + ": 16-bit samples (maxval " + std::to_string(maxval) + ") are not supported; only maxval 255");
    if (maxval != 255) return make_error(kind + ": maxval " + std::to_string(maxval) + " is not supported; only 255 (8-bit)");
    return Ok{};
}

// After maxval comes exactly one whitespace byte (or a comment, whose line end is that byte).
Status skip_raster_delimiter(HeaderCursor& cursor, const std::string& kind) {
    if (cursor.at_end()) return make_error(kind + ": truncated header (nothing after maxval)");
    if (cursor.peek() == '#') cursor.skip_comment();
    if (cursor.at_end()) return make_error(kind + ": truncated header (nothing after maxval)");
    if (!is_pnm_space(cursor.peek())) return make_error(kind + ": expected whitespace after maxval");
    cursor.advance();
    return Ok{};
}

// The header (magic already checked) of a P5 or P6 file with `channels` samples a pixel, from
// the file's first bytes, and the raster's size checked against the file's (`file_size` bytes).
Expected<NetpbmHeader> parse_netpbm_header(std::span<const std::uint8_t> head, std::uint64_t file_size, std::uint32_t channels,
                                           const char* kind) {
    HeaderCursor cursor(head.subspan(2), kind);
    auto width = cursor.number("width");
    if (!width) return width.error();
    auto height = cursor.number("height");
    if (!height) return height.error();
    auto maxval = cursor.number("maxval");
    if (!maxval) return maxval.error();
    const std::string k = kind;
    if (*width == 0 || *height == 0)
        return make_error(k + ": zero image size " + std::to_string(*width) + "x" + std::to_string(*height));
    if (auto ok = check_maxval(*maxval, k); !ok) return ok.error();
    if (auto ok = skip_raster_delimiter(cursor, k); !ok) return ok.error();

    const std::uint64_t header = 2 + cursor.position();
    if (header > file_size || head.size() > file_size) return make_error(k + ": the header is longer than the file");
    const std::uint64_t raster = file_size - header;
    // width * height * channels: checked, since 3 * (2^32-1)^2 does not fit in 64 bits.
    const auto needed = detail::checked_mul(*width, *height, channels);
    if (!needed || raster < *needed)
        return make_error(k + ": truncated raster (" + std::to_string(raster) + " of " +
                          (needed ? std::to_string(*needed) : std::string("too many")) + " bytes)");
    if (raster > *needed)
        return make_error(k + ": " + std::to_string(raster - *needed) +
                          " trailing bytes after the raster (one image per file is supported)");
    return NetpbmHeader{*height, *width, channels, static_cast<std::size_t>(header)};
}

// The header and raster of a whole P5 or P6 file.
Expected<ImageSet> parse_netpbm(std::span<const std::uint8_t> bytes, std::uint32_t channels, const char* kind) {
    auto h = parse_netpbm_header(bytes, bytes.size(), channels, kind);
    if (!h) return h.error();
    ImageSet set;
    set.rows = h->rows;
    set.cols = h->cols;
    set.count = 1;
    set.channels = channels;
    set.pixels.assign(bytes.begin() + static_cast<std::ptrdiff_t>(h->header_bytes), bytes.end());
    return set;
}

}  // namespace

Expected<ImageSet> parse_pgm(std::span<const std::uint8_t> bytes) {
    if (auto magic = check_pgm_magic(bytes); !magic) return magic.error();
    return parse_netpbm(bytes, 1, "PGM");
}

Expected<ImageSet> parse_ppm(std::span<const std::uint8_t> bytes) {
    if (auto magic = check_ppm_magic(bytes); !magic) return magic.error();
    return parse_netpbm(bytes, 3, "PPM");
}

Expected<NetpbmHeader> parse_pgm_header(std::span<const std::uint8_t> head, std::uint64_t file_size) {
    if (auto magic = check_pgm_magic(head); !magic) return magic.error();
    return parse_netpbm_header(head, file_size, 1, "PGM");
}

Expected<NetpbmHeader> parse_ppm_header(std::span<const std::uint8_t> head, std::uint64_t file_size) {
    if (auto magic = check_ppm_magic(head); !magic) return magic.error();
    return parse_netpbm_header(head, file_size, 3, "PPM");
}

}  // namespace bbans::io
