#include "src/compressor/byte_methods.hpp"

#include <lzma.h>
#include <zstd.h>

#include <string>

namespace bbans::bytes_codec {

namespace {
// Neither zstd nor xz expands data beyond this ratio (zstd's RLE blocks: 4 bytes per 128 KiB;
// an .xz stream of zeros: about 1 byte per 7,000), so a claimed size beyond it is refused
// before anything is allocated.
constexpr std::uint64_t kMaxRatio = 1 << 16;

std::uint32_t le32(std::span<const std::uint8_t> b) {
    return b[0] | b[1] << 8 | b[2] << 16 | std::uint32_t{b[3]} << 24;
}
}  // namespace

Expected<std::vector<std::uint8_t>> zstd_compress(std::span<const std::uint8_t> in, int level) {
    std::vector<std::uint8_t> out(ZSTD_compressBound(in.size()));
    const std::size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), level);
    if (ZSTD_isError(n)) return make_error(std::string("zstd compression failed: ") + ZSTD_getErrorName(n));
    out.resize(n);
    return out;
}

Expected<std::vector<std::uint8_t>> zstd_decompress(std::span<const std::uint8_t> frame, std::uint64_t size) {
    if (size > (frame.size() + 1) * kMaxRatio) return make_error("zstd data is too small for the size it claims");
    if (frame.size() < 4 || le32(frame) != ZSTD_MAGICNUMBER) return make_error("zstd data is not a zstd frame");
    const std::size_t n = ZSTD_findFrameCompressedSize(frame.data(), frame.size());
    if (ZSTD_isError(n)) return make_error(std::string("zstd data is corrupt: ") + ZSTD_getErrorName(n));
    if (n != frame.size()) return make_error("zstd data has bytes after its frame");
    const unsigned long long content = ZSTD_getFrameContentSize(frame.data(), frame.size());
    if (content == ZSTD_CONTENTSIZE_ERROR) return make_error("zstd data is not a zstd frame");
    if (content != size) return make_error("zstd frame does not match the original size");
    std::vector<std::uint8_t> out(static_cast<std::size_t>(size));
    const std::size_t got = ZSTD_decompress(out.data(), out.size(), frame.data(), frame.size());
    if (ZSTD_isError(got)) return make_error(std::string("zstd data is corrupt: ") + ZSTD_getErrorName(got));
    if (got != size) return make_error("zstd frame decodes to the wrong size");
    return out;
}

Expected<std::vector<std::uint8_t>> xz_compress(std::span<const std::uint8_t> in, std::uint32_t preset, bool crc64) {
    std::vector<std::uint8_t> out(lzma_stream_buffer_bound(in.size()));
    std::size_t pos = 0;
    const lzma_ret r = lzma_easy_buffer_encode(preset | LZMA_PRESET_EXTREME, crc64 ? LZMA_CHECK_CRC64 : LZMA_CHECK_NONE, nullptr, in.data(), in.size(),
                                               out.data(), &pos, out.size());
    if (r != LZMA_OK) return make_error("xz compression failed (liblzma error " + std::to_string(static_cast<int>(r)) + ")");
    out.resize(pos);
    return out;
}

Expected<std::vector<std::uint8_t>> xz_decompress(std::span<const std::uint8_t> stream, std::uint64_t size) {
    if (size > (stream.size() + 1) * kMaxRatio) return make_error("xz data is too small for the size it claims");
    // One stream (no padding, no concatenation): the plain stream decoder stops at its end.
    lzma_stream s = LZMA_STREAM_INIT;
    if (lzma_stream_decoder(&s, std::uint64_t{1} << 31, 0) != LZMA_OK) return make_error("xz decoder could not start");
    // One byte more than `size` of room: a stream that fills it is longer than it should be.
    std::vector<std::uint8_t> out(static_cast<std::size_t>(size) + 1);
    s.next_in = stream.data();
    s.avail_in = stream.size();
    s.next_out = out.data();
    s.avail_out = out.size();
    lzma_ret r = LZMA_OK;
    while (r == LZMA_OK && s.avail_out > 0) r = lzma_code(&s, LZMA_FINISH);
    const std::size_t produced = out.size() - s.avail_out;
    const std::size_t left = s.avail_in;
    lzma_end(&s);
    if (produced > size) return make_error("xz stream decodes to more than the original size");
    if (r != LZMA_STREAM_END) return make_error("xz data is corrupt or truncated (liblzma error " + std::to_string(static_cast<int>(r)) + ")");
    if (left != 0) return make_error("xz data has bytes after its stream");
    if (produced != size) return make_error("xz stream decodes to the wrong size");
    out.pop_back();
    return out;
}

}  // namespace bbans::bytes_codec
