// Coding model files (.bbm): every damaged, truncated or foreign file is an Error whose one-line
// message names the problem (and calls the file a model file), never a crash or an exception.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>

#include "models/serialize.hpp"
#include "src/coding/model_file.hpp"
#include "src/container/bbx.hpp"
#include "test_models.hpp"

using namespace bbans;

namespace {

constexpr std::size_t kHeader = 20;  // magic 8, version 4, payload length 8
constexpr std::size_t kHash = 16;

// A valid coding model file of the tiny test model.
const std::string& model_file() {
    static const std::string bytes = [] {
        auto tm = test::tiny_model(21);
        tm.vae.info().description = "model file rejection test";
        tm.vae.info().heldout_neg_elbo_bpd = 4.5;
        return models::serialize_coding_model(tm.vae.info(), tm.q);
    }();
    return bytes;
}

std::span<const std::uint8_t> as_bytes(std::string_view s) { return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}; }

// Parses bytes that must be rejected; returns the message.
std::string rejection(std::string_view bytes) {
    std::optional<Expected<coding::CodingModel>> r;
    REQUIRE_NOTHROW(r.emplace(coding::parse_model(as_bytes(bytes))));
    REQUIRE_FALSE(r->has_value());
    const std::string message = r->error().message;
    CHECK_FALSE(message.empty());
    CHECK(message.find('\n') == std::string::npos);
    return message;
}

void put_u64(std::string& s, std::size_t at, std::uint64_t v) {
    for (int i = 0; i < 8; ++i) s[at + static_cast<std::size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xFF);
}

std::filesystem::path temp_path(const std::string& name) {
    return std::filesystem::temp_directory_path() / ("bbans_model_file_test_" + name);
}

}  // namespace

TEST_CASE("model file: a valid file loads and its identity is its payload hash", "[model_file]") {
    auto m = coding::parse_model(as_bytes(model_file()));
    REQUIRE(m.has_value());
    CHECK(m->file.config().rows == 8);
    CHECK(m->file.info.heldout_neg_elbo_bpd == 4.5);
    auto payload = models::unwrap_container(models::kCodingModelMagic, model_file());
    REQUIRE(payload.has_value());
    CHECK(m->identity_hex() == models::hash128(*payload).hex());
}

TEST_CASE("model file: peek_coding_config reads the configuration from the first bytes, and refuses any shorter prefix", "[model_file]") {
    const std::string& file = model_file();
    auto full = coding::parse_model(as_bytes(file));
    REQUIRE(full.has_value());
    const models::VaeConfig& want = full->file.config();
    // A whole file and a 4 KiB prefix (what the catalog reads) give the file's configuration.
    for (std::size_t n : {file.size(), std::size_t{4096}}) {
        auto cfg = models::peek_coding_config(std::string_view(file).substr(0, n));
        REQUIRE(cfg.has_value());
        CHECK(cfg->rows == want.rows);
        CHECK(cfg->cols == want.cols);
        CHECK(cfg->image_channels == want.image_channels);
        CHECK(cfg->latent == want.latent);
        CHECK(cfg->likelihood == want.likelihood);
        CHECK(cfg->head_hidden == want.head_hidden);
    }
    // Every prefix either gives that configuration or is an error (never a crash); the short
    // ones are errors, and from some length on every prefix gives it.
    std::size_t first_ok = 0;
    for (std::size_t n = 0; n <= 512; ++n) {
        auto cfg = models::peek_coding_config(std::string_view(file).substr(0, n));
        if (cfg) {
            CHECK(cfg->rows == want.rows);
            if (first_ok == 0) first_ok = n;
        } else {
            CHECK(first_ok == 0);  // no error after a prefix that was enough
        }
    }
    CHECK(first_ok > kHeader);
    // Not a coding model file: the float model's magic, a damaged magic, another version.
    std::string bad = file;
    bad[0] = 'X';
    CHECK_FALSE(models::peek_coding_config(bad).has_value());
    bad = file;
    bad[8] = 99;
    CHECK_FALSE(models::peek_coding_config(bad).has_value());
}

