// Binary PGM (Netpbm P5) with maxval 255: one image per file.
//
// Header grammar (Netpbm): "P5", whitespace, width, whitespace, height, whitespace, maxval,
// then exactly one whitespace character, then width*height bytes. Anywhere whitespace may
// appear in the header, '#' starts a comment that runs to the end of the line.
#include <string>

#include "src/io/images.hpp"

namespace bbans::io {
namespace {

bool is_pnm_space(std::uint8_t c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

class HeaderCursor {
public:
    explicit HeaderCursor(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}

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
        if (at_end()) return make_error(std::string("PGM: truncated header (no ") + what + ")");
        if (peek() < '0' || peek() > '9')
            return make_error(std::string("PGM: expected a number for the ") + what + " at byte " +
                              std::to_string(pos_));
        std::uint64_t value = 0;
        while (!at_end() && peek() >= '0' && peek() <= '9') {
            value = value * 10 + (peek() - '0');
            if (value > UINT32_MAX) return make_error(std::string("PGM: ") + what + " is too large");
            advance();
        }
        return static_cast<std::uint32_t>(value);
    }

private:
    std::span<const std::uint8_t> bytes_;
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

Status check_maxval(std::uint32_t maxval) {
    if (maxval == 0 || maxval > 65535) return make_error("PGM: invalid maxval " + std::to_string(maxval));
    if (maxval > 255) return make_error("PGM: 16-bit samples (maxval " + std::to_string(maxval) + ") are not supported; only maxval 255");
    if (maxval != 255) return make_error("PGM: maxval " + std::to_string(maxval) + " is not supported; only 255 (8-bit)");
    return Ok{};
}

// After maxval comes exactly one whitespace byte (or a comment, whose line end is that byte).
Status skip_raster_delimiter(HeaderCursor& cursor) {
    if (cursor.at_end()) return make_error("PGM: truncated header (nothing after maxval)");
    if (cursor.peek() == '#') cursor.skip_comment();
    if (cursor.at_end()) return make_error("PGM: truncated header (nothing after maxval)");
    if (!is_pnm_space(cursor.peek())) return make_error("PGM: expected whitespace after maxval");
    cursor.advance();
    return Ok{};
}

}  // namespace

Expected<ImageSet> parse_pgm(std::span<const std::uint8_t> bytes) {
    if (auto magic = check_pgm_magic(bytes); !magic) return magic.error();
    HeaderCursor cursor(bytes.subspan(2));
    auto width = cursor.number("width");
    if (!width) return width.error();
    auto height = cursor.number("height");
    if (!height) return height.error();
    auto maxval = cursor.number("maxval");
    if (!maxval) return maxval.error();
    if (*width == 0 || *height == 0)
        return make_error("PGM: zero image size " + std::to_string(*width) + "x" + std::to_string(*height));
    if (auto ok = check_maxval(*maxval); !ok) return ok.error();
    if (auto ok = skip_raster_delimiter(cursor); !ok) return ok.error();

    const auto raster = bytes.subspan(2 + cursor.position());
    const std::uint64_t needed = std::uint64_t{*width} * *height;  // < 2^64: both factors < 2^32
    if (raster.size() < needed)
        return make_error("PGM: truncated raster (" + std::to_string(raster.size()) + " of " + std::to_string(needed) +
                          " bytes)");
    if (raster.size() > needed)
        return make_error("PGM: " + std::to_string(raster.size() - needed) +
                          " trailing bytes after the raster (one image per file is supported)");
    ImageSet set;
    set.rows = *height;
    set.cols = *width;
    set.count = 1;
    set.pixels.assign(raster.begin(), raster.end());
    return set;
}

}  // namespace bbans::io
