// read_png -> write_png: the rebuilt file decodes (by libpng itself) to the same pixels, colour
// type, bit depth, palette and interlace, with the same ancillary chunks in the same places;
// and the attributes' serialization refuses what a hostile archive could hold.
#include <catch2/catch.hpp>

#include "io_test_util.hpp"
#include "src/io/png.hpp"

using namespace io_test;
using bbans::io::PngAttributes;
using bbans::io::PngPlace;
using bbans::io::parse_png_attributes;
using bbans::io::read_png;
using bbans::io::serialize_png_attributes;
using bbans::io::write_png;
using Catch::Matchers::Contains;

namespace {

Bytes palette_of(std::size_t entries, std::uint32_t seed) { return random_pixels(entries * 3, seed); }

// Stored samples for a spec: values below 2^depth (or below the palette size).
Bytes stored_values(std::size_t n, std::uint32_t limit, std::uint32_t seed) {
    Bytes b = random_pixels(n, seed);
    for (auto& v : b) v = static_cast<std::uint8_t>(v % limit);
    return b;
}

// A zlib stream of `text` (the body of an iCCP or zTXt chunk after its name and method).
Bytes zlib_of(const std::string& text) {
    uLongf n = compressBound(static_cast<uLong>(text.size()));
    Bytes z(n);
    compress(z.data(), &n, reinterpret_cast<const Bytef*>(text.data()), static_cast<uLong>(text.size()));
    z.resize(n);
    return z;
}

// The checks every rebuilt file must pass.
void check_rebuild(const Bytes& original) {
    auto a = read_png(original);
    REQUIRE(a);
    auto rebuilt = write_png(a->image.pixels, a->attributes);
    REQUIRE(rebuilt);
    auto b = read_png(*rebuilt);
    REQUIRE(b);
    CHECK(b->attributes == a->attributes);  // header, palette, every ancillary chunk and its place
    CHECK(b->image.pixels == a->image.pixels);
    CHECK(b->image.channels == a->image.channels);
    const auto da = libpng_decode(original), db = libpng_decode(*rebuilt);
    REQUIRE(da);
    REQUIRE(db);
    CHECK(*da == *db);
    // The attributes survive their serialization.
    auto parsed = parse_png_attributes(serialize_png_attributes(a->attributes));
    REQUIRE(parsed);
    CHECK(*parsed == a->attributes);
}

}  // namespace

TEST_CASE("write_png rebuilds every colour type, depth and interlace pixel-exactly", "[io][png][rebuild]") {
    struct Case {
        int color_type, depth;
        std::uint32_t channels;
    };
    const Case cases[] = {{0, 1, 1}, {0, 2, 1}, {0, 4, 1}, {0, 8, 1}, {2, 8, 3}, {4, 8, 2}, {6, 8, 4},
                          {3, 1, 1}, {3, 2, 1}, {3, 4, 1}, {3, 8, 1}};
    std::uint32_t seed = 1;
    for (const Case& c : cases)
        for (bool interlace : {false, true}) {
            INFO("colour type " << c.color_type << ", " << c.depth << "-bit, interlace " << interlace);
            PngSpec s;
            s.rows = 13, s.cols = 11, s.depth = c.depth, s.color_type = c.color_type, s.interlace = interlace;
            std::uint32_t limit = 1u << c.depth;
            if (c.color_type == 3) {
                const std::size_t entries = std::min<std::size_t>(limit, 5 + seed % 200);
                s.palette = palette_of(entries, ++seed);
                limit = static_cast<std::uint32_t>(entries);
            }
            s.stored = stored_values(std::size_t{s.rows} * s.cols * c.channels, std::min<std::uint32_t>(limit, 256), ++seed);
            const Bytes png = libpng_png(s);
            REQUIRE_FALSE(png.empty());
            check_rebuild(png);
            // With tRNS: a palette gets alpha (RGBA samples); grey and RGB keep a raw tRNS.
            if (c.color_type == 0 || c.color_type == 2 || c.color_type == 3) {
                s.trns = c.color_type == 3 ? random_pixels(std::min<std::size_t>(s.palette.size() / 3, 3), ++seed)
                         : c.color_type == 0 ? Bytes{0, 1}
                                             : Bytes{0, 1, 0, 2, 0, 3};
                const Bytes with_trns = libpng_png(s);
                REQUIRE_FALSE(with_trns.empty());
                auto r = read_png(with_trns);
                REQUIRE(r);
                CHECK(r->image.channels == (c.color_type == 3 ? 4u : c.channels == 1 ? 1u : 3u));
                check_rebuild(with_trns);
            }
        }
}

