// The version 2 archive (docs/format.md): writer and reader round trips for every method and
// entry kind, chunking, thread-count independence, random access, and a reader that refuses
// every damaged or ill-formed archive with one line.
#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <numeric>
#include <random>
#include <set>

#include "src/archive/format.hpp"
#include "src/archive/pipeline.hpp"
#include "bbans/bbans.hpp"

namespace {

using namespace bbans;
using Bytes = std::vector<std::uint8_t>;

Bytes random_bytes(std::size_t n, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    Bytes b(n);
    for (auto& x : b) x = static_cast<std::uint8_t>(rng());
    return b;
}

Bytes text_bytes(std::size_t n) {
    const std::string line = "the quick brown fox jumps over the lazy dog 0123456789\n";
    Bytes b;
    while (b.size() < n) b.insert(b.end(), line.begin(), line.end());
    b.resize(n);
    return b;
}

const coding::CodingModel& tiny() {
    static const coding::CodingModel m = *coding::load_model(BBANS_TINY_MODEL);
    return m;
}

// n 8x8 images shaped like the tiny model's training data (MNIST centre crops): a blob.
Bytes tiny_images(std::size_t n, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    Bytes px(n * 64);
    for (std::size_t i = 0; i < n; ++i) {
        const int cr = static_cast<int>(rng() % 8), cc = static_cast<int>(rng() % 8);
        for (int r = 0; r < 8; ++r)
            for (int c = 0; c < 8; ++c) {
                const int d2 = (r - cr) * (r - cr) + (c - cc) * (c - cc);
                px[i * 64 + static_cast<std::size_t>(r * 8 + c)] = static_cast<std::uint8_t>(d2 < 6 ? 250 - 10 * d2 : 0);
            }
    }
    return px;
}

Expected<const coding::CodingModel*> resolve(const archive::ModelId& id) {
    if (id == tiny().identity()) return &tiny();
    return make_error("no such model");
}

struct Archive {
    Bytes bytes;
    std::vector<CompressSummary> summaries;
};

// One archive of entries (name, content, options).
struct Item {
    EntryMeta meta;
    Bytes content;
    CompressOptions options;
};

Archive write(std::vector<Item> items, std::span<const NamedModel> models = {}) {
    archive::MemoryOutput out;
    ArchiveWriter w(out);
    Archive a;
    for (Item& it : items) {
        if (it.meta.kind == archive::Kind::directory) {
            REQUIRE(w.add_directory(it.meta));
            continue;
        }
        archive::MemoryInput in(it.content);
        auto s = w.add(it.meta, in, it.options, models);
        if (!s) FAIL(s.error().message);
        a.summaries.push_back(*s);
    }
    REQUIRE(w.finish());
    a.bytes = std::move(out.bytes());
    return a;
}

Bytes extract(const Bytes& file, std::size_t i, unsigned threads = 1) {
    archive::MemoryInput in(file);
    auto r = ArchiveReader::open(in);
    if (!r) FAIL(r.error().message);
    archive::MemoryOutput out;
    auto ok = r->extract(i, out, resolve, threads);
    if (!ok) FAIL(ok.error().message);
    return std::move(out.bytes());
}

EntryMeta file(const std::string& name) {
    EntryMeta m;
    m.name = name;
    return m;
}

const NamedModel kTiny[] = {{"tiny-8x8", &tiny()}};

}  // namespace

TEST_CASE("archive: every method round-trips files of every size, in chunks", "[archive]") {
    for (auto method : {archive::Method::stored, archive::Method::zstd, archive::Method::xz}) {
        for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{1000}, std::size_t{100000}}) {
            CompressOptions o;
            o.method = method;
            o.chunk_bytes = 30000;  // several chunks for the largest
            const Bytes content = n % 2 ? random_bytes(n, n) : text_bytes(n);
            const Archive a = write({{file("f"), content, o}});
            REQUIRE(extract(a.bytes, 0) == content);
            archive::MemoryInput in(a.bytes);
            auto r = ArchiveReader::open(in);
            REQUIRE(r);
            const auto& e = r->entries()[0];
            CHECK(e.method == (n == 0 && method != archive::Method::stored ? method : method));
            CHECK(e.chunks.size() == (n + 29999) / 30000);
        }
    }
}

