#pragma once
// Reversible integer colour transforms: a colour model codes its pixels in its own colour space.
//
// A model with a colour transform sees every pixel of S >= 3 samples (R, G, B[, A]) as three
// other bytes (and alpha unchanged); the transform is applied to the pixels before training or
// coding, and its inverse to the decoded pixels. Both directions are bijections on bytes, done
// with integer arithmetic modulo 256, so nothing is lost and no float is involved.
//
// TRAPS
//   - Differences of bytes range over -255..255; modulo 256 they fit a byte again, and each
//     lifting step (x += f(y) mod 256, with y unchanged) is undone by x -= f(y) mod 256, so the
//     transform stays a bijection even where a difference wraps (saturated colours). The wrap
//     only costs rate, never correctness.
//   - The halving steps of YCoCg-R use the difference read as a signed byte (-128..127) and an
//     arithmetic shift (floor), in both directions: the inverse must see exactly the value the
//     forward step used, which it has, since that value is stored.
//
//   subtract_green (WebP's transform; centred):  (G, R - G + 128, B - G + 128)
//   ycocg_r (the lifting of YCoCg-R, modulo 256, centred):
//       Co = R - B;  t = B + (Co >> 1);  Cg = G - t;  Y = t + (Cg >> 1)
//       stored as (Y, Co + 128, Cg + 128); the inverse runs the steps backwards.
#include <cstddef>
#include <cstdint>
#include <span>

namespace bbans::models {

enum class ColourTransform : std::uint8_t {
    none = 0,
    subtract_green = 1,
    ycocg_r = 2,
};
inline constexpr std::uint8_t kMaxColourTransform = 2;

inline const char* colour_transform_name(ColourTransform t) {
    switch (t) {
        case ColourTransform::none: return "none";
        case ColourTransform::subtract_green: return "subtract-green";
        case ColourTransform::ycocg_r: return "ycocg-r";
    }
    return "unknown";
}

namespace detail {
// A byte read as a signed difference in -128..127.
constexpr int signed_byte(int v) {
    v &= 255;
    return v >= 128 ? v - 256 : v;
}
constexpr std::uint8_t byte(int v) { return static_cast<std::uint8_t>(v & 255); }
}  // namespace detail

// The transform of one pixel's first three samples, in place.
inline void colour_forward(ColourTransform t, std::uint8_t* p) {
    using detail::byte, detail::signed_byte;
    const int R = p[0], G = p[1], B = p[2];
    switch (t) {
        case ColourTransform::none: return;
        case ColourTransform::subtract_green:
            p[0] = byte(G), p[1] = byte(R - G + 128), p[2] = byte(B - G + 128);
            return;
        case ColourTransform::ycocg_r: {
            const int co = signed_byte(R - B);
            const int t0 = (B + (co >> 1)) & 255;
            const int cg = signed_byte(G - t0);
            p[0] = byte(t0 + (cg >> 1)), p[1] = byte(co + 128), p[2] = byte(cg + 128);
            return;
        }
    }
}
inline void colour_inverse(ColourTransform t, std::uint8_t* p) {
    using detail::byte;
    switch (t) {
        case ColourTransform::none: return;
        case ColourTransform::subtract_green: {
            const int G = p[0];
            p[0] = byte(p[1] - 128 + G), p[1] = byte(G), p[2] = byte(p[2] - 128 + G);
            return;
        }
        case ColourTransform::ycocg_r: {
            const int co = p[1] - 128, cg = p[2] - 128;  // -128..127, as the forward step stored them
            const int t0 = (p[0] - (cg >> 1)) & 255;
            const int G = (cg + t0) & 255;
            const int B = (t0 - (co >> 1)) & 255;
            p[0] = byte(B + co), p[1] = byte(G), p[2] = byte(B);
            return;
        }
    }
}

// Every pixel of an interleaved buffer of S samples per pixel (S >= 3 unless t is none).
inline void colour_forward(ColourTransform t, std::span<std::uint8_t> pixels, std::size_t S) {
    if (t == ColourTransform::none) return;
    for (std::size_t i = 0; i + S <= pixels.size(); i += S) colour_forward(t, pixels.data() + i);
}
inline void colour_inverse(ColourTransform t, std::span<std::uint8_t> pixels, std::size_t S) {
    if (t == ColourTransform::none) return;
    for (std::size_t i = 0; i + S <= pixels.size(); i += S) colour_inverse(t, pixels.data() + i);
}

}  // namespace bbans::models
