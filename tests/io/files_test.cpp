// read_file and write_file_atomic.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <thread>

#include "io_test_util.hpp"
#include "src/io/files.hpp"

using namespace io_test;
using bbans::io::read_file;
using bbans::io::write_file_atomic;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {
std::vector<std::string> names_in(const fs::path& dir) {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}
}  // namespace

TEST_CASE("read_file reads a whole file", "[io][files]") {
    TempDir dir;
    const Bytes data = random_pixels(200000);
    write_bytes(dir / "a.bin", data);
    auto r = read_file(dir / "a.bin");
    REQUIRE(r);
    CHECK(*r == data);

    write_bytes(dir / "empty", {});
    r = read_file(dir / "empty");
    REQUIRE(r);
    CHECK(r->empty());
}

TEST_CASE("read_file gives clear errors for missing and directories and the size cap", "[io][files]") {
    TempDir dir;
    auto r = read_file(dir / "missing.idx");
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("missing.idx: no such file"));

    r = read_file(dir.path());
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("is a directory"));

    write_bytes(dir / "big", random_pixels(1000));
    r = read_file(dir / "big", 999);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("limit of 999"));
    CHECK(read_file(dir / "big", 1000));
}

TEST_CASE("read_file reports an unreadable file", "[io][files]") {
    if (::geteuid() == 0) {
        WARN("running as root: permissions are not enforced, skipping the unreadable-file check");
        return;
    }
    TempDir dir;
    write_bytes(dir / "secret", random_pixels(10));
    fs::permissions(dir / "secret", fs::perms::none);
    auto r = read_file(dir / "secret");
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("cannot open"));
}

TEST_CASE("read_file reads from a non-regular file such as a pipe", "[io][files]") {
    TempDir dir;
    const fs::path fifo = dir / "fifo";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    const Bytes data = random_pixels(100000, 4);
    std::thread writer([&] { write_bytes(fifo, data); });
    auto r = read_file(fifo);
    writer.join();
    REQUIRE(r);
    CHECK(*r == data);
}

TEST_CASE("write_file_atomic creates a file and leaves no temporary behind", "[io][files]") {
    TempDir dir;
    const Bytes data = random_pixels(5000);
    REQUIRE(write_file_atomic(dir / "out.bbx", data, false));
    CHECK(read_bytes(dir / "out.bbx") == data);
    CHECK(names_in(dir.path()) == std::vector<std::string>{"out.bbx"});
}

TEST_CASE("write_file_atomic refuses to overwrite unless asked", "[io][files]") {
    TempDir dir;
    const Bytes old_data = random_pixels(100, 1), new_data = random_pixels(300, 2);
    write_bytes(dir / "f", old_data);

    auto r = write_file_atomic(dir / "f", new_data, false);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("already exists"));
    CHECK(read_bytes(dir / "f") == old_data);
    CHECK(names_in(dir.path()) == std::vector<std::string>{"f"});

    REQUIRE(write_file_atomic(dir / "f", new_data, true));
    CHECK(read_bytes(dir / "f") == new_data);
    CHECK(names_in(dir.path()) == std::vector<std::string>{"f"});
}

TEST_CASE("write_file_atomic errors leave nothing behind", "[io][files]") {
    TempDir dir;
    auto r = write_file_atomic(dir / "no-such-dir" / "f", random_pixels(10), false);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("does not exist"));

    fs::create_directory(dir / "sub");
    r = write_file_atomic(dir / "sub", random_pixels(10), true);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("is a directory"));
    CHECK(names_in(dir.path()) == std::vector<std::string>{"sub"});
    CHECK(names_in(dir / "sub").empty());
}

TEST_CASE("write_file_atomic without overwrite lets exactly one of many racing writers win", "[io][files]") {
    TempDir dir;
    constexpr int kWriters = 8;
    std::vector<int> ok(kWriters, 0);
    std::vector<std::thread> threads;
    for (int i = 0; i < kWriters; ++i)
        threads.emplace_back([&, i] { ok[i] = write_file_atomic(dir / "race", random_pixels(4096, i), false) ? 1 : 0; });
    for (auto& t : threads) t.join();
    int winners = 0, winner = -1;
    for (int i = 0; i < kWriters; ++i)
        if (ok[i]) winners++, winner = i;
    REQUIRE(winners == 1);
    CHECK(read_bytes(dir / "race") == random_pixels(4096, static_cast<std::uint32_t>(winner)));
    CHECK(names_in(dir.path()) == std::vector<std::string>{"race"});
}
