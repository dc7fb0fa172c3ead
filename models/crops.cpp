#include "models/crops.hpp"

#include <algorithm>
#include <string>

#include "models/rng.hpp"

namespace bbans::models {

Expected<std::vector<std::uint8_t>> sample_frames(std::span<const ImageView> images, const Frame& f, std::size_t count,
                                                  std::uint64_t seed) {
    // cumulative[i]: placements in images [0, i].
    std::vector<std::uint64_t> cumulative;
    cumulative.reserve(images.size());
    std::uint64_t total = 0;
    for (const ImageView& im : images) {
        if (im.channels != f.S)
            return make_error("an image has " + std::to_string(im.channels) + " samples per pixel, the model " + std::to_string(f.S));
        if (im.rows >= f.rows && im.cols >= f.cols) total += std::uint64_t{im.rows - f.rows + 1} * (im.cols - f.cols + 1);
        cumulative.push_back(total);
    }
    if (total == 0) return make_error("no image is as large as the " + std::to_string(f.rows) + "x" + std::to_string(f.cols) + " tile");
    std::vector<std::uint8_t> out(count * f.size());
    Rng rng(seed);
    for (std::size_t k = 0; k < count; ++k) {
        const std::uint64_t u = rng.uniform_below(total);
        const auto i = static_cast<std::size_t>(std::upper_bound(cumulative.begin(), cumulative.end(), u) - cumulative.begin());
        const ImageView& im = images[i];
        const std::uint64_t within = u - (i ? cumulative[i - 1] : 0);
        const std::uint64_t across = im.cols - f.cols + 1;
        cut_frame(im.pixels, im.rows, im.cols, f, static_cast<std::ptrdiff_t>(within / across),
                  static_cast<std::ptrdiff_t>(within % across), out.data() + k * f.size());
    }
    return out;
}

std::vector<std::uint8_t> mirror_left_right(const ImageView& image) {
    const std::size_t S = image.channels, row = image.cols * S;
    std::vector<std::uint8_t> out(image.rows * row);
    for (std::size_t r = 0; r < image.rows; ++r)
        for (std::size_t c = 0; c < image.cols; ++c)
            std::copy_n(image.pixels + r * row + c * S, S, out.data() + r * row + (image.cols - 1 - c) * S);
    return out;
}

}  // namespace bbans::models