TEST_CASE("archive: the automatic choice takes the smallest of zstd, xz and stored", "[archive]") {
    const Archive text = write({{file("t"), text_bytes(50000), {}}});
    CHECK((text.summaries[0].method == archive::Method::zstd || text.summaries[0].method == archive::Method::xz));
    const Archive noise = write({{file("r"), random_bytes(5000, 7), {}}});
    CHECK(noise.summaries[0].method == archive::Method::stored);
    CHECK(noise.bytes.size() == archive::stored_archive_size(5000, 1));
}

TEST_CASE("archive: directories, files and image sets in one archive, names and metadata kept", "[archive]") {
    EntryMeta dir;
    dir.kind = archive::Kind::directory;
    dir.name = "root";
    dir.has_metadata = true;
    dir.mode = 0750;
    dir.mtime_sec = -5;  // before 1970
    dir.mtime_nsec = 999999999;
    EntryMeta f = file("root/a.txt");
    f.has_metadata = true;
    f.mode = 0600;
    f.mtime_sec = 1700000000;
    EntryMeta set;
    set.kind = archive::Kind::image_set;
    CompressOptions shape;
    shape.raw_shape = io::Shape{8, 8};
    const Bytes images = tiny_images(30, 1);
    const Archive a = write({{dir, {}, {}}, {f, text_bytes(3000), {}}, {set, images, shape}}, kTiny);
    archive::MemoryInput in(a.bytes);
    auto r = ArchiveReader::open(in);
    REQUIRE(r);
    const auto& es = r->entries();
    REQUIRE(es.size() == 3);
    CHECK(es[0].kind == archive::Kind::directory);
    CHECK(es[0].mode == 0750);
    CHECK(es[0].mtime_sec == -5);
    CHECK(es[0].mtime_nsec == 999999999);
    CHECK(es[1].name == "root/a.txt");
    CHECK(es[1].mode == 0600);
    CHECK(es[2].kind == archive::Kind::image_set);
    CHECK(es[2].name.empty());
    REQUIRE(es[2].images);
    CHECK(es[2].images->rows == 8);
    CHECK(es[2].images->count == 30);
    CHECK(extract(a.bytes, 1) == text_bytes(3000));
    CHECK(extract(a.bytes, 2) == images);
}

TEST_CASE("archive: bits-back chunks are the same bytes for 1, 2 and 7 threads", "[archive]") {
    const Bytes images = tiny_images(200, 2);
    CompressOptions o;
    o.raw_shape = io::Shape{8, 8};
    o.method = archive::Method::bits_back;
    o.chunk_images = 17;  // 12 chunks, the last one short
    std::vector<Bytes> files;
    for (unsigned t : {1u, 2u, 7u}) {
        o.threads = t;
        const Archive a = write({{file("digits.raw"), images, o}}, kTiny);
        CHECK(a.summaries[0].method == archive::Method::bits_back);
        CHECK(a.summaries[0].chunks == 12);
        CHECK(a.summaries[0].stats.seed_images == 12);
        files.push_back(a.bytes);
    }
    CHECK(files[0] == files[1]);
    CHECK(files[0] == files[2]);
    for (unsigned t : {1u, 3u}) CHECK(extract(files[0], 0, t) == images);
}