TEST_CASE("write_png keeps text, gamma, iCCP and private chunks raw in their places", "[io][png][rebuild]") {
    PngSpec s;
    s.rows = 9, s.cols = 7, s.color_type = 3, s.depth = 8;
    s.palette = palette_of(16, 3);
    s.trns = Bytes{0, 128, 255};
    s.stored = stored_values(9 * 7, 16, 4);
    Bytes png = libpng_png(s);
    Bytes text = to_bytes("Comment");
    text.push_back(0);
    append(text, to_bytes("made by a test"));
    Bytes iccp = to_bytes("profile");
    iccp.insert(iccp.end(), {0, 0});
    append(iccp, zlib_of("not really an ICC profile"));
    Bytes ztxt = to_bytes("Title");
    ztxt.insert(ztxt.end(), {0, 0});
    append(ztxt, zlib_of("compressed title"));
    png = with_chunk(png, "PLTE", "gAMA", Bytes{0, 0, 0xB1, 0x8F});
    png = with_chunk(png, "PLTE", "iCCP", iccp);
    png = with_chunk(png, "IDAT", "bKGD", Bytes{2});
    png = with_chunk(png, "IDAT", "pHYs", Bytes{0, 0, 0x0B, 0x13, 0, 0, 0x0B, 0x13, 1});
    png = with_chunk(png, "IDAT", "prVt", to_bytes("private, safe to copy"));
    png = with_chunk(png, "IEND", "tEXt", text);
    png = with_chunk(png, "IEND", "zTXt", ztxt);
    png = with_chunk(png, "IEND", "tIME", Bytes{0x07, 0xE8, 1, 2, 3, 4, 5});
    auto r = read_png(png);
    REQUIRE(r);
    const PngAttributes& a = r->attributes;
    std::vector<std::pair<std::string, PngPlace>> seen;
    for (const auto& c : a.chunks) seen.emplace_back(c.type_name(), c.place);
    const std::vector<std::pair<std::string, PngPlace>> expected = {
        {"gAMA", PngPlace::before_plte}, {"iCCP", PngPlace::before_plte}, {"tRNS", PngPlace::before_idat},
        {"bKGD", PngPlace::before_idat}, {"pHYs", PngPlace::before_idat}, {"prVt", PngPlace::before_idat},
        {"tEXt", PngPlace::after_idat},  {"zTXt", PngPlace::after_idat},  {"tIME", PngPlace::after_idat}};
    CHECK(seen == expected);
    CHECK(a.chunks.back().data == Bytes{0x07, 0xE8, 1, 2, 3, 4, 5});
    CHECK(r->image.channels == 4);
    check_rebuild(png);
}

TEST_CASE("write_png refuses samples that do not fit the attributes", "[io][png][rebuild]") {
    PngSpec s;
    s.rows = 2, s.cols = 2, s.color_type = 3, s.depth = 2;
    s.palette = {1, 1, 1, 2, 2, 2};
    s.stored = {0, 1, 1, 0};
    auto r = read_png(libpng_png(s));
    REQUIRE(r);
    Bytes px = r->image.pixels;
    px[0] = 9;  // a colour that is not in the palette
    auto w = write_png(px, r->attributes);
    REQUIRE_FALSE(w);
    CHECK_THAT(w.error().message, Contains("not in the palette"));
    w = write_png(std::span(px).first(3), r->attributes);
    REQUIRE_FALSE(w);
    CHECK_THAT(w.error().message, Contains("samples do not make"));

    PngAttributes grey;
    grey.width = 2, grey.height = 1, grey.bit_depth = 2, grey.color_type = 0;
    REQUIRE(write_png(Bytes{3, 0}, grey));
    w = write_png(Bytes{4, 0}, grey);
    REQUIRE_FALSE(w);
    CHECK_THAT(w.error().message, Contains("2-bit grey sample"));
}