TEST_CASE("model file: every prefix of the header, and prefixes into the payload, are truncated", "[model_file]") {
    const std::string& file = model_file();
    REQUIRE(file.size() > kHeader + kHash + 1000);
    CHECK_THAT(rejection(""), Catch::Contains("empty file") && Catch::Contains("model file"));
    // Shorter than header + hash: the bytes present are a prefix of a model file.
    for (std::size_t n = 1; n < kHeader + kHash; ++n) {
        INFO("length " << n);
        const std::string m = rejection(std::string_view(file).substr(0, n));
        CHECK_THAT(m, Catch::Contains("model file is truncated"));
        CHECK_THAT(m, !Catch::Contains("checkpoint"));
    }
    // Into the payload and the hash: the header's length says more than is there.
    const std::size_t payload = file.size() - kHeader - kHash;
    for (std::size_t n : {kHeader + kHash, kHeader + kHash + 1, kHeader + 100, kHeader + payload / 2, kHeader + payload,
                          file.size() - 8, file.size() - 1}) {
        INFO("length " << n);
        const std::string m = rejection(std::string_view(file).substr(0, n));
        CHECK_THAT(m, Catch::Contains("model file is truncated (payload length " + std::to_string(payload) + " bytes"));
    }
}

TEST_CASE("model file: a wrong magic or an unknown version is named", "[model_file]") {
    std::string bad = model_file();
    bad[0] = 'X';
    CHECK_THAT(rejection(bad), Catch::Equals("not a bbans model file (bad magic)"));
    bad = model_file();
    bad[7] = 'X';  // BBANSCOX
    CHECK_THAT(rejection(bad), Catch::Equals("not a bbans model file (bad magic)"));
    // A float model file (training output) has a model file's container but cannot code.
    bad = model_file();
    bad.replace(0, 8, models::kModelMagic);
    CHECK_THAT(rejection(bad), Catch::Contains("not a bbans coding model file") && Catch::Contains("float model file"));
    bad = model_file();
    bad[8] = 2;
    CHECK_THAT(rejection(bad), Catch::Equals("unsupported model file format version 2"));
}

TEST_CASE("model file: foreign files are not bbans model files", "[model_file]") {
    // A PNG file: signature, IHDR of a 1x1 grey image and IEND (CRCs are not checked here).
    std::string png("\x89PNG\r\n\x1a\n", 8);
    png += std::string("\0\0\0\x0dIHDR\0\0\0\x01\0\0\0\x01\x08\0\0\0\0\x3a\x7e\x9b\x55", 25);
    png += std::string("\0\0\0\0IEND\xae\x42\x60\x82", 12);
    CHECK_THAT(rejection(png), Catch::Equals("not a bbans model file (bad magic)"));
    CHECK_THAT(rejection(png.substr(0, 8)), Catch::Equals("not a bbans model file (too short)"));

    // A .bbx file.
    const std::string text(2000, 'b');
    auto bbx = container::compress_fallback(as_bytes(text));
    REQUIRE(bbx.has_value());
    CHECK_THAT(rejection(std::string_view(reinterpret_cast<const char*>(bbx->data()), bbx->size())),
               Catch::Equals("not a bbans model file (bad magic)"));

    // A training checkpoint is recognised and called one.
    const auto tm = test::tiny_model(22);
    const std::string checkpoint = models::serialize_checkpoint(tm.vae, models::CheckpointState{});
    CHECK_THAT(rejection(checkpoint), Catch::Equals("not a bbans model file (wrong magic: this is a training checkpoint)"));

    // Text.
    CHECK_THAT(rejection("# bbans model card\n\n| | |\n| --- | --- |\n| identity | x |\n"), Catch::Equals("not a bbans model file (bad magic)"));
}

