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

// The normalized neighbours of pixel (r, c) of a rows x cols image (row-major bytes) into out[12].
// Reads only pixels before (r, c) in raster order, so `image` may be partially decoded.
template <class T>
inline void neighbourhood(const std::uint8_t* image, std::size_t rows, std::size_t cols, std::size_t r, std::size_t c,
                          T* out) {
    for (std::size_t k = 0; k < kNeighbours; ++k) {
        const auto rr = static_cast<std::ptrdiff_t>(r) + kNeighbourOffsets[k].dr;
        const auto cc = static_cast<std::ptrdiff_t>(c) + kNeighbourOffsets[k].dc;
        if (rr < 0 || cc < 0 || rr >= static_cast<std::ptrdiff_t>(rows) || cc >= static_cast<std::ptrdiff_t>(cols)) {
            out[k] = T(0);
        } else {
            out[k] = static_cast<T>(image[static_cast<std::size_t>(rr) * cols + static_cast<std::size_t>(cc)]) / T(255);
        }
    }
}

}  // namespace bbans::models
