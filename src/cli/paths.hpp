#pragma once
// Checks of the paths a command reads and writes, shared by the commands. They follow zstd and
// xz: made before any work starts (so a run that cannot write its output fails at once), "-" is
// standard input or output, and a terminal is neither read as data nor sent compressed data.
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include "bbans/expected.hpp"

namespace bbans::cli {

// How an input is named in messages: "-" is "standard input".
inline std::string display_input(const std::string& path) { return path == "-" ? std::string("standard input") : path; }

// Checks that can fail before any work is done: same file in and out, an existing output, a
// missing directory, a terminal. binary: the output is compressed data (not for a terminal).
inline Status check_output(const std::string& in, const std::string& out, bool force, bool binary) {
    namespace fs = std::filesystem;
    if (out == "-") {
        if (binary && ::isatty(STDOUT_FILENO))
            return make_error("refusing to write compressed data to a terminal (redirect it, or name an output file)");
        return Ok{};
    }
    std::error_code ec;
    if (in != "-" && fs::exists(out, ec) && fs::equivalent(in, out, ec)) return make_error(out + ": output is the input file");
    if (fs::is_directory(out, ec)) return make_error(out + ": is a directory");
    if (!force && fs::exists(fs::symlink_status(out, ec))) return make_error(out + ": already exists (use -f to overwrite)");
    const fs::path dir = fs::path(out).parent_path();
    if (!dir.empty() && !fs::is_directory(dir, ec)) return make_error(out + ": directory " + dir.string() + " does not exist");
    return Ok{};
}

// An input file (or folder, if allowed) that exists and can be read; "-" when standard input
// is not a terminal.
inline Status check_input(const std::string& in, bool allow_folder) {
    namespace fs = std::filesystem;
    if (in == "-") {
        if (::isatty(STDIN_FILENO)) return make_error("refusing to read from a terminal (redirect standard input, or name a file)");
        return Ok{};
    }
    std::error_code ec;
    const auto st = fs::status(in, ec);
    if (!fs::exists(st)) return make_error(in + ": no such file");
    if (fs::is_directory(st) && !allow_folder) return make_error(in + ": is a directory, not a file");
    if (!fs::is_directory(st) && !fs::is_regular_file(st)) return make_error(in + ": not a regular file");
    if (::access(in.c_str(), R_OK) != 0) return make_error(in + ": cannot read: " + std::strerror(errno));
    return Ok{};
}

}  // namespace bbans::cli