TEST_CASE("archive: a range of images decodes from its chunks alone", "[archive]") {
    const Bytes images = tiny_images(100, 3);
    CompressOptions o;
    o.raw_shape = io::Shape{8, 8};
    o.method = archive::Method::bits_back;
    o.chunk_images = 10;
    Archive a = write({{file("x"), images, o}}, kTiny);
    archive::MemoryInput in0(a.bytes);
    auto r0 = ArchiveReader::open(in0);
    REQUIRE(r0);
    const auto chunks = r0->entries()[0].chunks;
    // Damage chunk 0's data: ranges beyond it still decode; the whole entry does not.
    Bytes damaged = a.bytes;
    damaged[chunks[0].offset + chunks[0].stored_size / 2] ^= 0x20;
    archive::MemoryInput in(damaged);
    auto r = ArchiveReader::open(in);
    REQUIRE(r);
    for (auto [first, count] : {std::pair<std::uint64_t, std::uint64_t>{10, 1}, {15, 30}, {99, 1}, {10, 90}, {42, 0}}) {
        auto got = r->images(0, first, count, resolve);
        if (!got) FAIL(got.error().message);
        CHECK(*got == Bytes(images.begin() + static_cast<std::ptrdiff_t>(first * 64),
                            images.begin() + static_cast<std::ptrdiff_t>((first + count) * 64)));
    }
    auto bad = r->images(0, 5, 10, resolve);
    REQUIRE_FALSE(bad);
    CHECK_THAT(bad.error().message, Catch::Contains("chunk 0 is corrupt"));
    archive::MemoryOutput out;
    CHECK_FALSE(r->extract(0, out, resolve));
    CHECK_FALSE(r->images(0, 95, 6, resolve));  // beyond the end
}

TEST_CASE("archive: forced bits-back on what no model codes is an error; the model is named when missing", "[archive]") {
    CompressOptions o;
    o.method = archive::Method::bits_back;
    archive::MemoryOutput out;
    ArchiveWriter w(out);
    const Bytes text = text_bytes(100);
    archive::MemoryInput in(text);
    auto s = w.add(file("t"), in, o, kTiny);
    REQUIRE_FALSE(s);
    CHECK_THAT(s.error().message, Catch::Contains("bits-back"));

    o.raw_shape = io::Shape{8, 8};
    const Archive a = write({{file("x"), tiny_images(5, 4), o}}, kTiny);
    archive::MemoryInput ain(a.bytes);
    auto r = ArchiveReader::open(ain);
    REQUIRE(r);
    archive::MemoryOutput sink;
    auto missing = r->extract(0, sink, [](const archive::ModelId&) -> Expected<const coding::CodingModel*> { return make_error("gone"); });
    REQUIRE_FALSE(missing);
    CHECK_THAT(missing.error().message, Catch::Contains("needs model tiny-8x8 (identity " + tiny().identity_hex()));
}

TEST_CASE("archive: any truncation or any flipped byte is refused with one line", "[archive][hostile]") {
    CompressOptions o;
    o.raw_shape = io::Shape{8, 8};
    o.method = archive::Method::bits_back;
    o.chunk_images = 4;
    EntryMeta dir;
    dir.kind = archive::Kind::directory;
    dir.name = "d";
    const Archive a = write({{dir, {}, {}}, {file("d/img"), tiny_images(9, 5), o}, {file("d/t"), text_bytes(300), {}}}, kTiny);
    auto all_ok = [](const Bytes& f) -> Status {
        archive::MemoryInput in(f);
        auto r = ArchiveReader::open(in);
        if (!r) return r.error();
        for (std::size_t i = 0; i < r->entries().size(); ++i) {
            archive::MemoryOutput out;
            if (auto ok = r->extract(i, out, resolve); !ok) return ok;
        }
        return Ok{};
    };
    REQUIRE(all_ok(a.bytes));
    for (std::size_t n = 0; n < a.bytes.size(); ++n) {
        auto r = all_ok(Bytes(a.bytes.begin(), a.bytes.begin() + static_cast<std::ptrdiff_t>(n)));
        REQUIRE_FALSE(r);
        REQUIRE(r.error().message.find('\n') == std::string::npos);
    }
    for (std::size_t i = 0; i < a.bytes.size(); ++i) {
        Bytes f = a.bytes;
        f[i] ^= static_cast<std::uint8_t>(1u << (i % 8));
        auto r = all_ok(f);
        INFO("byte " << i);
        REQUIRE_FALSE(r);
        REQUIRE(!r.error().message.empty());
    }
}

