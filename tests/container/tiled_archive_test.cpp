// Bits-back entries of any image size and channel count in the v2 archive: a single image is
// cut into chunks of whole bands of rows (row units), decoded exactly, the same bytes for any
// thread count, and each chunk's damage is caught by its checksum.
#include <catch2/catch.hpp>
#include <random>
#include <string>

#include "bbans/bbans.hpp"
#include "src/archive/format.hpp"
#include "test_models.hpp"

namespace {

using namespace bbans;
using Bytes = std::vector<std::uint8_t>;

// A tiny colour tile model (8x8 tiles, random weights, calibrated on colour blobs).
const coding::CodingModel& colour_model() {
    static const coding::CodingModel m = [] {
        auto cfg = test::tiny_config();
        cfg.image_channels = 3;
        auto vae = models::Vae::make(cfg, 31);
        const auto px = test::colour_images(64, cfg.rows, cfg.cols, 3, 32);
        auto cm = coding::CodingModel::from_trained(*vae, models::ImageSet{px.data(), 64, cfg.rows, cfg.cols, 3});
        REQUIRE(cm.has_value());
        return std::move(*cm);
    }();
    return m;
}

// A tiny grey tile model (8x8 tiles), calibrated on grey blobs.
const coding::CodingModel& grey_model() {
    static const coding::CodingModel m = [] {
        auto cfg = test::tiny_config();
        auto vae = models::Vae::make(cfg, 35);
        const auto px = test::blob_images(64, cfg.rows, cfg.cols, 36);
        auto cm = coding::CodingModel::from_trained(*vae, models::ImageSet{px.data(), 64, cfg.rows, cfg.cols, 1});
        REQUIRE(cm.has_value());
        return std::move(*cm);
    }();
    return m;
}

Expected<const coding::CodingModel*> resolve(const archive::ModelId& id) {
    if (id == colour_model().identity()) return &colour_model();
    if (id == grey_model().identity()) return &grey_model();
    return make_error("no such model");
}

Bytes ppm(std::size_t rows, std::size_t cols, std::uint64_t seed) {
    const std::string header = "P6\n" + std::to_string(cols) + " " + std::to_string(rows) + "\n255\n";
    Bytes b(header.begin(), header.end());
    const auto px = test::colour_images(1, rows, cols, 3, seed);
    b.insert(b.end(), px.begin(), px.end());
    return b;
}

// Compresses `in` with each thread count and checks that every file is the same (each
// summary first goes through check); returns that file.
template <class Check>
Bytes same_file_for_threads(const Bytes& in, CompressOptions o, std::span<const NamedModel> models,
                            std::initializer_list<unsigned> threads, Check check) {
    Bytes first;
    for (const unsigned t : threads) {
        o.threads = t;
        auto c = compress(in, o, models, "x.ppm");
        REQUIRE(c.has_value());
        check(c->summary);
        if (first.empty()) first = c->file;
        CHECK(c->file == first);
    }
    return first;
}

}  // namespace

TEST_CASE("tiled archive: one colour image in row chunks round-trips, any thread count", "[archive][tiled]") {
    const NamedModel models[] = {{"tiny-rgb", &colour_model()}};
    const Bytes in = ppm(37, 23, 5);
    CompressOptions o;
    o.method = archive::Method::bits_back;
    o.chunk_images = 10;  // rows per chunk, rounded down to the 8-row tile: 8 -> 5 chunks
    o.lanes = 2;
    const Bytes first = same_file_for_threads(in, o, models, {1u, 2u, 5u}, [](const CompressSummary& summary) {
        CHECK(summary.method == archive::Method::bits_back);
        CHECK(summary.chunks == 5);
    });
    auto back = decompress(first, resolve, {}, 3);
    REQUIRE(back.has_value());
    CHECK(*back == in);

    archive::MemoryInput input(first);
    auto reader = ArchiveReader::open(input);
    REQUIRE(reader.has_value());
    const archive::Entry& e = reader->entries().at(0);
    CHECK(e.row_units);
    CHECK(e.images->channels == 3);
    CHECK(e.chunks.back().first + e.chunks.back().count == 37);
    auto samples = reader->images(0, 0, 1, resolve);
    REQUIRE(samples.has_value());
    CHECK(std::equal(samples->begin(), samples->end(), in.end() - 37 * 23 * 3));

    // A damaged byte in the third chunk's data is caught by that chunk's checksum.
    Bytes bad = first;
    bad[e.chunks[2].offset + e.chunks[2].stored_size / 2] ^= 0x10;
    auto d = decompress(bad, resolve);
    REQUIRE_FALSE(d.has_value());
    CHECK_THAT(d.error().message, Catch::Contains("chunk 2") && Catch::Contains("checksum"));
}

TEST_CASE("tiled archive: sets of colour images of a size other than the tile", "[archive][tiled]") {
    const NamedModel models[] = {{"tiny-rgb", &colour_model()}};
    ImageArray a;
    a.count = 6, a.rows = 13, a.cols = 5, a.channels = 3;
    a.samples = test::colour_images(6, 13, 5, 3, 9);
    CompressOptions o;
    o.method = archive::Method::bits_back;
    o.chunk_images = 4;
    auto file = compress_images(a, o, models);
    REQUIRE(file.has_value());
    auto back = decompress_images(*file, resolve);
    if (!back) FAIL(back.error().message);
    CHECK(back->samples == a.samples);
    CHECK(back->channels == 3);
}

