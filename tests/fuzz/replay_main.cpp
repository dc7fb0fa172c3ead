// Runs the decompression fuzz target on files, without libFuzzer: every regular file under
// each directory given (recursively, in sorted order) and every file given by name.
// An invariant violation aborts inside the target, naming the invariant; the file being run is
// printed first so that the failing input is known.
// usage: decompress_fuzz_replay [--min-files N] DIR_OR_FILE...
//   fails if fewer than N files were run (default 1), or if no input decoded successfully
//   and none was rejected: a corpus that misses either outcome tests little.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "tests/fuzz/decompress_fuzz.hpp"

namespace fs = std::filesystem;

namespace {

std::vector<std::uint8_t> read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) {
        std::fprintf(stderr, "replay: cannot open %s\n", p.c_str());
        std::exit(2);
    }
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

int main(int argc, char** argv) {
    std::size_t min_files = 1;
    std::vector<fs::path> files;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--min-files" && i + 1 < argc) {
            min_files = std::stoul(argv[++i]);
            continue;
        }
        const fs::path p(arg);
        std::error_code ec;
        if (fs::is_directory(p, ec)) {
            for (const auto& e : fs::recursive_directory_iterator(p))
                if (e.is_regular_file()) files.push_back(e.path());
        } else if (fs::is_regular_file(p, ec)) {
            files.push_back(p);
        } else {
            std::fprintf(stderr, "replay: %s is neither a file nor a directory\n", arg.c_str());
            return 2;
        }
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
        const auto bytes = read_file(f);
        std::fprintf(stderr, "replay: %s (%zu bytes)\n", f.c_str(), bytes.size());
        LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
    }
    const auto& s = bbans::fuzz::stats();
    std::printf("replay: %zu files: %llu decoded (%llu by bits-back), %llu rejected, %llu decoded after repairing checksums, "
                "%llu messages parsed\n",
                files.size(), static_cast<unsigned long long>(s.decoded), static_cast<unsigned long long>(s.bits_back_decoded),
                static_cast<unsigned long long>(s.rejected), static_cast<unsigned long long>(s.repaired_decoded),
                static_cast<unsigned long long>(s.messages));
    if (files.size() < min_files) {
        std::printf("replay: FAIL: expected at least %zu files\n", min_files);
        return 1;
    }
    if (s.decoded == 0 || s.rejected == 0) {
        std::printf("replay: FAIL: the inputs must include files that decode and files that are rejected\n");
        return 1;
    }
    if (s.bits_back_decoded == 0) {
        std::printf("replay: FAIL: no input was decoded by the bits-back decoder (is models/shipped/mnist-v1.bbm there?)\n");
        return 1;
    }
    std::printf("replay: all %zu inputs kept every invariant\n", files.size());
    return 0;
}
