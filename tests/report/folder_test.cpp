#include <catch2/catch.hpp>

#include "src/report/folder.hpp"

using namespace bbans;

namespace {

report::ImageFigures figures(std::uint64_t samples, std::uint64_t bits, bool net, std::vector<report::CodecFigure> refs) {
    report::ImageFigures f;
    f.samples = samples;
    f.images = 1;
    f.bbans_bits = bits;
    f.bbx_bits = bits + 800;
    f.has_net = net;
    f.net_bits = net ? bits / 2 : 0;
    f.net_samples = net ? samples / 2 : 0;
    f.exact = true;
    f.references = std::move(refs);
    return f;
}

report::CodecFigure ok(std::uint64_t bits, const char* source = "") { return {true, "", bits, 0.0, source}; }

}  // namespace

TEST_CASE("folder report: the aggregate is sums of bits and samples", "[report]") {
    const std::vector<report::ImageFigures> images = {figures(100, 300, true, {ok(400, "file"), ok(250)}),
                                                      figures(50, 120, false, {ok(200, "libpng"), ok(90)})};
    const report::ImageFigures t = report::aggregate(images, 2);
    CHECK(t.samples == 150);
    CHECK(t.images == 2);
    CHECK(t.bbans_bits == 420);
    CHECK(t.bbx_bits == 2020);
    CHECK(t.has_net);
    CHECK(t.net_bits == 150);
    CHECK(t.net_samples == 50);  // only the file that has a net rate
    CHECK(!t.has_elbo);
    REQUIRE(t.references.size() == 2);
    CHECK(t.references[0].ok);
    CHECK(t.references[0].bits == 600);
    CHECK(t.references[0].source == "mixed");
    CHECK(t.references[1].bits == 340);
    CHECK(t.exact);
}

TEST_CASE("folder report: a codec that failed on a file has no aggregate number", "[report]") {
    report::CodecFigure failed;
    failed.error = "too large";
    const std::vector<report::ImageFigures> images = {figures(100, 300, true, {ok(400), failed}), figures(50, 120, true, {ok(200), ok(90)})};
    const report::ImageFigures t = report::aggregate(images, 2);
    CHECK(t.references[0].ok);
    CHECK(!t.references[1].ok);
    CHECK(t.references[1].bits == 0);
    CHECK(t.references[1].error == "failed on 1 of 2 files");
}

TEST_CASE("folder report: a file that is not an image is skipped with why, and a broken image is an error", "[report]") {
    auto codecs = report::reference_codecs();
    REQUIRE(codecs);
    const std::string text = "not an image at all\n";
    std::string why;
    auto r = report::measure_image("notes.txt", std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()), {}, {}, *codecs, why);
    REQUIRE(r);
    CHECK(!r->has_value());
    CHECK(why.find("not an image") != std::string::npos);
    const std::string pgm = "P5\n4 4\n255\nabc";  // 3 of 16 samples
    auto broken = report::measure_image("b.pgm", std::span(reinterpret_cast<const std::uint8_t*>(pgm.data()), pgm.size()), {}, {}, *codecs, why);
    CHECK(!broken);
}

TEST_CASE("folder report: a PGM without models is coded by zstd/xz and measured against every codec", "[report]") {
    auto codecs = report::reference_codecs({.jxl_effort = 1});
    REQUIRE(codecs);
    std::string pgm = "P5\n16 24\n255\n";
    for (int i = 0; i < 16 * 24; ++i) pgm += static_cast<char>((i * 7) % 200);
    std::string why;
    auto r = report::measure_image("sub/a.pgm", std::span(reinterpret_cast<const std::uint8_t*>(pgm.data()), pgm.size()), {}, {}, *codecs, why);
    REQUIRE(r);
    REQUIRE(r->has_value());
    const report::ImageFigures& f = **r;
    CHECK(f.format == "PGM");
    CHECK((f.rows == 24 && f.cols == 16 && f.channels == 1 && f.samples == 384));
    CHECK(f.method != "bits-back");
    CHECK(f.exact);
    CHECK(f.bbans_bits > 0);
    CHECK(f.bbx_bits > f.bbans_bits);
    CHECK(!f.has_net);
    CHECK(!f.has_elbo);
    REQUIRE(f.references.size() == codecs->size());
    for (const auto& c : f.references) CHECK((c.ok && c.bits > 0 && c.error.empty()));
    CHECK(f.references[0].source == "libpng");
}
