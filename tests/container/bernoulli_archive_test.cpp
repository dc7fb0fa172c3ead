// A Bernoulli model in the compressor: a candidate only for images whose every sample is 0 or
// 255 (all of the input, not just the sample the choice is made on); a binary image round-trips
// through it, a grey one never goes to it.
#include <catch2/catch.hpp>
#include <string>

#include "bbans/bbans.hpp"
#include "test_models.hpp"

namespace {

using namespace bbans;
using Bytes = std::vector<std::uint8_t>;

const coding::CodingModel& bernoulli_model() {
    static const coding::CodingModel m = [] {
        auto cfg = test::tiny_config(false);
        cfg.likelihood = models::Likelihood::bernoulli;
        auto vae = models::Vae::make(cfg, 41);
        auto px = test::blob_images(64, cfg.rows, cfg.cols, 42);
        for (auto& v : px) v = v > 100 ? 255 : 0;
        auto cm = coding::CodingModel::from_trained(*vae, models::ImageSet{px.data(), 64, cfg.rows, cfg.cols, 1});
        REQUIRE(cm.has_value());
        return std::move(*cm);
    }();
    return m;
}

Expected<const coding::CodingModel*> resolve(const archive::ModelId& id) {
    if (id == bernoulli_model().identity()) return &bernoulli_model();
    return make_error("no such model");
}

// A PGM of rows x cols binary blobs; `grey` samples (index, value) set afterwards.
Bytes pgm(std::size_t rows, std::size_t cols, std::vector<std::pair<std::size_t, std::uint8_t>> grey = {}) {
    const std::string header = "P5\n" + std::to_string(cols) + " " + std::to_string(rows) + "\n255\n";
    Bytes b(header.begin(), header.end());
    auto px = test::blob_images(1, rows, cols, rows + cols);
    for (auto& v : px) v = v > 100 ? 255 : 0;
    for (auto [i, v] : grey) px[i] = v;
    b.insert(b.end(), px.begin(), px.end());
    return b;
}

}  // namespace

TEST_CASE("Bernoulli archive: a binary image is coded with the Bernoulli model and decodes exactly", "[archive][bernoulli]") {
    const NamedModel models[] = {{"tiny-bw", &bernoulli_model()}};
    const Bytes in = pgm(37, 23);
    CompressOptions o;
    o.method = archive::Method::bits_back;
    auto c = compress(in, o, models, "b.pgm");
    if (!c) FAIL(c.error().message);
    CHECK(c->summary.method == archive::Method::bits_back);
    CHECK(c->summary.model_name == "tiny-bw");
    auto back = decompress(c->file, resolve);
    REQUIRE(back.has_value());
    CHECK(*back == in);
}

TEST_CASE("Bernoulli archive: one grey sample anywhere keeps the Bernoulli model out", "[archive][bernoulli]") {
    const NamedModel models[] = {{"tiny-bw", &bernoulli_model()}};
    // A large image: the model choice reads a few strips; the grey sample is in none of them.
    const std::size_t rows = 600, cols = 300;
    // (Strips of 109 rows at rows 0, 163, 327 and 491: row 140 is in none.)
    for (std::size_t at : {std::size_t{0}, 140 * cols + 7, rows * cols - 1}) {
        CAPTURE(at);
        const Bytes in = pgm(rows, cols, {{at, 128}});
        CompressOptions o;
        auto c = compress(in, o, models, "g.pgm");
        if (!c) FAIL(c.error().message);
        CHECK(c->summary.method != archive::Method::bits_back);
        auto back = decompress(c->file, resolve);
        REQUIRE(back.has_value());
        CHECK(*back == in);
        o.method = archive::Method::bits_back;
        CHECK_FALSE(compress(in, o, models, "g.pgm").has_value());
    }
}