TEST_CASE("parse_png_attributes refuses hostile attributes", "[io][png][rebuild]") {
    PngAttributes a;
    a.width = 3, a.height = 2, a.color_type = 3, a.bit_depth = 4;
    a.palette = palette_of(4, 1);
    a.chunks.push_back({{'t', 'R', 'N', 'S'}, PngPlace::before_idat, Bytes{1, 2}});
    a.chunks.push_back({{'t', 'E', 'X', 't'}, PngPlace::after_idat, to_bytes("a\0b")});
    const Bytes good = serialize_png_attributes(a);
    REQUIRE(parse_png_attributes(good));
    // Every truncation is refused, and so is a trailing byte.
    for (std::size_t n = 0; n < good.size(); ++n) CHECK_FALSE(parse_png_attributes(std::span(good).first(n)));
    Bytes longer = good;
    longer.push_back(0);
    CHECK_FALSE(parse_png_attributes(longer));

    auto refuses = [&](auto edit, const char* what) {
        PngAttributes b = a;
        edit(b);
        auto r = parse_png_attributes(serialize_png_attributes(b));
        INFO(what);
        REQUIRE_FALSE(r);
        CHECK_THAT(r.error().message, Contains(what));
    };
    refuses([](PngAttributes& b) { b.width = 0; }, "invalid image size");
    refuses([](PngAttributes& b) { b.bit_depth = 3; }, "invalid colour type");
    refuses([](PngAttributes& b) { b.color_type = 6, b.bit_depth = 16; }, "16-bit samples");
    refuses([](PngAttributes& b) { b.interlace = 2; }, "interlace");
    refuses([](PngAttributes& b) { b.palette = palette_of(17, 2); }, "invalid palette");  // 17 entries at 4 bits
    refuses([](PngAttributes& b) { b.palette.pop_back(); }, "invalid palette");
    refuses([](PngAttributes& b) { b.palette.clear(); }, "invalid palette");
    refuses([](PngAttributes& b) { b.color_type = 0, b.bit_depth = 8; }, "invalid palette");
    refuses([](PngAttributes& b) { b.chunks[1].type = {'I', 'D', 'A', 'T'}; }, "chunk type");
    refuses([](PngAttributes& b) { b.chunks[1].type = {'t', 'E', '1', 't'}; }, "chunk type");
    refuses([](PngAttributes& b) { b.chunks[0].place = PngPlace::after_idat; }, "tRNS");
    refuses([](PngAttributes& b) { b.chunks[0].data = Bytes(5, 1); }, "tRNS");
    // A place byte beyond 2, a future version, a chunk count beyond the bytes.
    Bytes bad = good;
    bad[0] = 2;
    CHECK_THAT(parse_png_attributes(bad).error().message, Contains("version 2"));
    bad = good;
    const std::size_t place_at = 1 + 3 + 8 + 4 + a.palette.size() + 4 + 4;
    bad[place_at] = 3;
    CHECK_THAT(parse_png_attributes(bad).error().message, Contains("place 3"));
    bad = good;
    bad[1 + 3 + 8 + 4 + a.palette.size() + 3] = 0x7f;  // chunk count's high byte
    CHECK_THAT(parse_png_attributes(bad).error().message, Contains("more chunks"));
}

TEST_CASE("read_png keeps what a damaged chunk stream must not pass", "[io][png][rebuild]") {
    PngSpec s;
    s.rows = 3, s.cols = 3;
    s.stored = random_pixels(9, 2);
    const Bytes png = libpng_png(s);
    // An unknown critical chunk, and IDAT chunks that are not consecutive.
    auto r = read_png(with_chunk(png, "IDAT", "CRIT", Bytes{1}));
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("unknown critical chunk CRIT"));
    Bytes split = with_chunk(png, "IEND", "tEXt", to_bytes("a"));
    split = with_chunk(split, "IEND", "IDAT", zlib_of(""));
    r = read_png(split);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("not consecutive"));
}
