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
//             decompress_images(archive, resolve) -> the images, exactly.
//   archives  ArchiveWriter / ArchiveReader (src/compressor/compressor.hpp) for many entries,
//             streaming through archive::Input / archive::Output, and random access to images.
// The output never depends on CompressOptions::threads. Decoding needs the very model file
// that coded (its identity is in the archive): ModelResolver finds it.
#include <cstdint>
#include <span>
#include <vector>

#include "bbans/expected.hpp"
#include "bbans/version.hpp"
#include "src/coding/model_file.hpp"
#include "src/compressor/compressor.hpp"

namespace bbans {

// count images of rows x cols x channels 8-bit samples, image after image, raster order,
// channels interleaved.
struct ImageArray {
    std::uint64_t count = 0;
    std::uint32_t rows = 0, cols = 0, channels = 1;
    std::vector<std::uint8_t> samples;
};

// An archive with one image-set entry. Bits-back coding with the best of `models` when one fits
// the shape and is smaller, else the smallest general-purpose method (options.method forces one).
Expected<std::vector<std::uint8_t>> compress_images(const ImageArray& images, const CompressOptions& options,
                                                    std::span<const NamedModel> models);
// The image set of an archive that holds exactly one entry, an image set or an image file.
Expected<ImageArray> decompress_images(std::span<const std::uint8_t> archive, const ModelResolver& resolve, unsigned threads = 1);

}  // namespace bbans
