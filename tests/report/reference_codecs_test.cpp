#include <catch2/catch.hpp>

#include <algorithm>
#include <random>

#include "src/report/reference_codecs.hpp"

using namespace bbans;
using Bytes = std::vector<std::uint8_t>;

namespace {

// A smooth image with noise (so every codec has something to do), of any channel count; for
// 2 and 4 channels the last is an alpha with fully transparent pixels.
io::ImageSet test_image(std::uint32_t rows, std::uint32_t cols, std::uint32_t channels, std::size_t count = 1) {
    io::ImageSet s;
    s.rows = rows;
    s.cols = cols;
    s.channels = channels;
    s.count = count;
    std::mt19937 rng(rows * 1000 + cols * 10 + channels);
    for (std::size_t i = 0; i < count; ++i)
        for (std::uint32_t y = 0; y < rows; ++y)
            for (std::uint32_t x = 0; x < cols; ++x)
                for (std::uint32_t c = 0; c < channels; ++c) {
                    const bool alpha = channels % 2 == 0 && c + 1 == channels;
                    const unsigned v = alpha ? ((x / 4 + y / 4) % 3 == 0 ? 0u : 255u) : (x * 3 + y * 2 + c * 40 + i * 7 + rng() % 9) % 256;
                    s.pixels.push_back(static_cast<std::uint8_t>(v));
                }
    return s;
}

std::vector<std::string> keys(const std::vector<std::unique_ptr<report::ReferenceCodec>>& codecs) {
    std::vector<std::string> k;
    for (const auto& c : codecs) k.push_back(c->key());
    return k;
}

// A codec that encodes by copying and decodes with one sample changed: not lossless.
class Lossy final : public report::ReferenceCodec {
public:
    std::string key() const override { return "lossy"; }
    std::string name() const override { return "Lossy"; }
    std::string settings() const override { return "test"; }
    Expected<Bytes> encode(std::span<const std::uint8_t> s, io::Shape) const override { return Bytes(s.begin(), s.end()); }
    Expected<Bytes> decode(std::span<const std::uint8_t> f, io::Shape) const override {
        Bytes b(f.begin(), f.end());
        b[b.size() / 2] ^= 1;
        return b;
    }
};

}  // namespace

TEST_CASE("reference codecs: PNG always, WebP and JPEG XL exactly when compiled in", "[report]") {
    auto codecs = report::reference_codecs();
    REQUIRE(codecs);
    std::vector<std::string> want = {"png"};
    if (BBANS_EXPECT_WEBP) want.push_back("webp");
    if (BBANS_EXPECT_JXL) want.push_back("jxl");
    CHECK(keys(*codecs) == want);
    CHECK(report::missing_reference_codecs().size() == 3 - want.size());
    const std::string line = report::reference_codecs_line();
    CHECK(line.find("libpng") != std::string::npos);
    CHECK((line.find("libwebp 1.") != std::string::npos) == bool(BBANS_EXPECT_WEBP));
    CHECK((line.find("libjxl 0.") != std::string::npos || line.find("libjxl 1.") != std::string::npos) == bool(BBANS_EXPECT_JXL));
    CHECK(!report::reference_codecs({.jxl_effort = 0}));
    CHECK(!report::reference_codecs({.jxl_effort = 10}));
}

TEST_CASE("reference codecs: every codec gives grey, grey+alpha, RGB and RGBA back exactly", "[report]") {
    auto codecs = report::reference_codecs({.jxl_effort = 3});
    REQUIRE(codecs);
    for (const auto& codec : *codecs)
        for (std::uint32_t channels = 1; channels <= 4; ++channels) {
            INFO(codec->name() << ", " << channels << " channels");
            const io::ImageSet image = test_image(37, 23, channels);
            auto file = codec->encode(image.pixels, image.shape());
            REQUIRE(file);
            CHECK(file->size() < image.pixels.size());
            auto back = codec->decode(*file, image.shape());
            REQUIRE(back);
            CHECK(*back == image.pixels);
            auto r = report::encode_checked(*codec, image);
            REQUIRE(r);
            CHECK(r->bytes == file->size());
            // A file decoded as another shape is an error, not pixels.
            CHECK(!codec->decode(*file, {image.rows + 1, image.cols, channels}));
            // Garbage is an error.
            const Bytes junk(100, 0x5A);
            CHECK(!codec->decode(junk, image.shape()));
        }
}

TEST_CASE("reference codecs: a set is encoded image by image and the sizes summed", "[report]") {
    auto codecs = report::reference_codecs({.jxl_effort = 1});
    REQUIRE(codecs);
    const io::ImageSet set = test_image(12, 10, 1, 3);
    for (const auto& codec : *codecs) {
        INFO(codec->name());
        std::uint64_t sum = 0;
        for (std::size_t i = 0; i < set.count; ++i) {
            auto f = codec->encode(set.image(i), set.shape());
            REQUIRE(f);
            sum += f->size();
        }
        auto r = report::encode_checked(*codec, set);
        REQUIRE(r);
        CHECK(r->bytes == sum);
    }
}

TEST_CASE("reference codecs: a codec that does not give the pixels back is an error, never a size", "[report]") {
    const io::ImageSet image = test_image(8, 8, 3);
    auto r = report::encode_checked(Lossy(), image);
    REQUIRE(!r);
    CHECK(r.error().message.find("other pixels") != std::string::npos);
}
