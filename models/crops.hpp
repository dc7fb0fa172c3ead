#pragma once
// Training samples cut from images of any size: random framed tiles (neighbourhood.hpp).
//
// A model codes a large image as tiles whose context reaches across tile borders (the rows
// above and the columns left and right of a tile come from the image). Training on framed
// crops gives the head exactly that context: each sample is the frame of a tile at a random
// position, its margin read from the image around it, or 0 outside the image, as in coding.
//
// Positions are uniform over every placement of the tile inside an image, and an image is
// drawn with probability proportional to its number of placements, so every pixel of the
// corpus is about equally likely to be trained on. Images smaller than the tile are skipped.
// The result is a pure function of the images, the frame, the count and the seed.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "bbans/expected.hpp"
#include "models/neighbourhood.hpp"

namespace bbans::models {

// rows x cols pixels of `channels` samples, interleaved, row-major.
struct ImageView {
    const std::uint8_t* pixels = nullptr;
    std::size_t rows = 0, cols = 0, channels = 1;
};

// The image mirrored left to right (each pixel's samples kept in order): an augmentation for
// photos, whose mirror images are photos too (not for digits or text).
std::vector<std::uint8_t> mirror_left_right(const ImageView& image);

// count frames of f.size() bytes each, one after another. An error if no image holds the tile
// or an image's channel count differs from the frame's.
Expected<std::vector<std::uint8_t>> sample_frames(std::span<const ImageView> images, const Frame& f, std::size_t count,
                                                  std::uint64_t seed);

}  // namespace bbans::models
