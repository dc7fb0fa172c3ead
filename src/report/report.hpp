#pragma once
// bbans report: the achieved rate next to its references on the same input. Everything is
// measured in this run: compression and decompression in memory (checked exact), the chosen
// model's integer negative ELBO on the images (also when zstd or xz was smaller and stored
// them), zstd -19 and xz -9e on the same bytes, and wall times, each also as a ratio to zstd
// -19's and xz -9e's compression times.
#include <string>
#include <vector>

#include "bbans/expected.hpp"
#include "src/compressor/compressor.hpp"

namespace bbans::report {

struct Figures {
    std::string input_name;   // as the user gave it ("-" for standard input); set by the caller
    std::uint64_t input_bytes = 0;
    // The input as images (IDX, or raw with a shape): the count and shape, whatever method won.
    bool is_images = false;
    std::size_t images = 0;   // 0 when the input is not images
    std::size_t rows = 0, cols = 0, channels = 1;
    std::size_t pixels_per_image = 0;
    std::uint64_t bbx_bytes = 0;
    std::string method;             // bits-back, zstd, xz or stored
    std::string why_not_bits_back;  // for the other methods: why (from the compressor)
    std::string model;              // "NAME (IDENTITY)" of the model used, or "none"
    // The model chosen for the images (empty if none fits), whether or not the method uses it.
    std::string model_name, model_identity;
    std::size_t model_planes = 0;  // 0, or P: the grey model coded the images as P planes
    int scale_offset = 0;          // 1/64 nat added to every logistic log-scale (bits-back)
    bool bits_back = false;   // the method is bits-back: the rates below are measured
    double net_bpd = 0;       // bits-back images only: message growth after the seed image(s)
    double total_bpd = 0;     // every byte of the .bbx file, per input byte
    double first_image_bits = 0;  // what the first (seed) image cost
    std::size_t chunks = 0;        // independent chunks (a bits-back chunk starts with its own seed images)
    std::size_t seed_images = 0;   // over all chunks
    double seed_bits = 0;          // what all seed images cost
    bool has_elbo = false;    // neg_elbo_bpd was measured (the input is images and a model fits)
    double neg_elbo_bpd = 0;  // the chosen (integer) model, one latent sample per image
    double latent_bpd = 0;    // of it, the latents' part (-log2 p(z) + log2 q(z|x), the KL as coded); the rest is the likelihood's
    bool hierarchical = false;  // the model has two latent layers: latent_bpd = z1's part + latent2_bpd
    double latent2_bpd = 0;     // of latent_bpd, z2's part (-log2 p(z2) + log2 q(z2|z1))
    double zstd_bpd = 0, xz_bpd = 0;
    std::uint64_t zstd_bytes = 0, xz_bytes = 0;
    double compress_s = 0, decompress_s = 0, zstd_s = 0, xz_s = 0, elbo_s = 0;
    unsigned threads = 1;     // of compression and decompression (zstd -19 and xz -9e run on one)
    bool exact = false;
    std::vector<double> running_bpd;  // message bits after i+1 images / ((i+1) * pixels)
};

Expected<Figures> measure(std::span<const std::uint8_t> input, const CompressOptions& options, std::span<const NamedModel> models);
// The same with the candidates asked for as compress asks for them: only if the input has images,
// given their channel count (so that a caller loads only the model files it needs).
Expected<Figures> measure(std::span<const std::uint8_t> input, const CompressOptions& options, const ArchiveWriter::ModelSource& models);

// A rate as the table prints it (4 decimals); the plot's labels use the same.
std::string rate_text(double bpd);

std::string table(const Figures& f);
std::string json(const Figures& f);  // one object; includes the bbans version
std::string svg(const Figures& f);

}  // namespace bbans::report
