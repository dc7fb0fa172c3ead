#pragma once
// bbans report on a folder: every image file in it (recursively; PNG, PGM, PPM, IDX, or gzip of
// one, recognized by content) coded by bbans as `bbans compress` codes it, next to the model's
// negative ELBO and the reference codecs (src/report/reference_codecs.hpp) on the same pixels,
// per file and in aggregate, in bits per subpixel: output bits / samples, samples = rows x cols
// x channels (x images, for an IDX set).
//
// What each figure counts (the table and the JSON say it too):
//   bbans     the file's entry as coded: its chunks' bytes, from the same ArchiveWriter that
//             `bbans compress` uses. The container's overhead (archive header, the entry's
//             directory record with its name, layout and any PNG ancillary chunks, the chunk
//             index, the trailer) is not included; bbx_bits is the file as a one-file .bbx with
//             all of it. Checked: the archive decodes to the same pixels.
//   net       bits-back entries: message growth over the units coded with bits back (each
//             chunk's seed bands, coded without bits back, excluded), per sample of those units.
//   -ELBO     the chosen integer model's negative ELBO on exactly the units net counts, coded
//             as bits-back codes them (chunk by chunk; one latent sample each); also when zstd
//             or xz won the file (then measured by a second, bits-back, coding).
//   PNG       a PNG input file's own size, otherwise libpng's level 9 re-encoding.
//   WebP, JPEG XL   in-process lossless encodings, decoded and compared.
// Aggregates are sums of bits over sums of samples (of the files each figure exists for).
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "bbans/expected.hpp"
#include "src/compressor/compressor.hpp"
#include "src/report/reference_codecs.hpp"

namespace bbans::report {

// One reference codec's figure on one file (or the aggregate).
struct CodecFigure {
    bool ok = false;           // measured and checked: bits is valid
    std::string error;         // why not (a failure, or the codec failed on some files)
    std::uint64_t bits = 0;
    double encode_s = 0;
    std::string source;        // PNG: "file" (the input's size) or "libpng" (re-encoded); aggregate: also "mixed"
};

struct ImageFigures {
    std::string name;          // the path inside the folder ("-" or the file name for one file)
    std::string format;        // "PNG", "PGM", "PPM", "IDX", or "gzip of PGM"...
    std::uint64_t file_bytes = 0;
    std::uint64_t images = 0;  // images in the file (1 but for IDX); in the aggregate: all images
    std::uint32_t rows = 0, cols = 0, channels = 0;
    std::uint64_t samples = 0;
    // bbans
    std::string method;        // bits-back, zstd, xz or stored
    std::string model_name, model_identity;  // the model chosen for the file (used or not), or empty
    std::size_t model_planes = 0;            // 0, or P: the grey model codes the images as P planes
    int scale_offset = 0;                    // 1/64 nat added to every logistic log-scale (bits-back)
    std::string why_not_bits_back;
    std::uint64_t bbans_bits = 0;  // the entry's chunks
    std::uint64_t bbx_bits = 0;    // the one-file .bbx (container overhead included)
    bool has_net = false;
    std::uint64_t net_bits = 0, net_samples = 0;
    bool has_elbo = false;
    double neg_elbo_bits = 0;
    double latent_bits = 0;  // of neg_elbo_bits, the latents' part (KL as coded); the rest is the likelihood's
    std::uint64_t elbo_samples = 0;
    bool exact = false;        // decoded to the same pixels (PNG) or bytes (the other formats)
    double compress_s = 0, decompress_s = 0, elbo_s = 0;
    std::vector<CodecFigure> references;  // one per reference codec, in the codecs' order
};

struct CodecInfo {
    std::string key, name, settings;
};

struct FolderFigures {
    std::string input_name;    // as the user gave it; set by the caller
    std::vector<CodecInfo> codecs;        // the reference codecs run
    std::vector<std::string> missing;     // those not compiled in, with why
    std::vector<ImageFigures> images;     // sorted by name
    ImageFigures total;                   // the aggregate (name "all")
    std::vector<std::pair<std::string, std::string>> skipped;  // files not measured, and why
    unsigned threads = 1;
};

// One file's bytes. nullopt (and `why`) if it is not an image file bbans models: not PNG, PGM,
// PPM, IDX or gzip of one, or a 16-bit PNG. An Error if it claims to be one and is broken, or
// if coding fails.
Expected<std::optional<ImageFigures>> measure_image(const std::string& name, std::span<const std::uint8_t> bytes,
                                                    const CompressOptions& options, std::span<const NamedModel> models,
                                                    const std::vector<std::unique_ptr<ReferenceCodec>>& codecs, std::string& why);

// The aggregate of `images`: sums; a codec's sum is an error if it failed on any file.
ImageFigures aggregate(const std::vector<ImageFigures>& images, std::size_t codecs);

// Called after each file: the figures (or nullptr when skipped, with why), its index and the count.
using FolderProgress = std::function<void(const std::string& name, const ImageFigures* figures, const std::string& why,
                                          std::size_t index, std::size_t total)>;

// Every regular file under `dir` (recursively, sorted by path; symbolic links and other special
// files are skipped and listed). An Error if the folder cannot be listed, holds no files or no
// image files, or a file cannot be read or is a broken image.
Expected<FolderFigures> measure_folder(const std::filesystem::path& dir, const CompressOptions& options,
                                       std::span<const NamedModel> models, const std::vector<std::unique_ptr<ReferenceCodec>>& codecs,
                                       const FolderProgress& progress = {});

std::string folder_table(const FolderFigures& f);
std::string folder_json(const FolderFigures& f);

}  // namespace bbans::report
