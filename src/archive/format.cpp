#include "src/archive/format.hpp"

#include <xxhash.h>

#include <algorithm>
#include <cstdio>
#include <set>
#include <string_view>

#include "bbans/bytes.hpp"
#include "src/compressor/byte_methods.hpp"
#include "src/io/png.hpp"

namespace bbans::archive {

namespace {
constexpr std::uint8_t kMagic[4] = {0x89, 'B', 'B', 'X'};
constexpr std::uint8_t kEndMagic[4] = {'B', 'B', 'X', '2'};
constexpr std::uint8_t kFlagMetadata = 1;
constexpr std::uint8_t kFlagRowUnits = 2;  // bits-back chunks count rows of the entry's one image
constexpr std::uint8_t kSampleU8 = 1;

std::uint32_t xxh32(std::span<const std::uint8_t> b) { return XXH32(b.data(), b.size(), 0); }
}  // namespace

const char* to_string(Kind k) {
    switch (k) {
        case Kind::file: return "file";
        case Kind::directory: return "directory";
        case Kind::image_set: return "image set";
    }
    return "unknown";
}

const char* to_string(Method m) {
    switch (m) {
        case Method::stored: return "stored";
        case Method::zstd: return "zstd";
        case Method::xz: return "xz";
        case Method::bits_back: return "bits-back";
    }
    return "unknown";
}

const char* to_string(Layout l) {
    switch (l) {
        case Layout::none: return "bytes";
        case Layout::idx: return "IDX";
        case Layout::raw: return "raw";
        case Layout::pgm: return "PGM";
        case Layout::png: return "PNG";
        case Layout::ppm: return "PPM";
    }
    return "unknown";
}

std::optional<Method> method_from_string(const std::string& name) {
    for (Method m : {Method::stored, Method::zstd, Method::xz, Method::bits_back})
        if (name == to_string(m)) return m;
    return std::nullopt;
}

std::string to_hex(const ModelId& id) {
    std::string s;
    char buf[3];
    for (std::uint8_t b : id) {
        std::snprintf(buf, sizeof buf, "%02x", b);
        s += buf;
    }
    return s;
}

std::uint64_t xxh64(std::span<const std::uint8_t> bytes) { return XXH64(bytes.data(), bytes.size(), 0); }

std::string printable(std::string_view name) {
    std::string out;
    char buf[8];
    for (const char ch : name) {
        const auto b = static_cast<unsigned char>(ch);
        if (b < 0x20 || b == 0x7f || b == '\\') {
            std::snprintf(buf, sizeof buf, "\\x%02x", b);
            out += buf;
        } else {
            out += ch;
        }
    }
    return out;
}

bool valid_name(const std::string& name) {
    if (name.empty() || name.size() > kMaxNameLength || name.front() == '/') return false;
    if (name.find('\0') != std::string::npos) return false;
    std::size_t start = 0;
    while (true) {
        const std::size_t end = name.find('/', start);
        const std::string_view part = std::string_view(name).substr(start, end == std::string::npos ? std::string::npos : end - start);
        if (part.empty() || part == "." || part == "..") return false;
        if (end == std::string::npos) return true;
        start = end + 1;
    }
}

std::vector<std::uint8_t> write_header() {
    std::vector<std::uint8_t> out;
    ByteWriter w(out);
    w.bytes(kMagic);
    w.u8(kVersion);
    w.u8(0), w.u16(0);
    w.u32(0);
    w.u32(xxh32(out));
    return out;
}

std::vector<std::uint8_t> write_trailer(std::uint64_t directory_offset, std::span<const std::uint8_t> directory) {
    std::vector<std::uint8_t> out;
    ByteWriter w(out);
    w.u64(directory_offset);
    w.u64(directory.size());
    w.u64(xxh64(directory));
    w.bytes(kEndMagic);
    w.u32(xxh32(out));
    return out;
}

std::vector<std::uint8_t> write_directory(std::span<const Entry> entries) {
    std::vector<std::uint8_t> out;
    ByteWriter w(out);
    w.u32(static_cast<std::uint32_t>(entries.size()));
    for (const Entry& e : entries) {
        w.u8(static_cast<std::uint8_t>(e.kind));
        w.u8(static_cast<std::uint8_t>(e.method));
        w.u8(static_cast<std::uint8_t>(e.layout));
        w.u8(static_cast<std::uint8_t>((e.has_metadata ? kFlagMetadata : 0) | (e.row_units ? kFlagRowUnits : 0)));
        w.u32(e.has_metadata ? e.mode & 07777 : 0);
        w.u64(e.has_metadata ? static_cast<std::uint64_t>(e.mtime_sec) : 0);
        w.u32(e.has_metadata ? e.mtime_nsec : 0);
        w.u16(static_cast<std::uint16_t>(e.name.size()));
        w.bytes(std::span(reinterpret_cast<const std::uint8_t*>(e.name.data()), e.name.size()));
        w.u64(e.original_size);
        w.u64(e.checksum);
        if (e.images) {
            const ImageLayout& l = *e.images;
            w.u32(l.rows), w.u32(l.cols);
            w.u8(l.channels), w.u8(kSampleU8), w.u16(0);
            w.u64(l.count);
            w.u32(static_cast<std::uint32_t>(l.prefix.size())), w.bytes(l.prefix);
            w.u32(static_cast<std::uint32_t>(l.suffix.size())), w.bytes(l.suffix);
            const auto attributes = l.attributes_field();
            w.u32(static_cast<std::uint32_t>(attributes.size())), w.bytes(attributes);
        }
        if (e.model) {
            w.bytes(e.model->identity);
            w.u8(static_cast<std::uint8_t>(e.model->name.size()));
            w.bytes(std::span(reinterpret_cast<const std::uint8_t*>(e.model->name.data()), e.model->name.size()));
            w.u8(e.model->lanes);
            w.u8(e.model->planes), w.u8(static_cast<std::uint8_t>(e.model->scale_offset)), w.u8(0);
        }
        w.u32(static_cast<std::uint32_t>(e.chunks.size()));
        for (const ChunkRecord& c : e.chunks) {
            w.u64(c.offset), w.u64(c.stored_size), w.u64(c.first), w.u64(c.count);
            w.u32(c.seed_images), w.u32(0);
            w.u64(c.stored_checksum), w.u64(c.original_checksum);
        }
    }
    return out;
}

std::optional<std::uint8_t> peek_version(std::span<const std::uint8_t> b) {
    if (b.size() < 5 || !std::equal(kMagic, kMagic + 4, b.begin())) return std::nullopt;
    return b[4];
}

Status parse_header(std::span<const std::uint8_t> h) {
    if (h.size() < 4 || !std::equal(kMagic, kMagic + 4, h.begin())) return make_error("not a .bbx file (bad magic)");
    if (h.size() < kHeaderSize) return make_error(".bbx file truncated in its header");
    if (h[4] != kVersion)
        return make_error(".bbx format version " + std::to_string(h[4]) + " is not supported (this bbans reads versions 1 and 2)");
    ByteReader r(h.subspan(5));
    std::uint8_t r0 = 0;
    std::uint16_t r1 = 0;
    std::uint32_t flags = 0, sum = 0;
    (void)(r.u8(r0) && r.u16(r1) && r.u32(flags) && r.u32(sum));
    if (sum != xxh32(h.first(12))) return make_error(".bbx header is corrupt (header checksum mismatch)");
    if (r0 != 0 || r1 != 0) return make_error(".bbx header has reserved bytes set");
    if (flags != 0) return make_error(".bbx header has undefined flags set");
    return Ok{};
}

Expected<Trailer> parse_trailer(std::span<const std::uint8_t> t, std::uint64_t file_size) {
    if (file_size < kHeaderSize + kTrailerSize || t.size() != kTrailerSize)
        return make_error(".bbx file is truncated (too short for a version 2 archive)");
    Trailer tr;
    ByteReader r(t);
    std::span<const std::uint8_t> magic;
    std::uint32_t sum = 0;
    (void)(r.u64(tr.directory_offset) && r.u64(tr.directory_size) && r.u64(tr.directory_checksum) && r.bytes(4, magic) && r.u32(sum));
    if (!std::equal(kEndMagic, kEndMagic + 4, magic.begin()) || sum != xxh32(t.first(28)))
        return make_error(".bbx file is truncated or corrupt at its end (no valid trailer)");
    const std::uint64_t end = file_size - kTrailerSize;
    if (tr.directory_offset < kHeaderSize || tr.directory_offset > end || tr.directory_size != end - tr.directory_offset)
        return make_error(".bbx trailer's directory position does not fit the file (truncated or corrupt)");
    if (tr.directory_size > kMaxDirectorySize) return make_error(".bbx directory is larger than 1 GiB");
    return tr;
}

namespace {

bool read_string(ByteReader& r, std::size_t n, std::string& out) {
    std::span<const std::uint8_t> b;
    if (!r.bytes(n, b)) return false;
    out.assign(reinterpret_cast<const char*>(b.data()), b.size());
    return true;
}

// Version 2 of the PNG attributes field: u8 2 | u8 method (1 zstd, 2 xz) | u32 length of the
// version 1 attributes | one zstd frame or xz stream of them, nothing after it.
constexpr std::uint8_t kPackedAttributesVersion = 2;
constexpr std::size_t kPackedAttributesHeader = 6;

bool read_blob(ByteReader& r, std::vector<std::uint8_t>& out) {
    std::uint32_t n = 0;
    std::span<const std::uint8_t> b;
    if (!r.u32(n) || !r.bytes(n, b)) return false;
    out.assign(b.begin(), b.end());
    return true;
}

}  // namespace

std::optional<std::vector<std::uint8_t>> pack_attributes(std::span<const std::uint8_t> attributes, int zstd_level) {
    std::optional<std::vector<std::uint8_t>> best;
    for (const Method m : {Method::zstd, Method::xz}) {
        auto packed = m == Method::zstd ? bytes_codec::zstd_compress(attributes, zstd_level) : bytes_codec::xz_compress(attributes);
        if (!packed || kPackedAttributesHeader + packed->size() >= (best ? best->size() : attributes.size())) continue;
        std::vector<std::uint8_t> field;
        ByteWriter w(field);
        w.u8(kPackedAttributesVersion), w.u8(static_cast<std::uint8_t>(m)), w.u32(static_cast<std::uint32_t>(attributes.size()));
        w.bytes(*packed);
        best = std::move(field);
    }
    return best;
}

Expected<std::vector<std::uint8_t>> unpack_attributes(std::span<const std::uint8_t> field) {
    if (field.empty() || field[0] != kPackedAttributesVersion) return std::vector<std::uint8_t>(field.begin(), field.end());
    ByteReader r(field);
    std::uint8_t version = 0, method = 0;
    std::uint32_t n = 0;
    if (!(r.u8(version) && r.u8(method) && r.u32(n))) return make_error("packed PNG attributes are truncated");
    if (method != static_cast<std::uint8_t>(Method::zstd) && method != static_cast<std::uint8_t>(Method::xz))
        return make_error("packed PNG attributes have unknown method " + std::to_string(method));
    if (n == 0 || n > io::kMaxPngAttributesBytes) return make_error("packed PNG attributes have an invalid length");
    const auto stream = field.subspan(kPackedAttributesHeader);
    auto out = method == static_cast<std::uint8_t>(Method::zstd) ? bytes_codec::zstd_decompress(stream, n) : bytes_codec::xz_decompress(stream, n);
    if (!out) return make_error("packed PNG attributes: " + out.error().message);
    if (!out->empty() && (*out)[0] == kPackedAttributesVersion) return make_error("packed PNG attributes hold packed attributes");
    return out;
}

namespace {

// One entry; `where` names it in errors. `data_end` is where chunk data must end (the directory
// offset); `cursor` is where the previous chunk's data ended.
Expected<Entry> parse_entry(ByteReader& r, const std::string& where, std::uint64_t data_end, std::uint64_t& cursor) {
    auto bad = [&](const std::string& what) { return make_error(".bbx directory: " + where + ": " + what); };
    Entry e;
    std::uint8_t kind = 0, method = 0, layout = 0, flags = 0;
    std::uint64_t mtime = 0;
    std::uint16_t name_len = 0;
    if (!(r.u8(kind) && r.u8(method) && r.u8(layout) && r.u8(flags) && r.u32(e.mode) && r.u64(mtime) && r.u32(e.mtime_nsec) &&
          r.u16(name_len) && read_string(r, name_len, e.name) && r.u64(e.original_size) && r.u64(e.checksum)))
        return bad("truncated");
    if (kind < 1 || kind > 3) return bad("unknown kind " + std::to_string(kind));
    if (method > 3) return bad("unknown method " + std::to_string(method));
    if (layout > 5) return bad("unknown layout " + std::to_string(layout));
    if (flags & ~(kFlagMetadata | kFlagRowUnits)) return bad("undefined flags set");
    e.kind = static_cast<Kind>(kind);
    e.method = static_cast<Method>(method);
    e.layout = static_cast<Layout>(layout);
    e.has_metadata = flags & kFlagMetadata;
    e.row_units = flags & kFlagRowUnits;
    e.mtime_sec = static_cast<std::int64_t>(mtime);
    if (!e.has_metadata && (e.mode != 0 || mtime != 0 || e.mtime_nsec != 0)) return bad("metadata without its flag");
    if (e.mode & ~07777u) return bad("mode has bits beyond 07777");
    if (e.mtime_nsec >= 1000000000u) return bad("mtime nanoseconds out of range");
    if (e.kind == Kind::image_set ? !e.name.empty() && !valid_name(e.name) : !valid_name(e.name))
        return bad("invalid name (empty, absolute, '.' or '..' component, or NUL)");
    if (e.original_size > kMaxOriginalSize) return bad("original size over 2^50 bytes");
    if (e.kind == Kind::directory && (e.method != Method::stored || e.layout != Layout::none || e.original_size != 0 ||
                                      e.checksum != XXH64(nullptr, 0, 0)))
        return bad("a directory entry with content");
    if (e.kind == Kind::image_set && e.layout != Layout::raw) return bad("an image set needs the raw layout");
    if (e.method == Method::bits_back && e.layout == Layout::none) return bad("bits-back without an image layout");

    if (e.layout != Layout::none) {
        ImageLayout l;
        std::uint8_t sample = 0;
        std::uint16_t reserved = 0;
        if (!(r.u32(l.rows) && r.u32(l.cols) && r.u8(l.channels) && r.u8(sample) && r.u16(reserved) && r.u64(l.count) &&
              read_blob(r, l.prefix) && read_blob(r, l.suffix) && read_blob(r, l.attributes)))
            return bad("truncated in its image layout");
        if (e.layout == Layout::png && !l.attributes.empty() && l.attributes[0] == kPackedAttributesVersion) {
            auto unpacked = unpack_attributes(l.attributes);
            if (!unpacked) return bad(unpacked.error().message);
            l.packed_attributes = std::move(l.attributes);
            l.attributes = std::move(*unpacked);
        }
        if (l.rows == 0 || l.cols == 0 || l.count == 0) return bad("empty image layout");
        const std::uint8_t channels = e.layout == Layout::ppm ? 3 : 1;
        if (e.layout == Layout::raw ? l.channels < 1 || l.channels > 4 : e.layout != Layout::png && l.channels != channels)
            return bad("a " + std::string(to_string(e.layout)) + " layout with " + std::to_string(l.channels) + " channels");
        if (sample != kSampleU8) return bad("unknown sample format " + std::to_string(sample));
        if (reserved != 0) return bad("reserved layout bytes set");
        if (e.layout != Layout::png && !l.attributes.empty()) return bad("image attributes are only defined for the PNG layout");
        if (e.layout == Layout::idx && (l.prefix.size() != 16 || !l.suffix.empty())) return bad("an IDX layout needs a 16-byte header");
        if (e.layout == Layout::raw && (!l.prefix.empty() || !l.suffix.empty())) return bad("a raw layout has a prefix or suffix");
        if ((e.layout == Layout::pgm || e.layout == Layout::ppm) && (l.prefix.size() < 7 || !l.suffix.empty() || l.count != 1))
            return bad("a " + std::string(to_string(e.layout)) + " layout needs its header and exactly one image");
        if (e.layout == Layout::png) {
            if (!l.prefix.empty() || !l.suffix.empty() || l.count != 1) return bad("a PNG layout needs exactly one image, no prefix or suffix");
            if (l.attributes.empty()) return bad("a PNG layout needs its attributes");
            auto png = io::parse_png_attributes(l.attributes);
            if (!png) return bad(png.error().message);
            if (png->width != l.cols || png->height != l.rows || png->channels() != l.channels)
                return bad("PNG attributes do not match the image layout");
            if (e.original_size == 0) return bad("a PNG layout with an empty original");
        }
        const std::uint64_t per = l.image_bytes();
        const std::uint64_t fixed = l.prefix.size() + l.suffix.size();
        if (rebuilt_from_samples(e.layout) ? l.count > kMaxOriginalSize / per
                                           : e.original_size < fixed || l.count > (e.original_size - fixed) / per ||
                                                 fixed + l.count * per != e.original_size)
            return bad("image layout does not add up to the original size");
        e.images = std::move(l);
    }
    if (e.method == Method::bits_back) {
        ModelRef m;
        std::span<const std::uint8_t> id;
        std::uint8_t name_n = 0;
        std::uint8_t offset = 0, r1 = 0;
        if (!(r.bytes(16, id) && r.u8(name_n) && read_string(r, name_n, m.name) && r.u8(m.lanes) && r.u8(m.planes) && r.u8(offset) &&
              r.u8(r1)))
            return bad("truncated in its model block");
        std::copy(id.begin(), id.end(), m.identity.begin());
        if (m.lanes == 0) return bad("0 lanes");
        if (m.planes != 0 && (m.planes < 2 || m.planes != e.images->channels))
            return bad("codes " + std::to_string(m.planes) + " planes of images with " + std::to_string(e.images->channels) + " channels");
        m.scale_offset = static_cast<std::int8_t>(offset);
        if (m.scale_offset == -128) return bad("scale offset -128 (out of range -127..127)");
        if (r1 != 0) return bad("reserved model byte set");
        e.model = std::move(m);
    }

    std::uint32_t nchunks = 0;
    if (!r.u32(nchunks)) return bad("truncated before its chunks");
    if (static_cast<std::uint64_t>(nchunks) * kChunkRecordSize > r.remaining()) return bad("truncated in its chunk records");
    // Bits-back: images. Methods 0-2: the original's bytes, or the samples' of a rebuilt layout.
    if (e.row_units && (e.method != Method::bits_back || e.images->count != 1)) return bad("row units without one bits-back image");
    const std::uint64_t units = e.method == Method::bits_back            ? (e.row_units ? e.images->rows : e.images->count)
                                : rebuilt_from_samples(e.layout) ? e.images->count * e.images->image_bytes()
                                                                 : e.original_size;
    std::uint64_t next = 0;
    e.chunks.resize(nchunks);
    for (std::uint32_t i = 0; i < nchunks; ++i) {
        ChunkRecord& c = e.chunks[i];
        std::uint32_t reserved = 0;
        (void)(r.u64(c.offset) && r.u64(c.stored_size) && r.u64(c.first) && r.u64(c.count) && r.u32(c.seed_images) && r.u32(reserved) &&
               r.u64(c.stored_checksum) && r.u64(c.original_checksum));
        const std::string ci = "chunk " + std::to_string(i);
        if (reserved != 0) return bad(ci + " has reserved bytes set");
        if (c.first != next || c.count == 0 || c.count > units - next) return bad(ci + " does not continue where the previous chunk ended");
        next += c.count;
        if (c.offset < cursor || c.offset > data_end || c.stored_size > data_end - c.offset)
            return bad(ci + " lies outside the chunk data or overlaps another chunk");
        cursor = c.offset + c.stored_size;
        if (c.stored_size > kMaxChunkBytes) return bad(ci + " is larger than 1 GiB");
        if (e.method == Method::bits_back) {
            // Seed images, or with row units seed bands (at most one per row).
            if (c.seed_images == 0 || c.seed_images > c.count) return bad(ci + " has an invalid seed image count");
            const std::uint64_t unit_bytes = e.row_units ? e.images->image_bytes() / e.images->rows : e.images->image_bytes();
            if (c.count > kMaxChunkBytes / unit_bytes) return bad(ci + " holds more than 1 GiB of images");
        } else {
            if (c.seed_images != 0) return bad(ci + " has seed images but is not bits-back");
            if (c.count > kMaxChunkBytes) return bad(ci + " holds more than 1 GiB");
            if (e.method == Method::stored && c.stored_size != c.count) return bad(ci + " is stored but its sizes differ");
        }
    }
    if (next != units) return bad("chunks do not cover the entry");
    return e;
}

}  // namespace

Expected<std::vector<Entry>> parse_directory(std::span<const std::uint8_t> dir, const Trailer& trailer) {
    if (dir.size() != trailer.directory_size || xxh64(dir) != trailer.directory_checksum)
        return make_error(".bbx directory is corrupt (directory checksum mismatch)");
    ByteReader r(dir);
    std::uint32_t n = 0;
    if (!r.u32(n)) return make_error(".bbx directory: truncated");
    if (n > kMaxEntries) return make_error(".bbx directory: more than 2^24 entries");
    std::vector<Entry> entries;
    std::set<std::string> names;
    std::uint64_t cursor = kHeaderSize, unpacked = 0;
    for (std::uint32_t i = 0; i < n; ++i) {
        auto e = parse_entry(r, "entry " + std::to_string(i), trailer.directory_offset, cursor);
        if (!e) return e.error();
        if (!e->name.empty() && !names.insert(e->name).second)
            return make_error(".bbx directory: entry " + std::to_string(i) + ": duplicate name '" + printable(e->name) + "'");
        // Packed attributes may not unpack to more than the directory's limit in all: a small
        // directory cannot ask for unbounded memory.
        if (e->images && !e->images->packed_attributes.empty()) {
            unpacked += e->images->attributes.size();
            if (unpacked > kMaxDirectorySize) return make_error(".bbx directory: packed PNG attributes unpack to more than 1 GiB in all");
        }
        entries.push_back(std::move(*e));
    }
    if (r.remaining() != 0) return make_error(".bbx directory: trailing bytes after the last entry");
    return entries;
}

}  // namespace bbans::archive