namespace {
// A directory with the given entries, checksummed, behind a header; for rule tests.
Bytes archive_with(const std::vector<archive::Entry>& entries, std::size_t data_bytes = 0) {
    Bytes f = archive::write_header();
    f.resize(f.size() + data_bytes, 0);
    const std::uint64_t off = f.size();
    const Bytes dir = archive::write_directory(entries);
    f.insert(f.end(), dir.begin(), dir.end());
    const Bytes t = archive::write_trailer(off, dir);
    f.insert(f.end(), t.begin(), t.end());
    return f;
}

std::string open_error(const Bytes& f) {
    archive::MemoryInput in(f);
    auto r = ArchiveReader::open(in);
    return r ? std::string("(opened)") : r.error().message;
}

archive::Entry stored_entry(const std::string& name, std::uint64_t offset, std::uint64_t size) {
    archive::Entry e;
    e.name = name;
    e.original_size = size;
    e.chunks.push_back({offset, size, 0, size, 0, 0, 0});
    return e;
}
}  // namespace

TEST_CASE("archive: the directory rules of docs/format.md are enforced", "[archive][hostile]") {
    CHECK(open_error(archive_with({stored_entry("a", 16, 10)}, 10)) == "(opened)");
    for (const char* name : {"", "/abs", "a//b", "a/./b", "../up", "a/..", "x/"})
        CHECK_THAT(open_error(archive_with({stored_entry(name, 16, 0)})), Catch::Contains("invalid name"));
    CHECK_THAT(open_error(archive_with({stored_entry("a", 16, 5), stored_entry("a", 21, 5)}, 10)), Catch::Contains("duplicate name"));
    CHECK_THAT(open_error(archive_with({stored_entry("a", 16, 10), stored_entry("b", 20, 6)}, 26)), Catch::Contains("overlaps"));
    CHECK_THAT(open_error(archive_with({stored_entry("a", 16, 20)}, 10)), Catch::Contains("outside the chunk data"));
    archive::Entry gap = stored_entry("a", 16, 10);
    gap.chunks[0].first = 1;
    CHECK_THAT(open_error(archive_with({gap}, 10)), Catch::Contains("does not continue"));
    archive::Entry short_cover = stored_entry("a", 16, 10);
    short_cover.original_size = 11;
    CHECK_THAT(open_error(archive_with({short_cover}, 10)), Catch::Contains("do not cover"));
    archive::Entry bb = stored_entry("a", 16, 10);
    bb.method = archive::Method::bits_back;
    bb.model = archive::ModelRef{};
    CHECK_THAT(open_error(archive_with({bb}, 10)), Catch::Contains("bits-back without an image layout"));
    archive::Entry layout = stored_entry("a", 16, 10);
    layout.layout = archive::Layout::raw;
    layout.images = archive::ImageLayout{2, 2, 1, 3, {}, {}, {}, {}};  // 12 bytes, not 10
    CHECK_THAT(open_error(archive_with({layout}, 10)), Catch::Contains("does not add up"));
    // planes: 0, or the layout's channels (2 to 4)
    for (std::uint8_t planes : {1, 2, 4}) {
        archive::Entry p = stored_entry("a", 16, 12);
        p.method = archive::Method::bits_back;
        p.layout = archive::Layout::raw;
        p.images = archive::ImageLayout{2, 2, 3, 1, {}, {}, {}, {}};  // 12 bytes
        p.model = archive::ModelRef{};
        p.model->planes = planes;
        p.chunks[0].count = 1, p.chunks[0].seed_images = 1;
        CAPTURE(int{planes});
        CHECK_THAT(open_error(archive_with({p}, 12)), Catch::Contains("planes of images with 3 channels"));
        p.model->planes = 3;
        CHECK(open_error(archive_with({p}, 12)) == "(opened)");
    }
    archive::Entry dir;
    dir.kind = archive::Kind::directory;
    dir.name = "d";
    dir.original_size = 3;
    CHECK_THAT(open_error(archive_with({dir})), Catch::Contains("directory entry with content"));
    dir.original_size = 0;
    dir.checksum = 12345;  // not the checksum of no bytes
    CHECK_THAT(open_error(archive_with({dir})), Catch::Contains("directory entry with content"));
    dir.checksum = archive::xxh64({});
    CHECK(open_error(archive_with({dir})) == "(opened)");
    archive::Entry set = stored_entry("", 16, 26);
    set.kind = archive::Kind::image_set;
    set.layout = archive::Layout::idx;
    set.images = archive::ImageLayout{1, 10, 1, 1, Bytes(16, 0), {}, {}, {}};
    CHECK_THAT(open_error(archive_with({set}, 26)), Catch::Contains("an image set needs the raw layout"));
    archive::Entry meta = stored_entry("a", 16, 0);
    meta.chunks.clear();
    meta.has_metadata = true;
    meta.mtime_nsec = 1000000000;
    CHECK_THAT(open_error(archive_with({meta})), Catch::Contains("nanoseconds"));
    Bytes future = archive_with({});
    future[4] = 3;
    CHECK_THAT(open_error(future), Catch::Contains("version 3"));
}