TEST_CASE("model file: an oversized length field is refused before anything is read", "[model_file]") {
    const std::string& file = model_file();
    const std::size_t payload = file.size() - kHeader - kHash;
    std::string bad = file;
    put_u64(bad, 12, std::uint64_t{1} << 40);
    CHECK_THAT(rejection(bad), Catch::Equals("model file has an impossible payload length (1099511627776 bytes)"));
    put_u64(bad, 12, ~std::uint64_t{0});
    CHECK_THAT(rejection(bad), Catch::Contains("impossible payload length"));
    // One byte more than the file holds: truncated.
    put_u64(bad, 12, payload + 1);
    CHECK_THAT(rejection(bad), Catch::Contains("model file is truncated (payload length " + std::to_string(payload + 1) + " bytes, " +
                                               std::to_string(payload) + " present)"));
    // One byte less: the last byte of the hash is left over.
    put_u64(bad, 12, payload - 1);
    CHECK_THAT(rejection(bad), Catch::Equals("model file has trailing bytes (1 after the content hash)"));
}

TEST_CASE("model file: a flipped payload or hash byte is a content hash mismatch", "[model_file]") {
    const std::string& file = model_file();
    for (std::size_t at : {kHeader, kHeader + 1, kHeader + 57, file.size() / 2, file.size() - kHash - 1, file.size() - kHash, file.size() - 1}) {
        INFO("byte " << at);
        std::string bad = file;
        bad[at] = static_cast<char>(bad[at] ^ 0x10);
        CHECK_THAT(rejection(bad), Catch::Equals("model file is corrupt (content hash mismatch)"));
    }
}

TEST_CASE("model file: trailing bytes are refused", "[model_file]") {
    const std::string& file = model_file();
    CHECK_THAT(rejection(file + 'x'), Catch::Equals("model file has trailing bytes (1 after the content hash)"));
    CHECK_THAT(rejection(file + file), Catch::Contains("model file has trailing bytes"));
}

TEST_CASE("model file: a payload with a valid hash but bad content is an invalid model file", "[model_file]") {
    const std::string& file = model_file();
    auto payload = models::unwrap_container(models::kCodingModelMagic, file);
    REQUIRE(payload.has_value());
    const std::string p(*payload);
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{40}, p.size() / 2, p.size() - 1}) {
        INFO("payload length " << n);
        CHECK_THAT(rejection(models::wrap_container(models::kCodingModelMagic, std::string_view(p).substr(0, n))),
                   Catch::StartsWith("invalid model file: "));
    }
    CHECK_THAT(rejection(models::wrap_container(models::kCodingModelMagic, p + '\0')),
               Catch::Equals("invalid model file: unexpected bytes after the model"));
}

TEST_CASE("model file: load_model names the file in every error", "[model_file]") {
    const auto dir = temp_path("dir");
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    const auto good = dir / "good.bbm", cut = dir / "cut.bbm";
    std::ofstream(good, std::ios::binary) << model_file();
    std::ofstream(cut, std::ios::binary) << model_file().substr(0, 30);
    CHECK(coding::load_model(good).has_value());
    auto r = coding::load_model(cut);
    REQUIRE_FALSE(r.has_value());
    CHECK_THAT(r.error().message, Catch::Equals(cut.string() + ": model file is truncated (30 bytes, shorter than its header)"));
    auto missing = coding::load_model(dir / "missing.bbm");
    REQUIRE_FALSE(missing.has_value());
    CHECK_THAT(missing.error().message, Catch::StartsWith((dir / "missing.bbm").string() + ": ") && Catch::Contains("no such file"));
    auto directory = coding::load_model(dir);
    REQUIRE_FALSE(directory.has_value());
    CHECK_THAT(directory.error().message, Catch::StartsWith(dir.string() + ": ") && Catch::Contains("directory"));
    std::filesystem::remove_all(dir);
}
