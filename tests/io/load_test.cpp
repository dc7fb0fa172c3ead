// load_images / parse_images: format detection, directories, raw shapes.
#include <catch2/catch.hpp>

#include "io_test_util.hpp"
#include "src/io/files.hpp"
#include "src/io/images.hpp"

using namespace io_test;
using bbans::io::detect_format;
using bbans::io::Format;
using bbans::io::load_images;
using bbans::io::parse_images;
using bbans::io::Shape;
using bbans::io::write_idx;
using Catch::Matchers::Contains;

namespace {
Bytes pgm_of(const bbans::io::ImageSet& image) {
    return pgm("P5\n" + std::to_string(image.cols) + " " + std::to_string(image.rows) + "\n255\n", image.pixels);
}
}  // namespace

TEST_CASE("detect_format recognises each signature", "[io][load]") {
    CHECK(detect_format(write_idx(make_set(2, 2, 1))) == Format::idx);
    CHECK(detect_format(to_bytes("P5 1 1 255\n?")) == Format::pgm);
    CHECK(detect_format(libpng_gray8(make_set(2, 2, 1))) == Format::png);
    CHECK(detect_format(gzip(to_bytes("x"))) == Format::gzip);
    CHECK(detect_format(to_bytes("hello")) == Format::unknown);
    CHECK(detect_format({}) == Format::unknown);
}

TEST_CASE("load_images reads IDX plain and gzipped by content", "[io][load]") {
    TempDir dir;
    const auto set = make_set(28, 28, 5);
    const Bytes idx = write_idx(set);
    write_bytes(dir / "plain", idx);
    write_bytes(dir / "packed.idx", gzip(idx));  // no .gz suffix: detection is by content
    for (const char* name : {"plain", "packed.idx"}) {
        INFO(name);
        auto r = load_images(dir / name);
        REQUIRE(r);
        CHECK(r->count == 5);
        CHECK(r->pixels == set.pixels);
    }
}

TEST_CASE("load_images reads a single PGM or PNG file", "[io][load]") {
    TempDir dir;
    const auto image = make_set(9, 6, 1);
    write_bytes(dir / "a.pgm", pgm_of(image));
    write_bytes(dir / "b.png", libpng_gray8(image));
    for (const char* name : {"a.pgm", "b.png"}) {
        INFO(name);
        auto r = load_images(dir / name);
        REQUIRE(r);
        CHECK(r->count == 1);
        CHECK(r->rows == 9);
        CHECK(r->cols == 6);
        CHECK(r->pixels == image.pixels);
    }
}

TEST_CASE("load_images reads a directory in file name order", "[io][load]") {
    TempDir dir;
    std::vector<bbans::io::ImageSet> images;
    for (std::uint32_t i = 0; i < 4; ++i) images.push_back(make_set(5, 7, 1, 100 + i));
    // Written out of order and mixing PGM and PNG; sorted by name the order is 0 1 2 3.
    write_bytes(dir / "img2.PNG", libpng_gray8(images[2]));
    write_bytes(dir / "img0.pgm", pgm_of(images[0]));
    write_bytes(dir / "img3.pgm", pgm_of(images[3]));
    write_bytes(dir / "img1.png", libpng_gray8(images[1], true));
    write_bytes(dir / "README.txt", to_bytes("ignored"));
    write_bytes(dir / ".img9.pgm.tmp-1-0", to_bytes("ignored too"));
    write_bytes(dir / ".hidden.pgm", to_bytes("also ignored"));

    auto r = load_images(dir.path());
    REQUIRE(r);
    REQUIRE(r->count == 4);
    CHECK(r->rows == 5);
    CHECK(r->cols == 7);
    for (std::size_t i = 0; i < 4; ++i) {
        INFO(i);
        CHECK(Bytes(r->image(i).begin(), r->image(i).end()) == images[i].pixels);
    }
}

TEST_CASE("load_images names the odd file in a directory of mismatched shapes", "[io][load]") {
    TempDir dir;
    write_bytes(dir / "a.pgm", pgm_of(make_set(28, 28, 1)));
    write_bytes(dir / "b.png", libpng_gray8(make_set(28, 28, 1)));
    write_bytes(dir / "c.pgm", pgm_of(make_set(28, 29, 1)));
    auto r = load_images(dir.path());
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("c.pgm: image is 28 rows x 29 cols"));
    CHECK_THAT(r.error().message, Contains("a.pgm (the first) is 28 rows x 28 cols"));
}