TEST_CASE("archive: ordered_parallel hands results over in order and stops at the first error", "[archive]") {
    for (unsigned threads : {1u, 2u, 5u}) {
        std::vector<std::size_t> seen;
        auto ok = archive::ordered_parallel<std::size_t>(
            50, threads, [](std::size_t i) -> Expected<std::size_t> { return i * i; },
            [&](std::size_t i, std::size_t&& v) -> Status {
                REQUIRE(v == i * i);
                seen.push_back(i);
                return Ok{};
            });
        REQUIRE(ok);
        std::vector<std::size_t> want(50);
        std::iota(want.begin(), want.end(), 0);
        CHECK(seen == want);

        std::atomic<std::size_t> started{0};
        std::size_t taken = 0;
        auto bad = archive::ordered_parallel<int>(
            1000, threads,
            [&](std::size_t i) -> Expected<int> {
                ++started;
                if (i == 7) return make_error("item 7 failed");
                return 0;
            },
            [&](std::size_t, int&&) -> Status {
                ++taken;
                return Ok{};
            });
        REQUIRE_FALSE(bad);
        CHECK(bad.error().message == "item 7 failed");
        CHECK(taken == 7);
        CHECK(started <= 7 + threads);
    }
}

TEST_CASE("archive: the image API gives back exactly the images, by bits-back or not", "[archive]") {
    ImageArray a;
    a.count = 40, a.rows = 8, a.cols = 8;
    a.samples = tiny_images(40, 9);
    for (bool force : {true, false}) {
        CompressOptions o;
        if (force) o.method = archive::Method::bits_back;
        auto file = compress_images(a, o, kTiny);
        if (!file) FAIL(file.error().message);
        auto back = decompress_images(*file, resolve, 2);
        if (!back) FAIL(back.error().message);
        CHECK(back->count == 40);
        CHECK(back->rows == 8);
        CHECK(back->samples == a.samples);
    }
    ImageArray wrong = a;
    wrong.samples.pop_back();
    CHECK_FALSE(compress_images(wrong, {}, kTiny));
    wrong = a;
    wrong.channels = 3;
    CHECK_FALSE(compress_images(wrong, {}, kTiny));
    const Archive text = write({{file("t"), text_bytes(100), {}}});
    CHECK_FALSE(decompress_images(text.bytes, resolve));
}

TEST_CASE("archive: names with control bytes are escaped in every message (found by fuzzing)", "[archive][hostile]") {
    CHECK(archive::printable("a\nb\x1b[2J\\c") == "a\\x0ab\\x1b[2J\\x5cc");
    archive::Entry e = stored_entry("bad\nname", 16, 0);
    e.chunks.clear();
    archive::Entry twin = e;
    const std::string err = open_error(archive_with({e, twin}));
    CHECK_THAT(err, Catch::Contains("duplicate name 'bad\\x0aname'"));
    CHECK(err.find('\n') == std::string::npos);
}
