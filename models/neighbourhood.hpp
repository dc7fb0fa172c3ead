#pragma once
// The causal neighbourhood of the autoregressive likelihood head.
//
// Pixels are modelled in raster order (row by row, left to right). Pixel (r, c) sees 12
// already-coded neighbours, in this order:
//     (r, c-2) (r, c-1)                                  the two to the left, same row
//     (r-1, c-2) (r-1, c-1) (r-1, c) (r-1, c+1) (r-1, c+2)  five on the row above
//     (r-2, c-2) (r-2, c-1) (r-2, c) (r-2, c+1) (r-2, c+2)  five two rows above
// Each is normalized to value / 255 (so 0 = black, 1 = white). A neighbour outside the image
// reads as 0, i.e. like a black pixel. Every neighbour precedes (r, c) in raster order, so a
// decoder has them all when it needs them; a test checks that.
//
// COLOUR. A pixel has S samples (channels) coded in order 0..S-1. Sample s of pixel (r, c) sees
// the 12 neighbours above in its own channel, then, for each channel j < S - 1, four values of
// channel j: at (r, c), (r, c-1), (r-1, c), (r-1, c-1) if j < s (already coded), else 0. So the
// context has 12 + 4 (S - 1) values; for S = 1 it is the 12 neighbours above.
//
// FRAMES. Training and coding read the context from a frame: the tile's samples with 2 rows
// above and 2 columns left and right, (rows + 2) x (cols + 4) pixels of S samples, interleaved.
// The margin holds the image around the tile, or 0 outside the image. Every context value is
// then one load at a fixed offset from the sample, the same for every sample of a tile.
#include <array>
#include <cstddef>
#include <cstdint>

namespace bbans::models {

struct PixelOffset {
    int dr;
    int dc;
};

inline constexpr std::size_t kNeighbours = 12;
inline constexpr std::array<PixelOffset, kNeighbours> kNeighbourOffsets{{
    {0, -2}, {0, -1},
    {-1, -2}, {-1, -1}, {-1, 0}, {-1, 1}, {-1, 2},
    {-2, -2}, {-2, -1}, {-2, 0}, {-2, 1}, {-2, 2},
}};

inline constexpr std::size_t kColourContext = 4;
inline constexpr std::array<PixelOffset, kColourContext> kColourOffsets{{{0, 0}, {0, -1}, {-1, 0}, {-1, -1}}};
inline constexpr std::size_t kMaxImageChannels = 4;

// Context values of a sample for S samples per pixel.
constexpr std::size_t head_context_size(std::size_t S) { return kNeighbours + kColourContext * (S - 1); }

// Frame geometry for a rows x cols tile of S samples per pixel.
struct Frame {
    std::size_t rows = 0, cols = 0, S = 1;
    std::size_t stride() const { return (cols + 4) * S; }                // bytes per frame row
    std::size_t size() const { return (rows + 2) * stride(); }            // bytes per frame
    std::size_t at(std::size_t r, std::size_t c) const { return (r + 2) * stride() + (c + 2) * S; }  // pixel (r, c), sample 0
    // Offset of context value k of sample s from that sample's own position.
    std::ptrdiff_t offset(std::size_t s, std::size_t k) const {
        const auto st = static_cast<std::ptrdiff_t>(stride()), n = static_cast<std::ptrdiff_t>(S);
        if (k < kNeighbours) return kNeighbourOffsets[k].dr * st + kNeighbourOffsets[k].dc * n;
        const std::size_t j = (k - kNeighbours) / kColourContext;
        const PixelOffset o = kColourOffsets[(k - kNeighbours) % kColourContext];
        return o.dr * st + o.dc * n + static_cast<std::ptrdiff_t>(j) - static_cast<std::ptrdiff_t>(s);
    }
    // Whether context value k of sample s is read (colour values of channels j >= s are 0).
    static bool used(std::size_t s, std::size_t k) { return k < kNeighbours || (k - kNeighbours) / kColourContext < s; }
};

// The context of sample s whose byte is at `sample` in a frame: out[k] = value / divisor (or 0
// where Frame::used is false), k < head_context_size(S).
template <class T>
inline void frame_context(const Frame& f, const std::uint8_t* sample, std::size_t s, T divisor, T* out) {
    const std::size_t n = head_context_size(f.S);
    for (std::size_t k = 0; k < n; ++k) out[k] = Frame::used(s, k) ? static_cast<T>(sample[f.offset(s, k)]) / divisor : T(0);
}

// The frame of a tile whose top-left pixel is (r0, c0) in an image of H x W pixels of S samples
// (row-major, interleaved), reading 0 outside the image, into out (f.size() bytes).
inline void cut_frame(const std::uint8_t* image, std::size_t H, std::size_t W, const Frame& f, std::ptrdiff_t r0,
                      std::ptrdiff_t c0, std::uint8_t* out) {
    for (std::size_t fr = 0; fr < f.rows + 2; ++fr) {
        const std::ptrdiff_t r = r0 + static_cast<std::ptrdiff_t>(fr) - 2;
        std::uint8_t* dst = out + fr * f.stride();
        for (std::size_t fc = 0; fc < f.cols + 4; ++fc) {
            const std::ptrdiff_t c = c0 + static_cast<std::ptrdiff_t>(fc) - 2;
            const bool in = r >= 0 && c >= 0 && r < static_cast<std::ptrdiff_t>(H) && c < static_cast<std::ptrdiff_t>(W);
            for (std::size_t s = 0; s < f.S; ++s)
                dst[fc * f.S + s] = in ? image[(static_cast<std::size_t>(r) * W + static_cast<std::size_t>(c)) * f.S + s] : 0;
        }
    }
}

// The neighbours of pixel (r, c) of a rows x cols image (row-major bytes) into out[12], each
// value / divisor (normalized by default; divisor 1: the bytes, as the integer model takes them).
// Reads only pixels before (r, c) in raster order, so `image` may be partially decoded.
template <class T>
inline void neighbourhood(const std::uint8_t* image, std::size_t rows, std::size_t cols, std::size_t r, std::size_t c,
                          T* out, T divisor = T(255)) {
    for (std::size_t k = 0; k < kNeighbours; ++k) {
        const auto rr = static_cast<std::ptrdiff_t>(r) + kNeighbourOffsets[k].dr;
        const auto cc = static_cast<std::ptrdiff_t>(c) + kNeighbourOffsets[k].dc;
        if (rr < 0 || cc < 0 || rr >= static_cast<std::ptrdiff_t>(rows) || cc >= static_cast<std::ptrdiff_t>(cols)) {
            out[k] = T(0);
        } else {
            out[k] = static_cast<T>(image[static_cast<std::size_t>(rr) * cols + static_cast<std::size_t>(cc)]) / divisor;
        }
    }
}

}  // namespace bbans::models
