#pragma once
// Small helpers shared by the src/io parsers (not part of the public API).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace bbans::io::detail {

// a * b, or nothing if the product does not fit: every size computed from a hostile header
// goes through this before it is compared or allocated.
inline std::optional<std::uint64_t> checked_mul(std::uint64_t a, std::uint64_t b) {
    std::uint64_t product = 0;
    if (__builtin_mul_overflow(a, b, &product)) return std::nullopt;
    return product;
}

inline std::optional<std::uint64_t> checked_mul(std::uint64_t a, std::uint64_t b, std::uint64_t c) {
    auto ab = checked_mul(a, b);
    return ab ? checked_mul(*ab, c) : std::nullopt;
}

// Big-endian uint32 at offset; the caller has checked that 4 bytes are there.
inline std::uint32_t load_be32(std::span<const std::uint8_t> bytes, std::size_t offset) {
    return std::uint32_t{bytes[offset]} << 24 | std::uint32_t{bytes[offset + 1]} << 16 |
           std::uint32_t{bytes[offset + 2]} << 8 | std::uint32_t{bytes[offset + 3]};
}

inline std::string hex32(std::uint32_t v) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string s = "0x";
    for (int shift = 28; shift >= 0; shift -= 4) s += digits[(v >> shift) & 0xF];
    return s;
}

}  // namespace bbans::io::detail
