#pragma once
// The compressor: inputs -> .bbx archive (format version 2, docs/format.md) and back.
//
// ArchiveWriter adds entries (files, directories, image sets) to an archive written in order to
// an archive::Output; each entry is cut into chunks that are coded in parallel. It chooses the
// method per entry: bits-back coding with the best model when the input is images a model can
// code and that is clearly smaller, otherwise the smallest of zstd, xz and stored.
// ArchiveReader lists an archive and decodes entries (or ranges of images) from an
// archive::Input, verifying every checksum. Both work on bytes and on models already loaded;
// the CLI does the files and finds the models.
//
// compress() / decompress() are the one-entry shortcuts over memory (and decompress() also
// reads format version 1 files).
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "bbans/expected.hpp"
#include "src/archive/format.hpp"
#include "src/archive/stream.hpp"
#include "src/coding/model_file.hpp"
#include "src/compressor/bits_back.hpp"
#include "src/io/images.hpp"

namespace bbans {

inline constexpr std::uint64_t kDefaultChunkBytes = std::uint64_t{64} << 20;
inline constexpr std::uint64_t kDefaultChunkSamples = std::uint64_t{1} << 20;

struct CompressOptions {
    std::optional<io::Shape> raw_shape;      // treat the input as raw images of this shape
    std::optional<archive::Method> method;   // force a method (bits-back: an error if no model fits)
    int zstd_level = 19;
    std::size_t lanes = 1;
    std::size_t seed_images = 1;             // images coded without bits back at each chunk's start
    std::size_t chunk_images = 0;            // images per bits-back chunk; 0: about kDefaultChunkSamples samples
    std::uint64_t chunk_bytes = kDefaultChunkBytes;  // original bytes per zstd/xz/stored chunk
    unsigned threads = 1;                    // chunks coded at once; the output does not depend on it
    // Bits-back is used without also trying zstd and xz when its estimated rate on a sample is
    // below this fraction of zstd's rate on the same sample; otherwise both run, the smaller wins.
    double skip_fallback_below = 0.8;
    Progress progress;                       // images coded so far, of the entry's images
    // Keep the message size after every image (CompressSummary::stats.bits_after, for the
    // report's running rate). Off by default: it grows with the input, everything else is
    // bounded by the chunks in flight.
    bool running_rate = false;
    // Measure the integer -ELBO of every unit coded with bits back, exactly as coded (chunk by
    // chunk; one latent sample each): CompressSummary::stats.neg_elbo_bits. Costs about one
    // more likelihood pass.
    bool measure_elbo = false;
    // The models were named by the user (--model): an input that none of them can code (not
    // images, or another shape) is an error rather than a zstd/xz entry.
    bool require_model = false;
    // Bits-back with a logistic-mixture model: the offset added to every component's log-scale,
    // in 1/64 nat (-127..127; docs/format.md, model block). Unset: chosen per entry on the sample
    // the model was chosen by (0 unless another value lowers its likelihood bits by 0.1%).
    std::optional<int> scale_offset;
};

// The images per bits-back chunk for these options and images of `samples_per_image` samples.
std::size_t chunk_images(const CompressOptions& options, std::uint64_t samples_per_image);

struct CompressSummary {
    archive::Method method = archive::Method::stored;
    std::uint64_t input_bytes = 0;
    std::uint64_t output_bytes = 0;    // the entry's chunk data (compress(): the whole archive)
    std::size_t chunks = 0;
    std::size_t images = 0;            // images coded by bits-back (0 otherwise)
    std::size_t pixels_per_image = 0;
    std::string model_name;            // the model used, or chosen and then not used
    std::string model_identity;
    std::size_t model_planes = 0;      // 0, or P: the grey model codes the images as P planes
    int scale_offset = 0;              // bits-back: 1/64 nat added to every logistic log-scale
    std::string why_fallback;          // for zstd/xz/stored: why bits-back coding was not used
    double sample_neg_elbo_bpd = 0;    // the chosen model on the sample it was chosen by
    BitsBackStats stats;               // bits-back only, summed over the chunks (see bits_back.hpp)
};

// The net rate of a bits-back entry: bits per dimension of the images coded with bits back
// (message growth after each chunk's seed images); 0 if there are none. The one place this
// arithmetic lives (the CLI's summary and the report use it).
double net_bits_per_dim(const CompressSummary& s);

// "" for a model coding the pixels; ", coding the P channels as planes (YCoCg-R)" or "... as
// planes" (P = 2) for a grey model coding them as planes (coding/tiled_coder.hpp, PLANES).
std::string planes_note(std::size_t planes);
// "" for a scale offset of 0; else ", log-scales offset by +0.250 nat" (offset in 1/64 nat).
std::string scale_offset_note(int offset);

// How a model of configuration cfg codes images of `channels` channels: 0 = as they are (its
// channels are theirs), `channels` = as that many planes (a grey model whose likelihood codes
// every byte, for 2 to 4 channels); nothing if it cannot. compress()'s candidates are these.
std::optional<std::size_t> planes_for(const models::VaeConfig& cfg, std::size_t channels);

// A model that the writer may use, with the name the user knows it by.
struct NamedModel {
    std::string name;
    const coding::CodingModel* model;
};

// The file's metadata for its entry.
struct EntryMeta {
    archive::Kind kind = archive::Kind::file;
    std::string name;                 // see docs/format.md, Names
    bool has_metadata = false;
    std::uint32_t mode = 0;
    std::int64_t mtime_sec = 0;
    std::uint32_t mtime_nsec = 0;
};

class ArchiveWriter {
public:
    explicit ArchiveWriter(archive::Output& out) : out_(out) {}
    // Codes `content` as one entry (kind file or image set). models: the candidates for
    // bits-back (the best on a sample of the images is used); may be empty.
    Expected<CompressSummary> add(const EntryMeta& meta, const archive::Input& content, const CompressOptions& options,
                                  std::span<const NamedModel> models);
    // The same with the candidates asked for only when the entry needs them (images to code, or
    // options.require_model), so that a caller loads model files only then. The span returned
    // must stay valid until add() returns; an error from the source is add()'s error.
    // The source is given the images' channels (0 when there are no images).
    using ModelSource = std::function<Expected<std::span<const NamedModel>>(std::size_t channels)>;
    Expected<CompressSummary> add(const EntryMeta& meta, const archive::Input& content, const CompressOptions& options,
                                  const ModelSource& models);
    Status add_directory(const EntryMeta& meta);
    // Writes the directory and trailer; returns the archive's size. Nothing may be added after.
    Expected<std::uint64_t> finish();
    const std::vector<archive::Entry>& entries() const { return entries_; }

private:
    Status start();
    Status write(std::span<const std::uint8_t> bytes);
    archive::Output& out_;
    std::uint64_t pos_ = 0;
    bool started_ = false, finished_ = false, failed_ = false;
    std::vector<archive::Entry> entries_;
};

// Finds the model a bits-back entry names; an Error if it is not available.
using ModelResolver = std::function<Expected<const coding::CodingModel*>(const archive::ModelId&)>;

class ArchiveReader {
public:
    // Reads and checks the header, trailer and directory of a version 2 archive.
    static Expected<ArchiveReader> open(const archive::Input& in);
    const std::vector<archive::Entry>& entries() const { return entries_; }
    // Entry i's original bytes, in order, to `out`; every chunk's checksums and the entry's
    // content checksum verified (an Error after some bytes were written means: discard them).
    Status extract(std::size_t i, archive::Output& out, const ModelResolver& resolve, unsigned threads = 1,
                   const Progress& progress = {}) const;
    // Images [first, first + count) of an entry with an image layout, decoding only the chunks
    // that hold them; count * rows * cols * channels samples.
    Expected<std::vector<std::uint8_t>> images(std::size_t i, std::uint64_t first, std::uint64_t count,
                                               const ModelResolver& resolve, unsigned threads = 1) const;

private:
    explicit ArchiveReader(const archive::Input& in) : in_(&in) {}
    // Decodes chunks [c0, c1) of entry e, handing each chunk's original bytes to take in order.
    Status decode_chunks(const archive::Entry& e, std::size_t c0, std::size_t c1, const ModelResolver& resolve, unsigned threads,
                         const std::function<Status(std::size_t, std::vector<std::uint8_t>&&)>& take) const;
    const archive::Input* in_;
    std::vector<archive::Entry> entries_;
};

struct Compressed {
    std::vector<std::uint8_t> file;
    CompressSummary summary;
};

// One input as a one-entry archive in memory (entry `name`, no metadata).
Expected<Compressed> compress(std::span<const std::uint8_t> input, const CompressOptions& options,
                              std::span<const NamedModel> models, const std::string& name = "data");
// The same with the candidates asked for only when the input has images (ArchiveWriter::add).
Expected<Compressed> compress(std::span<const std::uint8_t> input, const CompressOptions& options,
                              const ArchiveWriter::ModelSource& models, const std::string& name = "data");

// A one-entry archive (version 2) or a version 1 file back to its bytes, checksums verified.
Expected<std::vector<std::uint8_t>> decompress(std::span<const std::uint8_t> file, const ModelResolver& resolve,
                                               const Progress& progress = {}, unsigned threads = 1);

}  // namespace bbans
