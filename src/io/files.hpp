#pragma once
// File access for bbans' CLI and library glue: include/bbans/files.hpp, with the input size
// limit of src/io as the default.
#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

#include "bbans/expected.hpp"
#include "bbans/files.hpp"
#include "src/io/images.hpp"

namespace bbans::io {

// The whole file (see bbans::files::read_file).
inline Expected<std::vector<std::uint8_t>> read_file(const std::filesystem::path& path, std::uint64_t max_bytes = kMaxInputBytes) {
    return files::read_file(path, max_bytes);
}

// Atomic write: a temporary file renamed into place (see bbans::files::write_file_atomic).
inline Status write_file_atomic(const std::filesystem::path& path, std::span<const std::uint8_t> bytes, bool overwrite) {
    return files::write_file_atomic(path, bytes, overwrite);
}

}  // namespace bbans::io