TEST_CASE("tiled archive: a model of another channel count is not used", "[archive][tiled]") {
    const NamedModel models[] = {{"tiny-rgb", &colour_model()}};
    std::string pgm = "P5\n9 9\n255\n";
    Bytes in(pgm.begin(), pgm.end());
    in.resize(in.size() + 81, 77);
    CompressOptions o;
    o.method = archive::Method::bits_back;
    auto c = compress(in, o, models, "g.pgm");
    REQUIRE_FALSE(c.has_value());
    CHECK_THAT(c.error().message, Catch::Contains("bits-back"));
}

TEST_CASE("tiled archive: a grey model codes colour images as planes, rows and sets, any thread count", "[archive][tiled][planes]") {
    const NamedModel models[] = {{"tiny-grey", &grey_model()}};
    const Bytes in = ppm(37, 23, 6);
    CompressOptions o;
    o.method = archive::Method::bits_back;
    o.chunk_images = 10;  // 8 rows per chunk: 5 chunks, each a stacked image of 3 x 8 rows
    const Bytes first = same_file_for_threads(in, o, models, {1u, 2u, 7u}, [](const CompressSummary& summary) {
        CHECK(summary.method == archive::Method::bits_back);
        CHECK(summary.model_planes == 3);
        CHECK(summary.chunks == 5);
        // seed: the last band of each chunk's stacked planes (the last chunk: 5 rows x 3 = 15, bands of 8)
        CHECK(summary.stats.seed_samples == 4 * 8 * 23 + 7 * 23);
    });
    archive::MemoryInput input(first);
    auto reader = ArchiveReader::open(input);
    REQUIRE(reader.has_value());
    CHECK(reader->entries().at(0).model->planes == 3);
    auto back = decompress(first, resolve, {}, 2);
    if (!back) FAIL(back.error().message);
    CHECK(*back == in);

    // A set of RGBA images (4 planes) through the image API.
    ImageArray a;
    a.count = 5, a.rows = 9, a.cols = 6, a.channels = 4;
    a.samples = test::colour_images(5, 9, 6, 4, 10);
    o.chunk_images = 2;
    o.threads = 2;
    auto file = compress_images(a, o, models);
    REQUIRE(file.has_value());
    auto images = decompress_images(*file, resolve, 2);
    if (!images) FAIL(images.error().message);
    CHECK(images->samples == a.samples);

    // Decoding with a model of the wrong kind for the entry is refused with a message.
    auto none = decompress(first, [](const archive::ModelId&) -> Expected<const coding::CodingModel*> { return &colour_model(); });
    REQUIRE_FALSE(none.has_value());
    CHECK_THAT(none.error().message, Catch::Contains("coded as planes by a grey model"));
}

TEST_CASE("tiled archive: the model choice takes planes or the colour model, whichever scores better", "[archive][tiled][planes]") {
    const NamedModel both[] = {{"tiny-rgb", &colour_model()}, {"tiny-grey", &grey_model()}};
    const Bytes in = ppm(24, 24, 8);
    CompressOptions o;
    o.method = archive::Method::bits_back;
    auto c = compress(in, o, both, "x.ppm");
    REQUIRE(c.has_value());
    // Each alone, measured: the choice is the one with the lower -ELBO on the sample.
    auto rgb = compress(in, o, std::span(both, 1), "x.ppm");
    auto grey = compress(in, o, std::span(both + 1, 1), "x.ppm");
    REQUIRE(rgb.has_value());
    REQUIRE(grey.has_value());
    CHECK(grey->summary.model_planes == 3);
    CHECK(rgb->summary.model_planes == 0);
    const bool planes_better = grey->summary.sample_neg_elbo_bpd < rgb->summary.sample_neg_elbo_bpd;
    CHECK(c->summary.model_name == (planes_better ? "tiny-grey" : "tiny-rgb"));
    CHECK(c->summary.model_planes == (planes_better ? 3u : 0u));
    CHECK(c->file == (planes_better ? grey->file : rgb->file));
}

TEST_CASE("tiled archive: the scale offset is chosen on the sample, stored in the model block, forced or refused", "[archive][tiled][scale_offset]") {
    const NamedModel models[] = {{"tiny-grey", &grey_model()}};
    // Noise: the model trained on smooth blobs gives every pixel too narrow a distribution.
    std::string header = "P5\n40 30\n255\n";
    Bytes in(header.begin(), header.end());
    std::mt19937_64 rng(41);
    for (int i = 0; i < 40 * 30; ++i) in.push_back(static_cast<std::uint8_t>(rng()));
    CompressOptions o;
    o.method = archive::Method::bits_back;
    auto chosen = compress(in, o, models, "noise.pgm");
    REQUIRE(chosen.has_value());
    CHECK(chosen->summary.scale_offset > 0);  // wider
    o.scale_offset = 0;
    auto none = compress(in, o, models, "noise.pgm");
    REQUIRE(none.has_value());
    CHECK(none->summary.scale_offset == 0);
    CHECK(chosen->file.size() < none->file.size());
    o.scale_offset = -37;
    auto forced = compress(in, o, models, "noise.pgm");
    REQUIRE(forced.has_value());
    for (const auto* c : {&*chosen, &*none, &*forced}) {
        archive::MemoryInput input(c->file);
        auto reader = ArchiveReader::open(input);
        REQUIRE(reader.has_value());
        CHECK(int{reader->entries().at(0).model->scale_offset} == c->summary.scale_offset);
        auto back = decompress(c->file, resolve);
        if (!back) FAIL(back.error().message);
        CHECK(*back == in);
    }
    CHECK(forced->summary.scale_offset == -37);
    for (const int bad : {-128, 128, 1000}) {
        o.scale_offset = bad;
        auto refused = compress(in, o, models, "noise.pgm");
        REQUIRE_FALSE(refused.has_value());
        CHECK_THAT(refused.error().message, Catch::Contains("scale offset must be -127..127"));
    }
}
