// The bundled samples in corpora/samples parse as the documented 1,000 images of 28x28, and
// write_idx reproduces them byte for byte. (Their SHA-256 is checked by check_samples.sh.)
#include <catch2/catch.hpp>

#include "io_test_util.hpp"
#include "src/io/files.hpp"
#include "src/io/images.hpp"

namespace {
const std::filesystem::path kSamples = std::filesystem::path(BBANS_CORPORA_DIR) / "samples";
}

TEST_CASE("bundled samples parse as 1000 images of 28x28 and round trip", "[io][samples]") {
    for (const char* name : {"mnist-test-1000-images-idx3-ubyte", "fashion-mnist-test-first1000-images-idx3-ubyte"}) {
        INFO(name);
        auto bytes = bbans::io::read_file(kSamples / name);
        REQUIRE(bytes);
        auto set = bbans::io::load_images(kSamples / name);
        REQUIRE(set);
        CHECK(set->count == 1000);
        CHECK(set->rows == 28);
        CHECK(set->cols == 28);
        CHECK(bbans::io::write_idx(*set) == *bytes);
        // Real images, not a blank file: both corpora use the full 0..255 range.
        const auto [lo, hi] = std::minmax_element(set->pixels.begin(), set->pixels.end());
        CHECK(*lo == 0);
        CHECK(*hi == 255);
    }
}
