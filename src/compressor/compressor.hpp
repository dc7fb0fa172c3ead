#pragma once
// The compressor: input bytes -> .bbx bytes and back. Chooses the method per file: bits-back
// coding with a model when the input is images a model can code and that is clearly smaller,
// otherwise zstd (or stored). Works on bytes and on models already loaded; the CLI does the
// files and finds the models.
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "bbans/expected.hpp"
#include "src/coding/model_file.hpp"
#include "src/compressor/bits_back.hpp"
#include "src/container/bbx.hpp"
#include "src/io/images.hpp"

namespace bbans {

struct CompressOptions {
    std::optional<io::Shape> raw_shape;  // treat the input as raw images of this shape
    int zstd_level = 19;
    std::size_t lanes = 1;
    std::size_t seed_images = 1;         // images coded without bits back at the start
    // Bits-back is used without also running zstd on the whole input when its estimated rate
    // is below this fraction of zstd's rate on a sample; otherwise both run and the smaller wins.
    double skip_zstd_below = 0.8;
    Progress progress;
};

struct CompressSummary {
    container::Method method = container::Method::stored;
    std::uint64_t input_bytes = 0;
    std::uint64_t output_bytes = 0;
    std::size_t images = 0;           // images coded by bits-back (0 otherwise)
    std::size_t pixels_per_image = 0;
    std::string model_name;           // the model used, or chosen and then not used
    std::string model_identity;
    std::string why_fallback;         // for zstd/stored: why bits-back coding was not used
    double sample_neg_elbo_bpd = 0;   // the chosen model on the sample it was chosen by
    BitsBackStats stats;              // bits-back coding only
};

struct Compressed {
    std::vector<std::uint8_t> file;
    CompressSummary summary;
};

// A model that compress() may use, with the name the user knows it by.
struct NamedModel {
    std::string name;
    const coding::CodingModel* model;
};

// models: the candidates (the best on a sample of the images is used); may be empty.
Expected<Compressed> compress(std::span<const std::uint8_t> input, const CompressOptions& options,
                              std::span<const NamedModel> models);

// Finds the model a bits-back file names; an Error if it is not available.
using ModelResolver = std::function<Expected<const coding::CodingModel*>(const container::ModelId&)>;

Expected<std::vector<std::uint8_t>> decompress(std::span<const std::uint8_t> file, const ModelResolver& resolve,
                                               const Progress& progress = {});

}  // namespace bbans
