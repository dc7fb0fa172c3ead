#pragma once
// Little-endian byte writing and bounds-checked reading, for every binary format in bbans.
// ByteReader never reads past the end of its span: each read reports failure instead.
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

namespace bbans {

class ByteWriter {
public:
    explicit ByteWriter(std::vector<std::uint8_t>& out) : out_(out) {}
    void u8(std::uint8_t v) { out_.push_back(v); }
    void u16(std::uint16_t v) { put(v, 2); }
    void u32(std::uint32_t v) { put(v, 4); }
    void u64(std::uint64_t v) { put(v, 8); }
    void bytes(std::span<const std::uint8_t> b) {
        // resize + memcpy rather than insert: GCC 12 reports a false -Wstringop-overflow for
        // vector::insert of a span once inlined.
        if (b.empty()) return;
        const std::size_t at = out_.size();
        out_.resize(at + b.size());
        std::memcpy(out_.data() + at, b.data(), b.size());
    }

private:
    void put(std::uint64_t v, int n) {
        for (int i = 0; i < n; ++i) out_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    }
    std::vector<std::uint8_t>& out_;
};

class ByteReader {
public:
    explicit ByteReader(std::span<const std::uint8_t> b) : b_(b) {}
    std::size_t remaining() const { return b_.size() - pos_; }
    std::size_t position() const { return pos_; }
    bool u8(std::uint8_t& v) { return get(v, 1); }
    bool u16(std::uint16_t& v) { return get(v, 2); }
    bool u32(std::uint32_t& v) { return get(v, 4); }
    bool u64(std::uint64_t& v) { return get(v, 8); }
    // The next n bytes, if there are that many.
    bool bytes(std::size_t n, std::span<const std::uint8_t>& out) {
        if (remaining() < n) return false;
        out = b_.subspan(pos_, n);
        pos_ += n;
        return true;
    }

private:
    template <class T>
    bool get(T& v, int n) {
        if (remaining() < static_cast<std::size_t>(n)) return false;
        std::uint64_t x = 0;
        for (int i = 0; i < n; ++i) x |= std::uint64_t{b_[pos_ + static_cast<std::size_t>(i)]} << (8 * i);
        v = static_cast<T>(x);
        pos_ += static_cast<std::size_t>(n);
        return true;
    }
    std::span<const std::uint8_t> b_;
    std::size_t pos_ = 0;
};

}  // namespace bbans
