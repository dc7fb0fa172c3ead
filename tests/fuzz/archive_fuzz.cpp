// Fuzz target: any bytes as a version 2 .bbx archive, into every reader of it.
//
// Invariants checked on every input (a violation prints the invariant and aborts, which
// libFuzzer and the replay test both report as a failure):
//  * ArchiveReader::open, extract and images never crash, hang or trip a sanitizer, and every
//    error they return is one non-empty line;
//  * a directory that parses writes back to the very same bytes (write_directory);
//  * extract succeeds only with output whose size and XXH64 are the entry's, and images() of
//    any range of an entry that extracted equals that range of its bytes;
//  * a successfully read archive recompresses and decompresses to the same entries.
// Random mutations almost never get past the checksums, so each input is also tried
// "repaired": header, trailer and directory checksums recomputed, and every chunk's stored
// checksum set to that of the (mutated) chunk bytes, so that hostile messages, zstd frames and
// xz streams reach the decoders. Bits-back entries decode with a tiny 8x8 model made for this
// (tests/fuzz/models/tiny-8x8.bbm), fast enough for 10^7 executions.
#include <xxhash.h>

#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

#include "src/archive/format.hpp"
#include "src/compressor/compressor.hpp"
#include "src/io/png.hpp"
#include "tests/fuzz/decompress_fuzz.hpp"

#define BBANS_FUZZ_TARGET "archive_fuzz"

namespace bbans::fuzz {
Stats& stats() {
    static Stats s;
    return s;
}
}  // namespace bbans::fuzz

namespace {

using namespace bbans;
using Bytes = std::vector<std::uint8_t>;
using ByteSpan = std::span<const std::uint8_t>;

const coding::CodingModel* tiny_model() {
    static const Expected<coding::CodingModel> model = coding::load_model(BBANS_FUZZ_TINY_MODEL);
    if (!model) fuzz::violated(BBANS_FUZZ_TARGET, model.error().message.c_str(), __FILE__, __LINE__);
    return &*model;
}

Expected<const coding::CodingModel*> resolve_model(const archive::ModelId& id) {
    const coding::CodingModel* m = tiny_model();
    if (m->identity() == id) return m;
    return make_error("model " + archive::to_hex(id) + " is not available");
}

// Bits-back entries of more images are only sampled (see check_archive).
constexpr std::uint64_t kMaxDecodedImages = 24;

void check_error(const Error& e) { fuzz::check_error(BBANS_FUZZ_TARGET, e); }

void put_le(Bytes& b, std::size_t at, std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) b[at + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v >> (8 * i));
}

std::uint64_t get_le(ByteSpan b, std::size_t at, int n) {
    std::uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | b[at + static_cast<std::size_t>(i)];
    return v;
}

// Header, directory and trailer checksums made to match; then, if the directory parses, every
// chunk's stored checksum too (the directory re-serialized, checksums recomputed again).
Bytes repaired(ByteSpan in) {
    Bytes f(in.begin(), in.end());
    if (f.size() < archive::kHeaderSize + archive::kTrailerSize) return f;
    put_le(f, 12, XXH32(f.data(), 12, 0), 4);
    const std::size_t t = f.size() - archive::kTrailerSize;
    const std::uint64_t end = t;
    std::uint64_t dir_off = get_le(f, t, 8);
    if (dir_off < archive::kHeaderSize || dir_off > end) dir_off = archive::kHeaderSize;
    auto seal = [&](Bytes& g) {
        const std::size_t tt = g.size() - archive::kTrailerSize;
        put_le(g, tt, dir_off, 8);
        put_le(g, tt + 8, tt - dir_off, 8);
        put_le(g, tt + 16, XXH64(g.data() + dir_off, tt - dir_off, 0), 8);
        g[tt + 24] = 'B', g[tt + 25] = 'B', g[tt + 26] = 'X', g[tt + 27] = '2';
        put_le(g, tt + 28, XXH32(g.data() + tt, 28, 0), 4);
    };
    seal(f);
    auto trailer = archive::parse_trailer(ByteSpan(f).subspan(t), f.size());
    if (!trailer) return f;
    auto entries = archive::parse_directory(ByteSpan(f).subspan(dir_off, t - dir_off), *trailer);
    if (!entries) return f;
    for (auto& e : *entries)
        for (auto& c : e.chunks) c.stored_checksum = XXH64(f.data() + c.offset, c.stored_size, 0);
    const Bytes dir = archive::write_directory(*entries);
    if (dir.size() != t - dir_off) return f;  // (cannot happen: same fields, same sizes)
    std::copy(dir.begin(), dir.end(), f.begin() + static_cast<std::ptrdiff_t>(dir_off));
    seal(f);
    return f;
}