TEST_CASE("load_images names a bad file in a directory", "[io][load]") {
    TempDir dir;
    write_bytes(dir / "a.pgm", pgm_of(make_set(4, 4, 1)));
    write_bytes(dir / "b.pgm", to_bytes("P5 4 4 65535\n"));
    auto r = load_images(dir.path());
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("b.pgm: PGM: 16-bit"));

    TempDir dir2;
    write_bytes(dir2 / "a.png", write_idx(make_set(4, 4, 1)));  // an IDX named .png
    r = load_images(dir2.path());
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("a.png: not a PGM, PPM or PNG file (content looks like IDX)"));
}

TEST_CASE("load_images rejects an empty directory and a missing path", "[io][load]") {
    TempDir dir;
    write_bytes(dir / "notes.txt", to_bytes("x"));
    auto r = load_images(dir.path());
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("no .pgm, .ppm or .png files"));

    r = load_images(dir / "nope");
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("nope: no such file"));
}

TEST_CASE("load_images with a raw shape reads the bytes as pixels", "[io][load]") {
    TempDir dir;
    // Raw pixels that happen to start like an IDX file: with a shape they are still raw.
    const Bytes bytes = write_idx(make_set(2, 3, 2));  // 16 + 12 = 28 bytes
    write_bytes(dir / "raw.bin", bytes);
    auto r = load_images(dir / "raw.bin", Shape{2, 7});
    REQUIRE(r);
    CHECK(r->count == 2);
    CHECK(r->pixels == bytes);

    r = load_images(dir / "raw.bin", Shape{3, 3});
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("raw.bin: raw: 28 bytes is not a multiple"));

    r = load_images(dir.path(), Shape{2, 7});
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("raw shape was given but this is a directory"));
}

TEST_CASE("load_images names the file when the format is unknown", "[io][load]") {
    TempDir dir;
    write_bytes(dir / "mystery.dat", to_bytes("just some text"));
    auto r = load_images(dir / "mystery.dat");
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("mystery.dat: unrecognised image format"));

    write_bytes(dir / "text.gz", gzip(to_bytes("just some text")));
    r = load_images(dir / "text.gz");
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("text.gz: unrecognised image format"));
}

TEST_CASE("parse_images gunzips then parses PGM too", "[io][load]") {
    const auto image = make_set(3, 3, 1);
    auto r = parse_images(gzip(pgm_of(image)));
    REQUIRE(r);
    CHECK(r->pixels == image.pixels);
}

TEST_CASE("load_images walks subdirectories and reads colour PNG and PPM", "[io][load]") {
    TempDir dir;
    std::filesystem::create_directories(dir / "b/c");
    std::filesystem::create_directories(dir / ".git");
    const Bytes rgb0 = random_pixels(3 * 2 * 3, 7), rgb1 = random_pixels(3 * 2 * 3, 8), rgb2 = random_pixels(3 * 2 * 3, 9);
    PngSpec s;
    s.rows = 3, s.cols = 2, s.color_type = PNG_COLOR_TYPE_RGB, s.stored = rgb1;
    write_bytes(dir / "a.ppm", pgm("P6\n2 3\n255\n", rgb0));
    write_bytes(dir / "b/c/z.png", libpng_png(s));
    write_bytes(dir / "b/d.ppm", pgm("P6 2 3 255\n", rgb2));
    write_bytes(dir / ".git/x.ppm", to_bytes("ignored: a dot directory"));
    auto r = load_images(dir.path());
    REQUIRE(r);
    CHECK(r->count == 3);
    CHECK(r->channels == 3);
    // Sorted by relative path: a.ppm, b/c/z.png, b/d.ppm.
    CHECK(Bytes(r->image(0).begin(), r->image(0).end()) == rgb0);
    CHECK(Bytes(r->image(1).begin(), r->image(1).end()) == rgb1);
    CHECK(Bytes(r->image(2).begin(), r->image(2).end()) == rgb2);

    // A grey image among colour ones: the error names it and the first file.
    write_bytes(dir / "b/e.pgm", pgm("P5 2 3 255\n", random_pixels(6)));
    r = load_images(dir.path());
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("e.pgm: image is 3 rows x 2 cols x 1 channel but a.ppm (the first) is 3 rows x 2 cols x 3 channels"));
}
