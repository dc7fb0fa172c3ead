#include <catch2/catch.hpp>
#include <random>

#include "src/container/bbx.hpp"

using namespace bbans::container;

namespace {
std::vector<std::uint8_t> sample_bytes(std::size_t n, std::uint64_t seed, bool compressible) {
    std::mt19937_64 rng(seed);
    std::vector<std::uint8_t> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = compressible ? static_cast<std::uint8_t>("bits back "[i % 10]) : static_cast<std::uint8_t>(rng());
    return v;
}
const BitsBackDecoder kNoModel{};
}  // namespace

TEST_CASE("container: stored and zstd files round-trip and pick the smaller method", "[container]") {
    for (std::size_t n : {0u, 1u, 39u, 40u, 1000u, 100000u}) {
        for (bool compressible : {false, true}) {
            const auto input = sample_bytes(n, n, compressible);
            auto file = compress_fallback(input);
            REQUIRE(file.has_value());
            auto h = parse_header(*file);
            REQUIRE(h.has_value());
            REQUIRE(h->original_size == n);
            if (compressible && n >= 100) REQUIRE(h->method == Method::zstd);
            if (!compressible && n >= 100) REQUIRE(h->method == Method::stored);
            REQUIRE(file->size() <= n + kHeaderSize);
            auto back = decompress(*file, kNoModel);
            REQUIRE(back.has_value());
            REQUIRE(*back == input);
        }
    }
}

TEST_CASE("container: every truncation and every bit flip is rejected", "[container]") {
    for (bool compressible : {false, true}) {
        const auto input = sample_bytes(300, 7, compressible);
        const auto file = *compress_fallback(input);
        for (std::size_t n = 0; n < file.size(); ++n) {
            auto r = decompress(std::span(file.data(), n), kNoModel);
            REQUIRE_FALSE(r.has_value());
            REQUIRE_FALSE(r.error().message.empty());
        }
        for (std::size_t bit = 0; bit < file.size() * 8; ++bit) {
            auto bad = file;
            bad[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
            auto r = decompress(bad, kNoModel);
            INFO("bit " << bit);
            REQUIRE_FALSE(r.has_value());
        }
        auto longer = file;
        longer.push_back(0);
        REQUIRE_THAT(decompress(longer, kNoModel).error().message, Catch::Contains("trailing"));
    }
}

TEST_CASE("container: header errors name the problem", "[container]") {
    const auto file = *compress_fallback(sample_bytes(100, 1, true));
    auto bad = file;
    bad[0] = 'P';
    REQUIRE_THAT(decompress(bad, kNoModel).error().message, Catch::Contains("magic"));
    bad = file;
    bad[4] = 9;
    REQUIRE_THAT(decompress(bad, kNoModel).error().message, Catch::Contains("version 9"));
    bad = file;
    bad[20] ^= 1;  // content checksum field: header checksum catches it
    REQUIRE_THAT(decompress(bad, kNoModel).error().message, Catch::Contains("header"));
    bad = file;
    bad.back() ^= 0x40;  // payload damage
    REQUIRE_FALSE(decompress(bad, kNoModel).has_value());
}

TEST_CASE("container: an absurd claimed size is refused before allocating", "[container]") {
    const auto input = sample_bytes(1000, 2, true);
    auto file = *compress_fallback(input);
    Header h = *parse_header(file);
    h.original_size = std::uint64_t{3} << 30;  // 3 GiB from a few bytes of zstd
    const auto header = write_header(h);
    std::copy(header.begin(), header.end(), file.begin());
    REQUIRE_THAT(decompress(file, kNoModel).error().message, Catch::Contains("too small"));
}

TEST_CASE("container: bits-back payload fields round-trip and hostile payloads fail", "[container]") {
    BitsBackPayload p;
    for (std::size_t i = 0; i < 16; ++i) p.model[i] = static_cast<std::uint8_t>(i * 17);
    p.layout = Layout::idx;
    p.lanes = 2;
    p.rows = 28;
    p.cols = 28;
    p.count = 3;
    p.seed_images = 1;
    p.header_bytes = {0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 28, 0, 0, 0, 28};
    p.message = sample_bytes(123, 3, false);
    const auto bytes = write_bits_back_payload(p);
    auto q = parse_bits_back_payload(bytes);
    REQUIRE(q.has_value());
    REQUIRE(q->model == p.model);
    REQUIRE(q->layout == p.layout);
    REQUIRE(q->lanes == 2);
    REQUIRE(q->rows == 28);
    REQUIRE(q->count == 3);
    REQUIRE(q->seed_images == 1);
    REQUIRE(q->header_bytes == p.header_bytes);
    REQUIRE(q->message == p.message);
    for (std::size_t n = 0; n < bytes.size(); ++n) REQUIRE_FALSE(parse_bits_back_payload(std::span(bytes.data(), n)).has_value());

    // A whole file: without a decoder the error names the model.
    std::vector<std::uint8_t> original(16 + 3 * 784, 0);
    const auto file = pack(Method::bits_back, original, bytes);
    auto r = decompress(file, kNoModel);
    REQUIRE_THAT(r.error().message, Catch::Contains(to_hex(p.model)));
    // A decoder that returns other bytes is caught by the checksum.
    BitsBackDecoder liar = [](const BitsBackPayload&, std::uint64_t n) { return bbans::Expected<std::vector<std::uint8_t>>(std::vector<std::uint8_t>(n, 1)); };
    REQUIRE_THAT(decompress(file, liar).error().message, Catch::Contains("checksum"));
    // Shapes that do not add up to the original size.
    auto wrong = p;
    wrong.count = 4;
    REQUIRE_THAT(decompress(pack(Method::bits_back, original, write_bits_back_payload(wrong)), liar).error().message,
                 Catch::Contains("add up"));
    wrong = p;
    wrong.seed_images = 5;
    REQUIRE_FALSE(parse_bits_back_payload(write_bits_back_payload(wrong)).has_value());
}
