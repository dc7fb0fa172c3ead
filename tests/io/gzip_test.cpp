// gunzip / is_gzip against zlib's own gzip encoder.
#include <catch2/catch.hpp>

#include "io_test_util.hpp"
#include "src/io/images.hpp"

using namespace io_test;
using bbans::io::gunzip;
using bbans::io::is_gzip;
using Catch::Matchers::Contains;

TEST_CASE("gunzip round trips zlib's gzip output", "[io][gzip]") {
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{1000}, std::size_t{300000}}) {
        INFO(n << " bytes");
        const Bytes data = random_pixels(n, 3);
        const Bytes gz = gzip(data);
        REQUIRE(is_gzip(gz));
        auto r = gunzip(gz, n);  // exactly the size: allowed
        REQUIRE(r);
        CHECK(*r == data);
    }
}

TEST_CASE("gunzip decodes concatenated gzip members", "[io][gzip]") {
    const Bytes a = random_pixels(5000, 1), b = random_pixels(7000, 2);
    Bytes both = gzip(a);
    append(both, gzip(b));
    auto r = gunzip(both, 1 << 20);
    REQUIRE(r);
    Bytes expected = a;
    append(expected, b);
    CHECK(*r == expected);
}

TEST_CASE("gunzip refuses output beyond the limit", "[io][gzip]") {
    const Bytes zeros(1 << 20, 0);  // 1 MiB of zeros compresses about 1000:1
    const Bytes gz = gzip(zeros, 9);
    REQUIRE(gz.size() < 4096);
    auto r = gunzip(gz, zeros.size() - 1);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("exceeds the limit of 1048575 bytes"));
    r = gunzip(gz, 100);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("exceeds the limit"));
    CHECK(gunzip(gz, zeros.size()));
}

TEST_CASE("gunzip rejects truncated and corrupt and non-gzip input", "[io][gzip]") {
    const Bytes gz = gzip(random_pixels(2000));
    for (std::size_t n = 0; n < gz.size(); ++n) {
        INFO("truncated to " << n);
        CHECK_FALSE(gunzip(std::span(gz).first(n), 1 << 20));
    }
    auto r = gunzip(std::span(gz).first(gz.size() - 4), 1 << 20);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("truncated"));

    Bytes bad_crc = gz;
    bad_crc[gz.size() - 5] ^= 0xFF;  // inside the CRC32 trailer
    r = gunzip(bad_crc, 1 << 20);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("corrupt"));

    Bytes trailing = gz;
    trailing.push_back(0);
    r = gunzip(trailing, 1 << 20);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("1 trailing bytes"));

    r = gunzip(to_bytes("plain text"), 1 << 20);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("not gzip"));
}

TEST_CASE("is_gzip looks at the gzip magic and method", "[io][gzip]") {
    CHECK(is_gzip(Bytes{0x1F, 0x8B, 0x08}));
    CHECK_FALSE(is_gzip(Bytes{0x1F, 0x8B}));
    CHECK_FALSE(is_gzip(Bytes{0x1F, 0x8B, 0x07}));
    CHECK_FALSE(is_gzip(Bytes{0x00, 0x00, 0x08, 0x03}));
    CHECK_FALSE(is_gzip(Bytes{}));
}