// Every reader on one candidate archive. Returns whether every entry extracted.
bool check_archive(ByteSpan file) {
    archive::MemoryInput in(file);
    auto reader = ArchiveReader::open(in);
    if (!reader) {
        check_error(reader.error());
        return false;
    }
    // The directory as parsed writes back to its very bytes.
    {
        const std::size_t t = file.size() - archive::kTrailerSize;
        const std::uint64_t off = get_le(file, t, 8);
        const Bytes dir = archive::write_directory(reader->entries());
        FUZZ_CHECK(dir.size() == t - off);
        FUZZ_CHECK(std::equal(dir.begin(), dir.end(), file.begin() + static_cast<std::ptrdiff_t>(off)));
    }
    bool all = true;
    std::vector<Bytes> outputs;
    const auto& entries = reader->entries();
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const archive::Entry& e = entries[i];
        if (e.method == archive::Method::bits_back && e.images->count > kMaxDecodedImages) {
            // Keeps an execution short (10^7 of them under ASan): the first and last image only.
            for (std::uint64_t at : {std::uint64_t{0}, e.images->count - 1}) {
                auto one = reader->images(i, at, 1, resolve_model);
                if (!one) check_error(one.error());
                else FUZZ_CHECK(one->size() == e.images->image_bytes());
            }
            all = false;
            outputs.emplace_back();
            continue;
        }
        archive::MemoryOutput out;
        auto ok = reader->extract(i, out, resolve_model);
        if (!ok) {
            check_error(ok.error());
            all = false;
            outputs.emplace_back();
            // A range of images may still decode from chunks that are intact.
            if (e.images && e.images->count > 0) {
                auto some = reader->images(i, 0, 1, resolve_model);
                if (!some) check_error(some.error());
                else FUZZ_CHECK(some->size() == e.images->image_bytes());
            }
            continue;
        }
        if (e.method == archive::Method::bits_back) ++fuzz::stats().bits_back_decoded;
        if (e.images && archive::rebuilt_from_samples(e.layout)) {
            // A rebuilt PNG: the checksum is that of the samples and attributes, and the file
            // decodes to exactly those.
            const archive::ImageLayout& l = *e.images;
            auto samples = reader->images(i, 0, l.count, resolve_model);
            if (!samples) fuzz::violated(BBANS_FUZZ_TARGET, samples.error().message.c_str(), __FILE__, __LINE__);
            std::vector<std::uint8_t> hashed = *samples;
            hashed.insert(hashed.end(), l.attributes.begin(), l.attributes.end());
            FUZZ_CHECK(XXH64(hashed.data(), hashed.size(), 0) == e.checksum);
            auto png = io::read_png(out.bytes());
            if (!png) fuzz::violated(BBANS_FUZZ_TARGET, png.error().message.c_str(), __FILE__, __LINE__);
            FUZZ_CHECK(png->image.pixels == *samples);
            FUZZ_CHECK(io::serialize_png_attributes(png->attributes) == l.attributes);
            outputs.push_back(std::move(out.bytes()));
            continue;
        }
        FUZZ_CHECK(out.bytes().size() == e.original_size);
        FUZZ_CHECK(XXH64(out.bytes().data(), out.bytes().size(), 0) == e.checksum);
        if (e.images) {
            const archive::ImageLayout& l = *e.images;
            const std::uint64_t a = l.count / 3, n = (l.count - a + 1) / 2;
            auto some = reader->images(i, a, n, resolve_model);
            if (!some) fuzz::violated(BBANS_FUZZ_TARGET, some.error().message.c_str(), __FILE__, __LINE__);
            FUZZ_CHECK(some->size() == n * l.image_bytes());
            FUZZ_CHECK(std::equal(some->begin(), some->end(),
                                  out.bytes().begin() + static_cast<std::ptrdiff_t>(l.prefix.size() + a * l.image_bytes())));
        }
        outputs.push_back(std::move(out.bytes()));
    }
    if (!all) return false;
    // What was read recompresses (stored, whatever it was) and reads back the same.
    archive::MemoryOutput again;
    ArchiveWriter w(again);
    CompressOptions o;
    o.method = archive::Method::stored;
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const archive::Entry& e = entries[i];
        if (e.kind == archive::Kind::directory) {
            FUZZ_CHECK(w.add_directory({e.kind, e.name, e.has_metadata, e.mode, e.mtime_sec, e.mtime_nsec}).has_value());
            continue;
        }
        archive::MemoryInput content(outputs[i]);
        CompressOptions oi = o;
        if (e.kind == archive::Kind::image_set) oi.raw_shape = io::Shape{e.images->rows, e.images->cols};
        auto s = w.add({e.kind, e.name, e.has_metadata, e.mode, e.mtime_sec, e.mtime_nsec}, content, oi, std::span<const NamedModel>{});
        if (!s) fuzz::violated(BBANS_FUZZ_TARGET, s.error().message.c_str(), __FILE__, __LINE__);
    }
    FUZZ_CHECK(w.finish().has_value());
    archive::MemoryInput back_in(again.bytes());
    auto back = ArchiveReader::open(back_in);
    if (!back) fuzz::violated(BBANS_FUZZ_TARGET, back.error().message.c_str(), __FILE__, __LINE__);
    FUZZ_CHECK(back->entries().size() == entries.size());
    for (std::size_t i = 0; i < entries.size(); ++i) {
        archive::MemoryOutput out;
        FUZZ_CHECK(back->extract(i, out, resolve_model).has_value());
        FUZZ_CHECK(out.bytes() == outputs[i]);
        FUZZ_CHECK(back->entries()[i].name == entries[i].name);
    }
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const ByteSpan input(data, size);
    ++fuzz::stats().inputs;
    if (check_archive(input)) ++fuzz::stats().decoded;
    else ++fuzz::stats().rejected;
    if (size >= archive::kHeaderSize + archive::kTrailerSize) {
        const Bytes r = repaired(input);
        if (r != Bytes(input.begin(), input.end()) && check_archive(r)) ++fuzz::stats().repaired_decoded;
    }
    return 0;
}
