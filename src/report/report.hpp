#pragma once
// bbans report: the achieved rate next to its references on the same images. Everything is
// measured in this run: bits-back compression and decompression in memory (checked exact),
// the coded model's integer negative ELBO, zstd -19 and xz -9e on the same bytes, and wall
// times, each also as a ratio to zstd -19's compression time.
#include <string>
#include <vector>

#include "bbans/expected.hpp"
#include "src/compressor/compressor.hpp"

namespace bbans::report {

struct Figures {
    std::size_t images = 0;
    std::size_t pixels_per_image = 0;
    std::uint64_t input_bytes = 0;
    std::uint64_t bbx_bytes = 0;
    std::string method;       // bits-back, zstd or stored
    std::string model;        // name and identity
    double net_bpd = 0;       // bits-back images only: message growth after the seed image(s)
    double total_bpd = 0;     // every byte of the .bbx file
    double first_image_bits = 0;  // what the first (seed) image cost
    std::size_t chunks = 0;        // independent messages (each starts with its own seed images)
    std::size_t seed_images = 0;   // over all chunks
    double seed_bits = 0;          // what all seed images cost
    double neg_elbo_bpd = 0;  // the coded (integer) model, one latent sample per image
    double zstd_bpd = 0, xz_bpd = 0;
    std::uint64_t zstd_bytes = 0, xz_bytes = 0;
    double compress_s = 0, decompress_s = 0, zstd_s = 0, xz_s = 0, elbo_s = 0;
    bool exact = false;
    std::vector<double> running_bpd;  // message bits after i+1 images / ((i+1) * pixels)
};

Expected<Figures> measure(std::span<const std::uint8_t> input, const CompressOptions& options, std::span<const NamedModel> models);

std::string table(const Figures& f);
std::string json(const Figures& f);
std::string svg(const Figures& f);

}  // namespace bbans::report
