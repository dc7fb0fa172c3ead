#pragma once
// Many images on one message: the bits-back part of a .bbx file (docs/format.md, method 3).
// The images are pushed in order, each band by band (src/coding/tiled_coder.hpp); the first
// `seed` bands pushed go without bits back (a band is a whole image when the model's tile is
// the image). Decoding pops them in reverse and must end on the empty message.
#include <cstdint>
#include <functional>
#include <vector>

#include "bbans/expected.hpp"
#include "src/coding/tiled_coder.hpp"
#include "src/io/images.hpp"

namespace bbans {

struct BitsBackStats {
    std::uint64_t message_bits = 0;      // the serialized message(s)
    std::uint64_t initial_bits = 0;      // words drawn from the virtual bottom, times 32
    // The message's content_bits() (rounded) after each image: its information, exact to a bit,
    // where size_bits() moves in 32-bit words (for the running rate and the seed / net split
    // below); summed over chunks, each chunk's values offset by the message bits of the chunks
    // before it
    std::vector<std::uint64_t> bits_after;
    // Summed over chunks by the archive writer:
    std::size_t chunks = 0;
    std::size_t seed_images = 0;         // seed bands (images when the tile is the image)
    std::uint64_t seed_bits = 0;         // message growth while the seed images were pushed
    std::uint64_t net_bits = 0;          // message growth while the other images were pushed
    std::uint64_t first_image_bits = 0;  // the growth for the very first image
    std::uint64_t samples = 0;           // samples coded
    std::uint64_t seed_samples = 0;      // of them, in seed units
    double neg_elbo_bits = 0;            // CompressOptions::measure_elbo: the integer -ELBO of the non-seed units
    double latent_bits = 0;              // of which the latents' part, -log2 p(z) + log2 q(z|x) (the KL as coded)
    double latent2_bits = 0;             // of that, a hierarchical model's z2 part (TiledCoder::neg_elbo_bits)
};

using Progress = std::function<void(std::size_t done, std::size_t total)>;

struct EncodedImages {
    std::vector<std::uint8_t> message;  // serialized codec::Message
    BitsBackStats stats;
};

// images: rows x cols x channels samples each, channels as the model's.
// band_bits: if given, the message's content bits after each band (TiledCoder::push).
Expected<EncodedImages> encode_images(const coding::TiledCoder& coder, const io::ImageSet& images, std::size_t lanes,
                                      std::size_t seed_bands, const Progress& progress = {},
                                      std::vector<std::uint64_t>* band_bits = nullptr);

// Samples of `count` images of rows x cols (count * rows * cols * channels bytes). The message
// must have `lanes` lanes.
Expected<std::vector<std::uint8_t>> decode_images(const coding::TiledCoder& coder, std::span<const std::uint8_t> message,
                                                  std::size_t lanes, std::size_t count, std::size_t rows, std::size_t cols,
                                                  std::size_t seed_bands, const Progress& progress = {});

}  // namespace bbans
