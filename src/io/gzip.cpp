// gzip decompression through zlib, with an output cap (a small hostile file can inflate to
// about 1000 times its size, so the caller always states how much it is willing to hold).
#include <zlib.h>

#include <algorithm>
#include <climits>
#include <string>

#include "src/io/images.hpp"

namespace bbans::io {

bool is_gzip(std::span<const std::uint8_t> bytes) {
    // ID1 ID2 and CM = 8 (deflate, the only method RFC 1952 defines).
    return bytes.size() >= 3 && bytes[0] == 0x1F && bytes[1] == 0x8B && bytes[2] == 0x08;
}

namespace {

class Inflater {
public:
    Inflater() { ok_ = inflateInit2(&zs_, 16 + MAX_WBITS) == Z_OK; }  // 16+: gzip wrapper only
    ~Inflater() {
        if (ok_) inflateEnd(&zs_);
    }
    Inflater(const Inflater&) = delete;
    Inflater& operator=(const Inflater&) = delete;
    bool ok() const { return ok_; }
    z_stream& stream() { return zs_; }

private:
    z_stream zs_{};
    bool ok_ = false;
};

// zlib counts in uInt (32 bits), so large buffers are handed over in pieces.
constexpr std::size_t kMaxPiece = std::size_t{1} << 30;

uInt piece(std::size_t n) { return static_cast<uInt>(std::min(n, kMaxPiece)); }

std::string zlib_message(const z_stream& zs, const char* fallback) {
    return zs.msg ? std::string(zs.msg) : std::string(fallback);
}

}  // namespace

Expected<std::vector<std::uint8_t>> gunzip(std::span<const std::uint8_t> bytes, std::size_t max_output) {
    if (!is_gzip(bytes)) return make_error("gzip: not gzip data (bad magic)");
    Inflater inflater;
    if (!inflater.ok()) return make_error("gzip: zlib initialisation failed");
    z_stream& zs = inflater.stream();

    // One byte more than allowed, so that "exactly max_output" and "too much" differ.
    const std::size_t limit = max_output == SIZE_MAX ? SIZE_MAX : max_output + 1;
    std::vector<std::uint8_t> out;
    std::size_t fed = 0, produced = 0;
    for (;;) {
        if (zs.avail_in == 0 && fed < bytes.size()) {
            zs.next_in = const_cast<Bytef*>(bytes.data() + fed);  // zlib's API is not const-correct
            zs.avail_in = piece(bytes.size() - fed);
            fed += zs.avail_in;
        }
        if (zs.avail_out == 0) {
            if (out.size() >= limit)
                return make_error("gzip: decompressed data exceeds the limit of " + std::to_string(max_output) + " bytes");
            out.resize(std::min(limit, std::max<std::size_t>(out.size() * 2, 1 << 16)));
            zs.next_out = out.data() + produced;
            zs.avail_out = piece(out.size() - produced);
        }
        const uInt out_before = zs.avail_out;
        const int ret = inflate(&zs, Z_NO_FLUSH);
        produced += out_before - zs.avail_out;
        if (ret == Z_STREAM_END) {
            const std::size_t left = zs.avail_in + (bytes.size() - fed);
            if (left == 0) break;
            // Another member (as `cat a.gz b.gz` makes) is decoded too; anything else is an error.
            if (!is_gzip(bytes.subspan(bytes.size() - left)))
                return make_error("gzip: " + std::to_string(left) + " trailing bytes after the gzip stream");
            inflateReset(&zs);
            continue;
        }
        if (ret == Z_BUF_ERROR && zs.avail_in == 0 && fed == bytes.size())
            return make_error("gzip: truncated stream");
        if (ret == Z_DATA_ERROR || ret == Z_NEED_DICT) return make_error("gzip: corrupt data (" + zlib_message(zs, "data error") + ")");
        if (ret == Z_MEM_ERROR) return make_error("gzip: out of memory");
        if (ret != Z_OK && ret != Z_BUF_ERROR) return make_error("gzip: " + zlib_message(zs, "zlib error"));
    }
    if (produced > max_output)
        return make_error("gzip: decompressed data exceeds the limit of " + std::to_string(max_output) + " bytes");
    out.resize(produced);
    return out;
}

}  // namespace bbans::io
