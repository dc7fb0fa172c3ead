#include "src/container/bbx.hpp"

#include <xxhash.h>

#include <algorithm>
#include <cstdio>

#include "bbans/bytes.hpp"
#include "src/compressor/byte_methods.hpp"

namespace bbans::container {

namespace {
constexpr std::uint8_t kMagic[4] = {0x89, 'B', 'B', 'X'};
}  // namespace

const char* to_string(Method m) {
    switch (m) {
        case Method::stored: return "stored";
        case Method::zstd: return "zstd";
        case Method::bits_back: return "bits-back";
    }
    return "unknown";
}

std::uint64_t content_checksum(std::span<const std::uint8_t> bytes) { return XXH64(bytes.data(), bytes.size(), 0); }

std::vector<std::uint8_t> write_header(const Header& h) {
    std::vector<std::uint8_t> out;
    out.reserve(kHeaderSize);
    ByteWriter w(out);
    w.bytes(kMagic);
    w.u8(kVersion);
    w.u8(static_cast<std::uint8_t>(h.method));
    w.u16(0);
    w.u64(h.original_size);
    w.u64(h.checksum);
    w.u64(h.payload_size);
    w.u32(h.payload_checksum);
    w.u32(XXH32(out.data(), out.size(), 0));
    return out;
}

Expected<Header> parse_header(std::span<const std::uint8_t> file) {
    if (file.size() < 4 || !std::equal(kMagic, kMagic + 4, file.begin())) return make_error("not a .bbx file (bad magic)");
    if (file.size() < kHeaderSize) return make_error(".bbx file truncated in its header");
    ByteReader r(file.subspan(4));
    std::uint8_t version = 0, method = 0;
    std::uint16_t flags = 0;
    std::uint32_t header_sum = 0;
    Header h;
    (void)(r.u8(version) && r.u8(method) && r.u16(flags) && r.u64(h.original_size) && r.u64(h.checksum) &&
           r.u64(h.payload_size) && r.u32(h.payload_checksum) && r.u32(header_sum));
    if (version != kVersion)
        return make_error(".bbx format version " + std::to_string(version) + " is not supported (this bbans reads version " +
                          std::to_string(kVersion) + ")");
    if (header_sum != XXH32(file.data(), kHeaderSize - 4, 0)) return make_error(".bbx header is corrupt (header checksum mismatch)");
    if (method > 2) return make_error(".bbx file uses unknown method " + std::to_string(method));
    if (flags != 0) return make_error(".bbx header has undefined flags set");
    h.method = static_cast<Method>(method);
    if (h.original_size > kMaxOriginalSize) return make_error(".bbx file claims an original size over 4 GiB");
    const std::uint64_t actual = file.size() - kHeaderSize;
    if (h.payload_size != actual)
        return make_error(h.payload_size > actual ? ".bbx file is truncated (payload shorter than its header says)"
                                                  : ".bbx file has trailing bytes after its payload");
    if (XXH32(file.data() + kHeaderSize, actual, 0) != h.payload_checksum)
        return make_error(".bbx payload is corrupt (payload checksum mismatch)");
    return h;
}

std::vector<std::uint8_t> write_bits_back_payload(const BitsBackPayload& p) {
    std::vector<std::uint8_t> out;
    out.reserve(48 + p.header_bytes.size() + p.message.size());
    ByteWriter w(out);
    w.bytes(p.model);
    w.u8(static_cast<std::uint8_t>(p.layout));
    w.u8(p.lanes);
    w.u16(0);
    w.u32(p.rows);
    w.u32(p.cols);
    w.u64(p.count);
    w.u32(p.seed_images);
    w.u32(static_cast<std::uint32_t>(p.header_bytes.size()));
    w.bytes(p.header_bytes);
    w.u64(p.message.size());
    w.bytes(p.message);
    return out;
}

Expected<BitsBackPayload> parse_bits_back_payload(std::span<const std::uint8_t> payload) {
    ByteReader r(payload);
    BitsBackPayload p;
    std::span<const std::uint8_t> model, header, message;
    std::uint8_t layout = 0;
    std::uint16_t reserved = 0;
    std::uint32_t header_len = 0;
    std::uint64_t message_len = 0;
    if (!(r.bytes(16, model) && r.u8(layout) && r.u8(p.lanes) && r.u16(reserved) && r.u32(p.rows) && r.u32(p.cols) &&
          r.u64(p.count) && r.u32(p.seed_images) && r.u32(header_len)))
        return make_error("bits-back payload truncated in its fields");
    std::copy(model.begin(), model.end(), p.model.begin());
    if (layout != 1 && layout != 2) return make_error("bits-back payload has unknown layout " + std::to_string(layout));
    p.layout = static_cast<Layout>(layout);
    if (reserved != 0) return make_error("bits-back payload has reserved fields set");
    if (p.lanes == 0) return make_error("bits-back payload has 0 lanes");
    if (p.rows == 0 || p.cols == 0) return make_error("bits-back payload has an empty image shape");
    if (p.seed_images > p.count) return make_error("bits-back payload has more seed images than images");
    if (!r.bytes(header_len, header)) return make_error("bits-back payload truncated in the input header");
    p.header_bytes.assign(header.begin(), header.end());
    if (!r.u64(message_len)) return make_error("bits-back payload truncated before the message");
    if (message_len != r.remaining())
        return make_error(message_len > r.remaining() ? "bits-back message is truncated" : "bits-back payload has trailing bytes");
    (void)r.bytes(message_len, message);
    p.message.assign(message.begin(), message.end());
    return p;
}

std::vector<std::uint8_t> pack(Method method, std::span<const std::uint8_t> original, std::span<const std::uint8_t> payload) {
    std::vector<std::uint8_t> out = write_header(
        {method, original.size(), content_checksum(original), payload.size(), XXH32(payload.data(), payload.size(), 0)});
    out.insert(out.end(), payload.begin(), payload.end());
    return out;
}

Expected<std::vector<std::uint8_t>> compress_fallback(std::span<const std::uint8_t> input, int level) {
    if (input.size() > kMaxOriginalSize) return make_error("input is larger than 4 GiB");
    auto z = bytes_codec::zstd_compress(input, level);
    if (!z) return z.error();
    if (z->size() < input.size()) return pack(Method::zstd, input, *z);
    return pack(Method::stored, input, input);
}

namespace {
Expected<std::vector<std::uint8_t>> unzstd(std::span<const std::uint8_t> payload, std::uint64_t size) {
    auto out = bytes_codec::zstd_decompress(payload, size);
    if (!out) return make_error(".bbx payload: " + out.error().message);
    return out;
}
}  // namespace

Expected<std::vector<std::uint8_t>> decompress(std::span<const std::uint8_t> file, const BitsBackDecoder& decoder) {
    auto header = parse_header(file);
    if (!header) return header.error();
    const auto payload = file.subspan(kHeaderSize);
    Expected<std::vector<std::uint8_t>> out = make_error("");
    switch (header->method) {
        case Method::stored:
            if (payload.size() != header->original_size) return make_error(".bbx stored payload has the wrong size");
            out = std::vector<std::uint8_t>(payload.begin(), payload.end());
            break;
        case Method::zstd: out = unzstd(payload, header->original_size); break;
        case Method::bits_back: {
            auto p = parse_bits_back_payload(payload);
            if (!p) return p.error();
            const std::uint64_t pixels = std::uint64_t{p->rows} * p->cols;
            if (p->count > kMaxOriginalSize / pixels ||
                p->header_bytes.size() + pixels * p->count != header->original_size)
                return make_error("bits-back payload's image layout does not add up to the original size");
            if (!decoder) return make_error("this .bbx file needs model " + to_hex(p->model) + ", which is not available");
            out = decoder(*p, header->original_size);
            break;
        }
    }
    if (!out) return out.error();
    if (out->size() != header->original_size || content_checksum(*out) != header->checksum)
        return make_error(".bbx content checksum mismatch: the file is corrupt");
    return out;
}

Expected<Info> inspect(std::span<const std::uint8_t> file) {
    auto header = parse_header(file);
    if (!header) return header.error();
    Info info;
    info.header = *header;
    info.file_size = file.size();
    if (header->method == Method::bits_back) {
        auto p = parse_bits_back_payload(file.subspan(kHeaderSize));
        if (!p) return p.error();
        info.has_bits_back = true;
        info.message_size = p->message.size();
        info.bits_back = std::move(*p);
        info.bits_back.message.clear();
    }
    return info;
}

}  // namespace bbans::container
