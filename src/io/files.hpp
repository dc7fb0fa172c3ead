#pragma once
// File access for bbans: whole-file reads with clear errors, and atomic writes.
#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

#include "bbans/expected.hpp"
#include "src/io/images.hpp"

namespace bbans::io {

// The whole file. Errors name the path and say why: missing, a directory, unreadable (with the
// system's reason), or larger than max_bytes.
Expected<std::vector<std::uint8_t>> read_file(const std::filesystem::path& path,
                                              std::uint64_t max_bytes = kMaxInputBytes);

// Writes bytes to a temporary file in path's directory, fsyncs it, then renames it over path
// (and fsyncs the directory), so readers see the old file or the new one, never a partial one.
// Without overwrite, an existing path is an error and is left untouched (checked atomically at
// the rename, not only before). On any failure the temporary file is removed.
Status write_file_atomic(const std::filesystem::path& path, std::span<const std::uint8_t> bytes, bool overwrite);

}  // namespace bbans::io
