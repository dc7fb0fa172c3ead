#pragma once
// What the archive code reads from and writes to, so that it never touches files itself: the
// CLI passes files (src/cli), the library API and tests pass memory.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "bbans/expected.hpp"

namespace bbans::archive {

// Bytes of known size, read at any offset. read_at may be called from several threads at once.
class Input {
public:
    virtual ~Input() = default;
    virtual std::uint64_t size() const = 0;
    // Fills `out` with the bytes at [offset, offset + out.size()); an Error if they are not all
    // there (the file shrank, a read failed).
    virtual Status read_at(std::uint64_t offset, std::span<std::uint8_t> out) const = 0;
};

// Bytes written in order.
class Output {
public:
    virtual ~Output() = default;
    virtual Status write(std::span<const std::uint8_t> bytes) = 0;
};

class MemoryInput final : public Input {
public:
    explicit MemoryInput(std::span<const std::uint8_t> bytes) : b_(bytes) {}
    std::uint64_t size() const override { return b_.size(); }
    Status read_at(std::uint64_t offset, std::span<std::uint8_t> out) const override {
        if (offset > b_.size() || out.size() > b_.size() - offset) return make_error("read past the end of the input");
        if (!out.empty()) std::memcpy(out.data(), b_.data() + offset, out.size());
        return Ok{};
    }

private:
    std::span<const std::uint8_t> b_;
};

class MemoryOutput final : public Output {
public:
    Status write(std::span<const std::uint8_t> bytes) override {
        bytes_.insert(bytes_.end(), bytes.begin(), bytes.end());
        return Ok{};
    }
    std::vector<std::uint8_t>& bytes() { return bytes_; }

private:
    std::vector<std::uint8_t> bytes_;
};

// Reads n bytes at offset into a new vector.
inline Expected<std::vector<std::uint8_t>> read_range(const Input& in, std::uint64_t offset, std::uint64_t n) {
    if (offset > in.size() || n > in.size() - offset) return make_error("read past the end of the input");
    std::vector<std::uint8_t> out(static_cast<std::size_t>(n));
    if (auto ok = in.read_at(offset, out); !ok) return ok.error();
    return out;
}

}  // namespace bbans::archive
