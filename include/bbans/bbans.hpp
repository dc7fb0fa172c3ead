#pragma once
// The bbans library: what another program links (the bbans CLI, a Python module, an MPI
// trainer). Everything works on bytes and arrays in memory: no file access, no printing, no
// exit; every failure is an Error (bbans/expected.hpp) with a one-line message.
//
//   models    coding::parse_model(bytes) reads a model file's bytes (a .bbm);
//             NamedModel{name, &model} offers it to the compressor under a name.
//   bytes     compress(input, options, models) -> a one-entry .bbx archive;
//             decompress(archive, resolve) -> the bytes (also reads format version 1).
//   images    compress_images(images, options, models) -> a .bbx archive holding one image set;
//             decompress_images(archive, resolve) -> the images, exactly. An ImageView codes
//             samples that live elsewhere (a NumPy array) without copying them.
//   report    report_images(images, options, models) -> the figures of `bbans report`.
//   catalog   Catalog / ModelSearch (src/catalog/catalog.hpp): the model search path of the CLI
//             (this part reads model files from disk), summarize() for what `bbans models` shows.
//   training  train_images(train, test, options, callbacks) -> a coding model with its record,
//             as `bbans train` makes it (without checkpoints; coding::save writes model + card).
//   archives  ArchiveWriter / ArchiveReader (src/compressor/compressor.hpp) for many entries,
//             streaming through archive::Input / archive::Output, and random access to images.
// The output never depends on CompressOptions::threads. Decoding needs the very model file
// that coded (its identity is in the archive): ModelResolver finds it.
#include <cstdint>
#include <span>
#include <vector>

#include "bbans/expected.hpp"
#include "bbans/version.hpp"
#include "models/trainer.hpp"
#include "src/catalog/catalog.hpp"
#include "src/coding/model_file.hpp"
#include "src/compressor/compressor.hpp"
#include "src/report/report.hpp"

namespace bbans {

// count images of rows x cols x channels 8-bit samples, image after image, raster order,
// channels interleaved.
struct ImageArray {
    std::uint64_t count = 0;
    std::uint32_t rows = 0, cols = 0, channels = 1;
    std::vector<std::uint8_t> samples;
};

// The same, over samples owned by the caller (nothing is copied to code them).
struct ImageView {
    std::uint64_t count = 0;
    std::uint32_t rows = 0, cols = 0, channels = 1;
    std::span<const std::uint8_t> samples;
};
inline ImageView view_of(const ImageArray& a) { return {a.count, a.rows, a.cols, a.channels, a.samples}; }
// What every function of this API asks of images: at least one image of 1x1 to 65535x65535 of
// 1 to 4 channels, and exactly count x rows x cols x channels samples.
Status check_images(const ImageView& images);

// An archive with one image-set entry. Bits-back coding with the best of `models` when one fits
// the shape and is smaller, else the smallest general-purpose method (options.method forces one).
Expected<std::vector<std::uint8_t>> compress_images(const ImageView& images, const CompressOptions& options,
                                                    std::span<const NamedModel> models);
inline Expected<std::vector<std::uint8_t>> compress_images(const ImageArray& images, const CompressOptions& options,
                                                           std::span<const NamedModel> models) {
    return compress_images(view_of(images), options, models);
}
// The image set of an archive that holds exactly one entry, an image set or an image file.
Expected<ImageArray> decompress_images(std::span<const std::uint8_t> archive, const ModelResolver& resolve, unsigned threads = 1);

// `bbans report` of the images as raw samples (--shape ROWSxCOLSxCHANNELS): compressed and
// decompressed in memory, with the model's -ELBO, zstd -19 and xz -9e on the same bytes.
// Figures::input_name is left empty for the caller.
Expected<report::Figures> report_images(const ImageView& images, const CompressOptions& options, std::span<const NamedModel> models);

struct TrainOptions {
    // The architecture; its rows, cols and image_channels are set from the images (or `tile`).
    models::VaeConfig model;
    models::TrainConfig train;
    // A tile model (any image size) trained on random crops of this size (bbans train --tile);
    // otherwise a model of the images' own shape, which must be grey.
    std::optional<io::Shape> tile;
    std::uint64_t crops = 200000, test_crops = 4000;  // with tile
    std::uint32_t calibration = 512;                  // training images that calibrate the integer model
    std::string description;                          // recorded in the model
    std::string corpus_name = "array", test_name = "array";  // for the card
};
struct TrainedModel {
    coding::CodingModel model;        // quantized: what codes
    coding::TrainingRecord record;    // for its card (coding::save)
};
// Trains on `train` and measures on `test` (never trained on; the same shape and channels),
// like `bbans train` but with no files: no checkpoints, nothing written. callbacks.should_stop
// ends training early (an Error "training was stopped").
Expected<TrainedModel> train_images(const ImageView& train, const ImageView& test, const TrainOptions& options,
                                    const models::TrainCallbacks& callbacks = {});

}  // namespace bbans
