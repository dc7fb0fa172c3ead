#include "src/compressor/compressor.hpp"

// GCC 12 reports a false -Wfree-nonheap-object when an Expected<std::vector> made in a worker
// thread is destroyed after inlining (the object is a heap vector); GCC 13 does not.
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ == 12
#pragma GCC diagnostic ignored "-Wfree-nonheap-object"
#endif

#include <xxhash.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <memory>
#include <random>

#include "bbans/bbans.hpp"
#include "models/likelihood_kind.hpp"
#include "src/archive/pipeline.hpp"
#include "src/compressor/byte_methods.hpp"
#include "src/compressor/image_files.hpp"
#include "src/container/bbx.hpp"

namespace bbans {

namespace {

using archive::ChunkRecord;
using archive::Entry;
using archive::ImageLayout;
using archive::Layout;
using archive::Method;
using Bytes = std::vector<std::uint8_t>;

// The coder settings of a model block's scale offset (1/64 nat; CoderSettings in Q8 nats).
coding::CoderSettings scale_settings(int scale_offset) {
    coding::CoderSettings s;
    s.scale_offset_q8 = 4 * scale_offset;
    return s;
}

// A streaming XXH64 (the entry's content checksum over chunks handed over in order).
class Hash64 {
public:
    Hash64() : s_(XXH64_createState()) {
        if (!s_) throw std::bad_alloc();
        XXH64_reset(s_.get(), 0);
    }
    void update(std::span<const std::uint8_t> b) { XXH64_update(s_.get(), b.data(), b.size()); }
    std::uint64_t digest() const { return XXH64_digest(s_.get()); }

private:
    struct Free {
        void operator()(XXH64_state_t* s) const { XXH64_freeState(s); }
    };
    std::unique_ptr<XXH64_state_t, Free> s_;
};

// The images in an input, if it is images bbans can code: raw images of an explicit shape, an
// IDX file or a single-image file (image_files.hpp). `why` says why not otherwise.
struct FoundImages {
    Layout layout = Layout::raw;
    ImageLayout images;
    Bytes samples;  // a layout rebuilt from its samples (PNG): the samples, which its chunks code
};

std::uint32_t be32(std::span<const std::uint8_t> b, std::size_t at) {
    return std::uint32_t{b[at]} << 24 | std::uint32_t{b[at + 1]} << 16 | std::uint32_t{b[at + 2]} << 8 | b[at + 3];
}

Expected<std::optional<FoundImages>> find_images(const archive::Input& in, const CompressOptions& options, std::string& why) {
    const std::uint64_t size = in.size();
    if (options.raw_shape) {
        const std::uint64_t per = std::uint64_t{options.raw_shape->rows} * options.raw_shape->cols * options.raw_shape->channels;
        if (per == 0 || size == 0 || size % per != 0)
            return make_error(std::to_string(size) + " bytes are not a whole number of " + std::to_string(options.raw_shape->rows) + "x" +
                              std::to_string(options.raw_shape->cols) + " images");
        FoundImages f;
        f.layout = Layout::raw;
        f.images.rows = options.raw_shape->rows;
        f.images.cols = options.raw_shape->cols;
        f.images.channels = static_cast<std::uint8_t>(options.raw_shape->channels);
        f.images.count = size / per;
        return std::optional<FoundImages>(std::move(f));
    }
    if (size < io::kIdxHeaderBytes) {
        why = "not images (raw images need --shape)";
        return std::optional<FoundImages>();
    }
    auto head = archive::read_range(in, 0, io::kIdxHeaderBytes);
    if (!head) return head.error();
    // The formats bbans reads images from (io::detect_format, as bbans train does): IDX, and the
    // single-image files image_files.hpp turns into samples and back (PGM and PPM byte for byte,
    // PNG pixel-exact). gzip is kept byte for byte by the general-purpose methods.
    const io::Format format = io::detect_format(*head);
    if (format == io::Format::pgm || format == io::Format::ppm || format == io::Format::png) {
        auto f = image_file_of(in, format, why);
        if (!f) return f.error();
        if (!*f) return std::optional<FoundImages>();
        FoundImages found;
        found.layout = (*f)->layout;
        found.images = std::move((*f)->images);
        found.samples = std::move((*f)->samples);
        return std::optional<FoundImages>(std::move(found));
    }
    if (format == io::Format::gzip) {
        why = "gzip files are kept byte for byte by zstd/xz (a gzip stream cannot be rebuilt byte for byte from what it holds)";
        return std::optional<FoundImages>();
    }
    if (format != io::Format::idx || be32(*head, 0) != 0x00000803) {
        why = "not images (raw images need --shape)";
        return std::optional<FoundImages>();
    }
    const std::uint64_t count = be32(*head, 4), rows = be32(*head, 8), cols = be32(*head, 12);
    if (count == 0 || rows == 0 || cols == 0 || (size - io::kIdxHeaderBytes) / (rows * cols) != count ||
        (size - io::kIdxHeaderBytes) % (rows * cols) != 0) {
        why = "not a valid IDX image file (its header does not match its size)";
        return std::optional<FoundImages>();
    }
    FoundImages f;
    f.layout = Layout::idx;
    f.images.rows = static_cast<std::uint32_t>(rows);
    f.images.cols = static_cast<std::uint32_t>(cols);
    f.images.count = count;
    f.images.prefix = std::move(*head);
    return std::optional<FoundImages>(std::move(f));
}

// Up to `n` images spread evenly over the set.
std::vector<std::uint64_t> sample_indices(std::uint64_t count, std::uint64_t n) {
    std::vector<std::uint64_t> idx;
    const std::uint64_t k = std::min(count, n);
    for (std::uint64_t j = 0; j < k; ++j) idx.push_back(j * count / k);
    return idx;
}

// A chunk as coded: its stored bytes, record (offset filled in when written), the original
// bytes it covers (for the entry's checksum) and, for bits-back, the coding statistics.
struct ChunkOut {
    Bytes stored;
    Bytes original;
    ChunkRecord record;
    BitsBackStats stats;
};

Expected<Bytes> code_bytes(Method m, std::span<const std::uint8_t> original, int zstd_level) {
    switch (m) {
        case Method::stored: return Bytes(original.begin(), original.end());
        case Method::zstd: return bytes_codec::zstd_compress(original, zstd_level);
        case Method::xz: return bytes_codec::xz_compress(original);
        case Method::bits_back: break;
    }
    return make_error("internal error: code_bytes with bits-back");
}

Expected<Bytes> decode_bytes(Method m, std::span<const std::uint8_t> stored, std::uint64_t size) {
    switch (m) {
        case Method::stored:
            if (stored.size() != size) return make_error("stored chunk has the wrong size");
            return Bytes(stored.begin(), stored.end());
        case Method::zstd: return bytes_codec::zstd_decompress(stored, size);
        case Method::xz: return bytes_codec::xz_decompress(stored, size);
        case Method::bits_back: break;
    }
    return make_error("internal error: decode_bytes with bits-back");
}

// A chunk of bytes as coded: its original bytes from `first` on, and what a method made of them.
ChunkOut byte_chunk_of(std::uint64_t first, Bytes original, Bytes stored) {
    ChunkOut out;
    out.record.first = first;
    out.record.count = original.size();
    out.record.stored_checksum = archive::xxh64(stored);
    out.record.original_checksum = archive::xxh64(original);
    out.stored = std::move(stored);
    out.original = std::move(original);
    return out;
}

// Byte chunk k of an input cut into chunks of `chunk` bytes, coded with method m.
Expected<ChunkOut> byte_chunk(const archive::Input& in, std::uint64_t chunk, std::size_t k, Method m, int zstd_level) {
    const std::uint64_t first = k * chunk;
    auto original = archive::read_range(in, first, std::min(chunk, in.size() - first));
    if (!original) return original.error();
    auto stored = code_bytes(m, *original, zstd_level);
    if (!stored) return stored.error();
    return byte_chunk_of(first, std::move(*original), std::move(*stored));
}

// The first byte chunk coded by the smallest of zstd, xz and stored: how an entry coded as
// bytes picks its method (its later chunks use the same one).
struct ByteChoice {
    Method method = Method::stored;
    ChunkOut chunk;
};

Expected<ByteChoice> first_byte_chunk(const archive::Input& in, std::uint64_t chunk, int zstd_level) {
    auto original = archive::read_range(in, 0, std::min(chunk, in.size()));
    if (!original) return original.error();
    auto z = bytes_codec::zstd_compress(*original, zstd_level);
    if (!z) return z.error();
    auto x = bytes_codec::xz_compress(*original);
    if (!x) return x.error();
    const bool xz_smaller = x->size() < z->size();
    Bytes& best = xz_smaller ? *x : *z;
    ByteChoice c;
    c.method = xz_smaller ? Method::xz : Method::zstd;
    if (best.size() >= original->size()) {
        c.method = Method::stored;
        best = *original;
    }
    c.chunk = byte_chunk_of(0, std::move(*original), std::move(best));
    return c;
}

// The units of a bits-back entry's chunks: images, or rows of its one image (row_units).
std::uint64_t bits_back_units(const ImageLayout& l, bool row_units) { return row_units ? l.rows : l.count; }
std::uint64_t unit_bytes(const ImageLayout& l, bool row_units) { return row_units ? std::uint64_t{l.cols} * l.channels : l.image_bytes(); }

// Bits-back chunk k: units [k * per_chunk, ...) of the entry. With row units the chunk's rows
// are coded as an image of their own (nothing above them), and its seed is its first band
// pushed; with image units, its first seed images.
Expected<ChunkOut> image_chunk(const archive::Input& in, const ImageLayout& l, bool row_units, std::uint64_t per_chunk, std::size_t k,
                               const coding::TiledCoder& coder, const CompressOptions& options) {
    const std::uint64_t first = k * per_chunk;
    const std::uint64_t count = std::min(per_chunk, bits_back_units(l, row_units) - first);
    auto original = archive::read_range(in, l.prefix.size() + first * unit_bytes(l, row_units), count * unit_bytes(l, row_units));
    if (!original) return original.error();
    io::ImageSet set;
    set.rows = row_units ? static_cast<std::uint32_t>(count) : l.rows;
    set.cols = l.cols, set.count = row_units ? 1 : static_cast<std::size_t>(count), set.channels = l.channels;
    set.pixels = std::move(*original);
    const std::size_t bands = coder.bands(set.rows);
    // (With row units at most one seed band per row: a stacked image of planes has more bands.)
    const std::size_t seed = static_cast<std::size_t>(
        std::min<std::uint64_t>(std::max<std::size_t>(options.seed_images, 1), row_units ? std::min<std::uint64_t>(bands, count) : count));
    std::vector<std::uint64_t> band_bits;
    auto encoded = encode_images(coder, set, options.lanes, row_units ? seed : seed * bands, {}, row_units ? &band_bits : nullptr);
    if (!encoded) return encoded.error();
    ChunkOut out;
    out.record.first = first;
    out.record.count = count;
    out.record.seed_images = static_cast<std::uint32_t>(seed);
    out.record.stored_checksum = archive::xxh64(encoded->message);
    out.record.original_checksum = archive::xxh64(set.pixels);
    out.stored = std::move(encoded->message);
    out.original = std::move(set.pixels);
    out.stats = std::move(encoded->stats);
    // The chunk's split of the message: seed images, then the bits-back ones.
    // Samples of the seed units: the first bands pushed are the chunk's last ones.
    out.stats.samples = count * unit_bytes(l, row_units);
    out.stats.seed_samples = row_units ? coder.seed_samples(set.rows, set.cols, seed) : seed * l.image_bytes();
    if (options.measure_elbo) {
        std::mt19937_64 draw(0x5EED + k);
        const std::span<const std::uint8_t> px = out.original;  // (set's samples, moved there)
        const std::size_t per = std::size_t{set.rows} * set.cols * set.channels;
        if (row_units)
            out.stats.neg_elbo_bits =
                coder.neg_elbo_bits(px, set.rows, set.cols, draw, seed, &out.stats.latent_bits, &out.stats.latent2_bits);
        else
            for (std::size_t i = seed; i < set.count; ++i)
                out.stats.neg_elbo_bits += coder.neg_elbo_bits(px.subspan(i * per, per), set.rows, set.cols, draw, 0,
                                                               &out.stats.latent_bits, &out.stats.latent2_bits);
    }
    const auto empty = static_cast<std::uint64_t>(std::llround(codec::Message(options.lanes).content_bits()));  // 0
    const auto& b = row_units ? band_bits : out.stats.bits_after;
    out.stats.chunks = 1;
    out.stats.seed_images = seed;
    out.stats.seed_bits = b[seed - 1] - empty;
    out.stats.net_bits = b.back() - b[seed - 1];
    out.stats.first_image_bits = b[0] - empty;
    return out;
}

double zstd_bpd(std::span<const std::uint8_t> bytes, int level) {
    auto z = bytes_codec::zstd_compress(bytes, level);
    return z ? 8.0 * static_cast<double>(z->size()) / static_cast<double>(bytes.size()) : 8.0;
}

// The best model for these images on a sample of them (lowest integer -ELBO), or nullptr.
// A model of the images' channels codes their pixels; a grey model also codes images of 2-4
// channels as planes (TiledCoder, PLANES).
struct ModelChoice {
    const NamedModel* model = nullptr;
    std::size_t planes = 0;
    int scale_offset = 0;  // 1/64 nat (CompressOptions::scale_offset)
    double bpd = 0;
    double sample_zstd_bpd = 8;
    std::string refused;  // why a model of the images' shape was not a candidate, if one was not
};

// The sample a model is chosen by: up to 16 images spread over the set, each whole if it has
// at most 2^15 samples, else a piece from its middle; for one image, up to 4 such pieces spread
// over it. A piece is whole rows (2^15 samples or fewer) when that makes at least 32 rows (a
// tile model's tile height: a model scored on strips thinner than its tiles is scored unfairly,
// and on a very wide image a strip of whole rows would be 1 or 2 rows); otherwise 32 rows (or
// all, if fewer) of the columns in the middle, 2^15 samples or fewer. Pieces are scored as
// images of their own.
struct SamplePiece {
    std::size_t offset = 0, rows = 0, cols = 0;  // into the sample's bytes; rows x cols pixels
};
Expected<std::vector<SamplePiece>> read_sample(const archive::Input& in, const ImageLayout& l, Bytes& bytes) {
    constexpr std::uint64_t kPieceSamples = std::uint64_t{1} << 15, kMinPieceRows = 32;
    const std::uint64_t row = std::uint64_t{l.cols} * l.channels;
    const std::uint64_t strip = std::clamp<std::uint64_t>(kPieceSamples / row, std::min<std::uint64_t>(kMinPieceRows, l.rows), l.rows);
    const std::uint64_t cols = std::clamp<std::uint64_t>(kPieceSamples / (strip * l.channels), 1, l.cols), c0 = (l.cols - cols) / 2;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> pieces;  // (image, first row)
    if (l.count == 1) {
        const std::uint64_t n = std::min<std::uint64_t>(4, (l.rows + strip - 1) / strip);
        for (std::uint64_t j = 0; j < n; ++j) pieces.emplace_back(0, n == 1 ? 0 : (l.rows - strip) * j / (n - 1));
    } else {
        for (std::uint64_t i : sample_indices(l.count, 16)) pieces.emplace_back(i, (l.rows - strip) / 2);
    }
    std::vector<SamplePiece> out;
    for (auto [i, r0] : pieces) {
        out.push_back({bytes.size(), static_cast<std::size_t>(strip), static_cast<std::size_t>(cols)});
        const std::uint64_t at = l.prefix.size() + i * l.image_bytes() + r0 * row;
        if (cols == l.cols) {
            auto px = archive::read_range(in, at, strip * row);
            if (!px) return px.error();
            bytes.insert(bytes.end(), px->begin(), px->end());
            continue;
        }
        for (std::uint64_t r = 0; r < strip; ++r) {
            auto px = archive::read_range(in, at + r * row + c0 * l.channels, cols * l.channels);
            if (!px) return px.error();
            bytes.insert(bytes.end(), px->begin(), px->end());
        }
    }
    return out;
}

// Whether the coder's likelihood can code every sample of the input's images (read in pieces of
// 1 MiB); true at once for a likelihood that codes every value.
Expected<bool> codes_every_sample(const archive::Input& in, const ImageLayout& l, const coding::TiledCoder& coder) {
    if (models::likelihood_kind(coder.config()).codes_every_byte()) return true;
    constexpr std::uint64_t kPiece = std::uint64_t{1} << 20;
    const std::uint64_t total = l.count * l.image_bytes();
    for (std::uint64_t at = 0; at < total; at += kPiece) {
        auto px = archive::read_range(in, l.prefix.size() + at, std::min(kPiece, total - at));
        if (!px) return px.error();
        if (!coder.codable(*px)) return false;
    }
    return true;
}

// The scale offset (1/64 nat) that gives a model's mixtures the fewest likelihood bits on the
// sample (at most 2^15 of its samples, evenly spaced), or 0 unless that is at least 0.1% fewer
// than with 0; and the bits it saves, scaled to the whole sample. The model's head runs once per
// sample used; each offset tried only remakes the mixtures' frequencies: a grid of 15 offsets
// over -96..96, then steps of 4, 2 and 1 around the best (about 21 evaluations in all).
struct ScaleOffset {
    int offset = 0;
    double saved_bits = 0;
};
ScaleOffset choose_scale_offset(const coding::TiledCoder& coder, std::span<const SamplePiece> pieces, std::span<const std::uint8_t> bytes,
                                std::size_t channels) {
    if (coder.config().likelihood != models::Likelihood::logistic_mixture) return {};
    std::size_t total = 0;
    for (const SamplePiece& p : pieces) total += p.rows * p.cols * channels;
    const std::size_t every = std::max<std::size_t>(1, (total + (std::size_t{1} << 15) - 1) >> 15);
    std::vector<coding::MixtureSample> samples;
    for (std::size_t i = 0; i < pieces.size(); ++i) {
        const SamplePiece& p = pieces[i];
        std::mt19937_64 draw(1 + i);
        auto got = coder.mixture_samples(bytes.subspan(p.offset, p.rows * p.cols * channels), p.rows, p.cols, draw, every);
        samples.insert(samples.end(), got.begin(), got.end());
    }
    if (samples.empty()) return {};
    const unsigned prec = coding::CoderSettings{}.likelihood_precision;
    std::map<int, double> tried;
    auto bits = [&](int offset) {
        offset = std::clamp(offset, -127, 127);
        auto it = tried.find(offset);
        if (it == tried.end()) it = tried.emplace(offset, coding::mixture_bits(samples, prec, 4 * offset)).first;
        return it->second;
    };
    int best = 0;
    for (const int o : {-96, -64, -48, -32, -24, -16, -8, 8, 16, 24, 32, 48, 64, 96})
        if (bits(o) < bits(best)) best = o;
    for (const int step : {4, 2, 1}) {
        const int centre = best;
        for (const int o : {centre - step, centre + step})
            if (bits(o) < bits(best)) best = std::clamp(o, -127, 127);
    }
    if (bits(best) > 0.999 * bits(0)) return {};
    return {best, (bits(0) - bits(best)) * static_cast<double>(total) / static_cast<double>(samples.size())};
}

Expected<ModelChoice> choose_model(const archive::Input& in, const ImageLayout& l, std::span<const NamedModel> models, int zstd_level,
                                   unsigned threads, std::optional<int> scale_offset) {
    ModelChoice best;
    Bytes sample_bytes;
    auto pieces = read_sample(in, l, sample_bytes);
    if (!pieces) return pieces.error();
    // The candidates: each model on the pixels, or as planes, in the models' order.
    struct Candidate {
        std::size_t model = 0, planes = 0;
    };
    std::vector<Candidate> candidates;
    for (std::size_t k = 0; k < models.size(); ++k)
        if (const auto planes = planes_for(models[k].model->quantized().config(), l.channels)) candidates.push_back({k, *planes});
    // Each candidate's -ELBO on the sample, on the threads (then compared in that order), in two
    // rounds: every candidate on the first piece, then only those within 10% of the best there
    // on the other pieces (a colour image has every grey model as a candidate too, as planes; a
    // model that much worse on one piece does not win on the sample, and the choice's time on a
    // large image halves). Piece i's latents are drawn with seed 1 + i, whatever the round.
    struct Score {
        bool fits = false;
        double bits = 0;
        std::string refused;
        ScaleOffset offset;  // second round: the model's own scale offset (unless one is forced)
    };
    if (scale_offset && (*scale_offset < -127 || *scale_offset > 127))
        return make_error("the scale offset must be -127..127 (1/64 nat), got " + std::to_string(*scale_offset));
    const auto piece_samples = [&](std::size_t a, std::size_t b) {
        std::size_t n = 0;
        for (std::size_t i = a; i < b; ++i) n += (*pieces)[i].rows * (*pieces)[i].cols * l.channels;
        return static_cast<double>(n);
    };
    auto score = [&](std::size_t j, std::size_t first, std::size_t last) -> Expected<Score> {
        const std::size_t k = candidates[j].model;
        const auto& cfg = models[k].model->quantized().config();
        auto coder = coding::TiledCoder::make(models[k].model->quantized(), {}, candidates[j].planes);
        if (!coder) return coder.error();
        // A model whose likelihood codes only some sample values (Bernoulli: binary images) is a
        // candidate only if every sample of the input is one of them, not just the sample read.
        if (first == 0) {
            if (auto all = codes_every_sample(in, l, *coder); !all) return all.error();
            else if (!*all) {
                const models::LikelihoodKind& kind = models::likelihood_kind(cfg);
                Score refused;
                refused.refused = "model ";
                refused.refused += models[k].name;
                refused.refused += " has the ";
                refused.refused += kind.name();
                refused.refused += " likelihood, which codes ";
                refused.refused += kind.codable();
                return refused;
            }
        }
        double bits = 0;
        for (std::size_t i = first; i < last; ++i) {
            const SamplePiece& p = (*pieces)[i];
            std::mt19937_64 draw(1 + i);
            bits += coder->neg_elbo_bits(std::span(sample_bytes).subspan(p.offset, p.rows * p.cols * l.channels), p.rows, p.cols, draw);
        }
        Score sc{true, bits, {}, {}};
        // The second round also picks each finalist's scale offset: the choice compares models
        // as they would code, each with its own.
        if (first > 0 && !scale_offset) sc.offset = choose_scale_offset(*coder, *pieces, sample_bytes, l.channels);
        return sc;
    };
    std::vector<Score> scores(candidates.size());
    auto first_round = [&](std::size_t j) { return score(j, 0, 1); };
    auto keep = [&](std::size_t j, Score&& sc) -> Status {
        scores[j] = std::move(sc);
        return Ok{};
    };
    if (auto ok = archive::ordered_parallel<Score>(candidates.size(), threads, first_round, keep); !ok) return ok.error();
    double best_first = std::numeric_limits<double>::infinity();
    for (const Score& sc : scores)
        if (sc.fits) best_first = std::min(best_first, sc.bits);
    std::vector<std::size_t> finalists;
    for (std::size_t j = 0; j < candidates.size(); ++j) {
        if (scores[j].fits && scores[j].bits <= 1.1 * best_first) finalists.push_back(j);
        if (!scores[j].refused.empty() && best.refused.empty()) best.refused = scores[j].refused;
    }
    auto second_round = [&](std::size_t f) { return score(finalists[f], 1, pieces->size()); };
    auto take = [&](std::size_t f, Score&& sc) -> Status {
        const std::size_t j = finalists[f];
        const double bpd = (scores[j].bits + sc.bits - sc.offset.saved_bits) / piece_samples(0, pieces->size());
        if (!best.model || bpd < best.bpd) {
            best.model = &models[candidates[j].model], best.planes = candidates[j].planes, best.bpd = bpd;
            best.scale_offset = scale_offset ? *scale_offset : sc.offset.offset;
        }
        return Ok{};
    };
    if (auto ok = archive::ordered_parallel<Score>(finalists.size(), threads, second_round, take); !ok) return ok.error();
    if (best.model) best.sample_zstd_bpd = zstd_bpd(sample_bytes, zstd_level);
    return best;
}

std::string shape_text(const ImageLayout& l) {
    return std::to_string(l.rows) + "x" + std::to_string(l.cols) + (l.channels == 1 ? "" : "x" + std::to_string(l.channels));
}

// The names of the models that can code images of `channels` channels (whatever their shape):
// the same list whichever models a caller loaded for earlier inputs.
std::string model_names(std::span<const NamedModel> models, std::size_t channels) {
    std::string names;
    for (const NamedModel& m : models)
        if (planes_for(m.model->quantized().config(), channels)) names += (names.empty() ? "" : ", ") + m.name;
    return names;
}

// An entry with the file's kind, name and metadata, nothing coded yet.
Entry entry_of(archive::Kind kind, const EntryMeta& meta) {
    Entry e;
    e.kind = kind;
    e.name = meta.name;
    e.has_metadata = meta.has_metadata;
    e.mode = meta.mode & 07777;
    e.mtime_sec = meta.mtime_sec;
    e.mtime_nsec = meta.mtime_nsec;
    return e;
}

std::string quoted(const std::string& name) { return name.empty() ? std::string("image set") : "'" + archive::printable(name) + "'"; }

}  // namespace

std::optional<std::size_t> planes_for(const models::VaeConfig& cfg, std::size_t channels) {
    if (channels == 0) return std::nullopt;
    if (cfg.image_channels == channels) return 0;
    if (cfg.image_channels == 1 && channels >= 2 && channels <= 4 && models::likelihood_kind(cfg).codes_every_byte()) return channels;
    return std::nullopt;
}

std::string planes_note(std::size_t planes) {
    if (planes == 0) return {};
    return ", coding the " + std::to_string(planes) + " channels as planes" + (planes >= 3 ? std::string(" (YCoCg-R)") : std::string());
}

std::string scale_offset_note(int offset) {
    if (offset == 0) return {};
    char text[64];
    std::snprintf(text, sizeof text, ", log-scales offset by %+.3f nat", static_cast<double>(offset) / 64.0);
    return text;
}

double net_bits_per_dim(const CompressSummary& s) {
    if (s.method != Method::bits_back || s.stats.samples <= s.stats.seed_samples) return 0.0;
    return static_cast<double>(s.stats.net_bits) / static_cast<double>(s.stats.samples - s.stats.seed_samples);
}

std::size_t chunk_images(const CompressOptions& options, std::uint64_t samples_per_image) {
    const std::uint64_t per = std::max<std::uint64_t>(1, samples_per_image);
    const std::uint64_t wanted = options.chunk_images ? options.chunk_images : kDefaultChunkSamples / per;
    // A chunk holds at most 1 GiB of samples (what a reader accepts, docs/format.md).
    return static_cast<std::size_t>(std::max<std::uint64_t>(1, std::min(wanted, archive::kMaxChunkBytes / per)));
}

// ---- ArchiveWriter ------------------------------------------------------------------------------

Status ArchiveWriter::write(std::span<const std::uint8_t> bytes) {
    if (auto ok = out_.write(bytes); !ok) {
        failed_ = true;
        return ok;
    }
    pos_ += bytes.size();
    return Ok{};
}

Status ArchiveWriter::start() {
    if (finished_) return make_error("internal error: archive already finished");
    if (failed_) return make_error("internal error: archive writer failed earlier");
    if (started_) return Ok{};
    started_ = true;
    return write(archive::write_header());
}

Status ArchiveWriter::add_directory(const EntryMeta& meta) {
    if (auto ok = start(); !ok) return ok;
    if (!archive::valid_name(meta.name)) return make_error("'" + meta.name + "' cannot be stored as an archive name");
    Entry e = entry_of(archive::Kind::directory, meta);
    e.checksum = archive::xxh64({});
    entries_.push_back(std::move(e));
    return Ok{};
}

Expected<CompressSummary> ArchiveWriter::add(const EntryMeta& meta, const archive::Input& in, const CompressOptions& options,
                                             std::span<const NamedModel> models) {
    return add(meta, in, options, ModelSource([models](std::size_t) -> Expected<std::span<const NamedModel>> { return models; }));
}

Expected<CompressSummary> ArchiveWriter::add(const EntryMeta& meta, const archive::Input& in, const CompressOptions& options,
                                             const ModelSource& model_source) {
    if (auto ok = start(); !ok) return ok.error();
    if (meta.kind == archive::Kind::directory) return make_error("internal error: add() of a directory");
    if (meta.kind == archive::Kind::file ? !archive::valid_name(meta.name) : !meta.name.empty() && !archive::valid_name(meta.name))
        return make_error("'" + meta.name + "' cannot be stored as an archive name");
    if (in.size() > archive::kMaxOriginalSize) return make_error("input is larger than 2^50 bytes");
    if (options.lanes < 1 || options.lanes > 255) return make_error("lanes must be 1..255");
    if (options.chunk_bytes == 0 || options.chunk_bytes > archive::kMaxChunkBytes) return make_error("chunk size must be 1 byte to 1 GiB");

    Entry e = entry_of(meta.kind, meta);
    e.original_size = in.size();
    CompressSummary s;
    s.input_bytes = in.size();

    std::string why;
    std::optional<FoundImages> found;
    if (in.size() > 0 && (meta.kind == archive::Kind::image_set || options.method != Method::stored || options.raw_shape)) {
        auto f = find_images(in, options, why);
        if (!f) return f.error();
        found = std::move(*f);
    }
    if (meta.kind == archive::Kind::image_set && !found) return make_error("an image set needs its shape");
    if (found) {
        e.layout = found->layout;
        e.images = found->images;
        // A PNG's attributes (ICC profiles, Exif, text: often kilobytes) packed by zstd or xz
        // when that is smaller (docs/format.md, PNG attributes version 2).
        if (auto packed = archive::pack_attributes(e.images->attributes, options.zstd_level)) e.images->packed_attributes = std::move(*packed);
    }
    // What the chunks code: the input's bytes, or the samples of a file rebuilt from them (PNG).
    std::optional<archive::MemoryInput> sample_input;
    const archive::Input* src = &in;
    if (found && archive::rebuilt_from_samples(found->layout)) src = &sample_input.emplace(found->samples);

    // Bits-back, if the input is images and a model codes them.
    const bool bytes_forced = options.method && *options.method != Method::bits_back;
    const bool bits_back_forced = options.method == Method::bits_back;
    std::optional<coding::TiledCoder> coder;
    std::optional<ChunkOut> first_chunk;   // coded while deciding; reused
    std::optional<ByteChoice> byte_choice; // the byte methods' trial on the first chunk, if made
    std::uint64_t per_chunk = 0;
    // The candidates, from the source when they are needed (asked again below for an error).
    auto candidates = [&](std::size_t channels) { return model_source(channels); };
    if (found && !bytes_forced) {
        const ImageLayout& l = found->images;
        auto given = candidates(l.channels);
        if (!given) return given.error();
        const std::span<const NamedModel> models = *given;
        auto choice = choose_model(*src, l, models, options.zstd_level, std::max(1u, options.threads), options.scale_offset);
        if (!choice) return choice.error();
        if (!choice->model) {
            const std::string known = model_names(models, l.channels);
            const auto channels_text = [](std::size_t c) { return std::to_string(c) + (c == 1 ? " channel" : " channels"); };
            std::string offered;  // the candidates none of which codes this channel count, and what they code
            for (const NamedModel& m : models)
                offered += (offered.empty() ? "" : ", ") + m.name + " codes images of " + channels_text(m.model->quantized().config().image_channels);
            why = "no model codes " + shape_text(l) + " images" +
                  (!known.empty()          ? " (models for " + channels_text(l.channels) + ": " + known + ")"
                   : options.require_model ? " (" + offered + ")"
                                           : " (no model for images of " + channels_text(l.channels) + ")");
            if (!choice->refused.empty()) why += "; " + choice->refused;
        } else {
            s.model_name = choice->model->name;
            s.model_identity = choice->model->model->identity_hex();
            s.model_planes = choice->planes;
            s.scale_offset = choice->scale_offset;
            s.sample_neg_elbo_bpd = choice->bpd;
            auto c = coding::TiledCoder::make(choice->model->model->quantized(), scale_settings(choice->scale_offset), choice->planes);
            if (!c) return c.error();
            coder = std::move(*c);
            // One image: chunks of whole bands of its rows (a multiple of the tile height,
            // about the chunk's samples). Several: chunks of images.
            e.row_units = l.count == 1;
            if (e.row_units) {
                const std::uint64_t T = coder->config().rows, row = unit_bytes(l, true);
                const std::uint64_t budget = options.chunk_images ? options.chunk_images * row : kDefaultChunkSamples;
                per_chunk = std::max<std::uint64_t>(1, budget / row / T) * T;
                if (T * row > archive::kMaxChunkBytes) return make_error("a band of more than 1 GiB cannot be coded by bits-back");
            } else {
                per_chunk = chunk_images(options, l.image_bytes());
                if (l.image_bytes() > archive::kMaxChunkBytes) return make_error("an image of more than 1 GiB cannot be coded by bits-back");
            }
            e.method = Method::bits_back;
            e.model = archive::ModelRef{choice->model->model->identity(), choice->model->name, static_cast<std::uint8_t>(options.lanes),
                                        static_cast<std::uint8_t>(choice->planes), static_cast<std::int8_t>(choice->scale_offset)};
            if (!bits_back_forced && choice->bpd >= options.skip_fallback_below * choice->sample_zstd_bpd) {
                // Not clearly better: code the first chunk both ways and keep the smaller rate
                // (the loser's chunk is dropped, the winner's is the entry's first).
                // With one bits-back chunk, the byte methods code the whole input (its first
                // byte chunk) and the comparison is exact. With several, both code the same
                // samples, the first bits-back chunk's (about 2^20): a fair comparison of rates
                // whose cost does not grow with the image (zstd -19 and xz -9e of a 64 MiB
                // chunk take minutes and hundreds of MB); the byte methods then run again on
                // the input if they win.
                auto bb = image_chunk(*src, l, e.row_units, per_chunk, 0, *coder, options);
                if (!bb) return bb.error();
                const bool one_chunk = per_chunk >= bits_back_units(l, e.row_units);
                archive::MemoryInput same_samples(bb->original);
                auto bytes = first_byte_chunk(one_chunk ? *src : same_samples, options.chunk_bytes, options.zstd_level);
                if (!bytes) return bytes.error();
                // stored / original, compared without division (sizes are below 2^31).
                if (bytes->chunk.stored.size() * bb->original.size() <= bb->stored.size() * bytes->chunk.original.size()) {
                    why = std::string(archive::to_string(bytes->method)) + " is smaller than bits-back coding with model " + s.model_name +
                          " on this input";
                    e.method = Method::stored;  // (decided below, from byte_choice)
                    e.model.reset();
                    e.row_units = false;
                    coder.reset();
                    if (one_chunk) byte_choice = std::move(*bytes);
                } else {
                    first_chunk = std::move(*bb);
                }
            }
        }
    }
    if (bits_back_forced && e.method != Method::bits_back)
        return make_error("--method bits-back: " + (why.empty() ? std::string("no model can code this input") : why));
    if (options.require_model && !bytes_forced && s.model_name.empty()) {
        auto given = candidates(found ? found->images.channels : 0);
        if (!given) return given.error();
        std::string named;
        for (const NamedModel& m : *given) named += (named.empty() ? "" : ", ") + m.name;
        return make_error("model " + named + " cannot code this input: " + (why.empty() ? std::string("not images") : why));
    }
    if (meta.kind == archive::Kind::file && e.method != Method::bits_back && e.layout != Layout::none && e.layout != Layout::png &&
        e.layout != Layout::ppm) {
        // Coded as bytes: an IDX or PGM file is kept as an opaque file (its chunks cover every
        // byte). PPM keeps its layout (its chunks cover every byte too); PNG keeps it unless
        // its own bytes code smaller than its samples (below).
        e.layout = Layout::none;
        e.images.reset();
    }

    // The byte method, when not bits-back: forced, or the smallest on the first chunk.
    const std::uint64_t byte_chunk_size = options.chunk_bytes;
    if (e.method != Method::bits_back) {
        if (bytes_forced) {
            e.method = *options.method;
        } else if (src->size() > 0) {
            if (!byte_choice) {
                auto c = first_byte_chunk(*src, byte_chunk_size, options.zstd_level);
                if (!c) return c.error();
                byte_choice = std::move(*c);
            }
            if (src != &in) {
                // The samples of a rebuilt file (with its attributes, as the directory keeps
                // them) against the file's own bytes, the smaller kept (projected from each
                // first chunk: exact when each is one chunk).
                auto opaque = first_byte_chunk(in, byte_chunk_size, options.zstd_level);
                if (!opaque) return opaque.error();
                const auto projected = [](const ByteChoice& c, std::uint64_t total) {
                    return static_cast<double>(c.chunk.stored.size()) * static_cast<double>(total) / static_cast<double>(c.chunk.original.size());
                };
                if (projected(*opaque, in.size()) <=
                    projected(*byte_choice, src->size()) + static_cast<double>(e.images->attributes_field().size())) {
                    why = std::string(archive::to_string(e.layout)) + " file: its own bytes (" + archive::to_string(opaque->method) +
                          ") are smaller than its samples (" + archive::to_string(byte_choice->method) + ")";
                    e.layout = Layout::none;
                    e.images.reset();
                    src = &in;
                    byte_choice = std::move(*opaque);
                }
            }
            e.method = byte_choice->method;
            first_chunk = std::move(byte_choice->chunk);
        }
        s.why_fallback = why;
    }
    s.method = e.method;

    // Every chunk, in parallel, written in order.
    const bool bb = e.method == Method::bits_back;
    const std::uint64_t units = bb ? bits_back_units(*e.images, e.row_units) : src->size();
    const std::uint64_t unit_chunk = bb ? per_chunk : byte_chunk_size;
    const std::size_t nchunks = static_cast<std::size_t>((units + unit_chunk - 1) / unit_chunk);
    Hash64 hash;
    if (bb) hash.update(e.images->prefix);
    std::size_t images_done = 0;
    auto work = [&](std::size_t k) -> Expected<ChunkOut> {
        if (k == 0 && first_chunk) return std::move(*first_chunk);
        if (bb) return image_chunk(*src, *e.images, e.row_units, per_chunk, k, *coder, options);
        return byte_chunk(*src, byte_chunk_size, k, e.method, options.zstd_level);
    };
    auto take = [&](std::size_t, ChunkOut&& c) -> Status {
        c.record.offset = pos_;
        c.record.stored_size = c.stored.size();
        if (auto ok = write(c.stored); !ok) return ok;
        hash.update(c.original);
        e.chunks.push_back(c.record);
        s.output_bytes += c.stored.size();
        if (bb) {
            BitsBackStats& t = s.stats;
            if (t.chunks == 0) t.first_image_bits = c.stats.first_image_bits;
            if (options.running_rate)
                for (std::uint64_t b : c.stats.bits_after) t.bits_after.push_back(t.message_bits + b);
            t.message_bits += c.stats.message_bits;
            t.initial_bits += c.stats.initial_bits;
            t.chunks += 1;
            t.seed_images += c.stats.seed_images;
            t.seed_bits += c.stats.seed_bits;
            t.net_bits += c.stats.net_bits;
            t.samples += c.stats.samples;
            t.seed_samples += c.stats.seed_samples;
            t.neg_elbo_bits += c.stats.neg_elbo_bits;
            t.latent_bits += c.stats.latent_bits;
            t.latent2_bits += c.stats.latent2_bits;
            images_done += static_cast<std::size_t>(c.record.count);
            if (options.progress) options.progress(images_done, static_cast<std::size_t>(units));
        }
        return Ok{};
    };
    if (auto ok = archive::ordered_parallel<ChunkOut>(nchunks, std::max(1u, options.threads), work, take); !ok) {
        failed_ = failed_ || pos_ > 0;
        return ok.error();
    }
    if (bb) hash.update(e.images->suffix);
    if (archive::rebuilt_from_samples(e.layout)) hash.update(e.images->attributes);  // samples | attributes
    e.checksum = hash.digest();
    s.chunks = e.chunks.size();
    if (bb) {
        s.images = static_cast<std::size_t>(e.images->count);
        s.pixels_per_image = static_cast<std::size_t>(e.images->image_bytes());
    }
    entries_.push_back(std::move(e));
    return s;
}

Expected<std::uint64_t> ArchiveWriter::finish() {
    if (auto ok = start(); !ok) return ok.error();
    const Bytes dir = archive::write_directory(entries_);
    const std::uint64_t dir_offset = pos_;
    if (auto ok = write(dir); !ok) return ok.error();
    if (auto ok = write(archive::write_trailer(dir_offset, dir)); !ok) return ok.error();
    finished_ = true;
    return pos_;
}

// ---- ArchiveReader ------------------------------------------------------------------------------

Expected<ArchiveReader> ArchiveReader::open(const archive::Input& in) {
    const std::uint64_t size = in.size();
    auto head = archive::read_range(in, 0, std::min<std::uint64_t>(size, archive::kHeaderSize));
    if (!head) return head.error();
    if (auto ok = archive::parse_header(*head); !ok) return ok.error();
    if (size < archive::kHeaderSize + archive::kTrailerSize) return make_error(".bbx file is truncated (too short for a version 2 archive)");
    auto tail = archive::read_range(in, size - archive::kTrailerSize, archive::kTrailerSize);
    if (!tail) return tail.error();
    auto trailer = archive::parse_trailer(*tail, size);
    if (!trailer) return trailer.error();
    auto dir = archive::read_range(in, trailer->directory_offset, trailer->directory_size);
    if (!dir) return dir.error();
    auto entries = archive::parse_directory(*dir, *trailer);
    if (!entries) return entries.error();
    ArchiveReader r(in);
    r.entries_ = std::move(*entries);
    return r;
}

Status ArchiveReader::decode_chunks(const Entry& e, std::size_t c0, std::size_t c1, const ModelResolver& resolve, unsigned threads,
                                    const std::function<Status(std::size_t, Bytes&&)>& take) const {
    const std::string where = "entry " + quoted(e.name);
    std::optional<coding::TiledCoder> coder;
    if (e.method == Method::bits_back && c1 > c0) {
        const archive::ModelRef& m = *e.model;
        const std::string needs = where + " needs model " + (m.name.empty() ? std::string() : archive::printable(m.name) + " ") + "(identity " +
                                  archive::to_hex(m.identity) + ")";
        if (!resolve) return make_error(needs + ", which is not available");
        auto model = resolve(m.identity);
        if (!model) return make_error(needs + ": " + model.error().message);
        const auto& cfg = (*model)->quantized().config();
        if (cfg.image_channels != (m.planes ? 1 : e.images->channels))
            return make_error(where + ": its images have " + std::to_string(e.images->channels) + " channels" +
                              (m.planes ? " coded as planes by a grey model" : "") + ", its model " + std::to_string(cfg.image_channels));
        auto c = coding::TiledCoder::make((*model)->quantized(), scale_settings(m.scale_offset), m.planes);
        if (!c) return c.error();
        coder = std::move(*c);
    }
    auto work = [&](std::size_t j) -> Expected<Bytes> {
        const std::size_t k = c0 + j;
        const ChunkRecord& c = e.chunks[k];
        const std::string at = where + ", chunk " + std::to_string(k);
        auto stored = archive::read_range(*in_, c.offset, c.stored_size);
        if (!stored) return make_error(at + ": " + stored.error().message);
        if (archive::xxh64(*stored) != c.stored_checksum) return make_error(at + " is corrupt (checksum mismatch)");
        Expected<Bytes> original = make_error("");
        if (e.method != Method::bits_back) original = decode_bytes(e.method, *stored, c.count);
        else if (e.row_units)
            original = decode_images(*coder, *stored, e.model->lanes, 1, static_cast<std::size_t>(c.count), e.images->cols, c.seed_images);
        else
            original = decode_images(*coder, *stored, e.model->lanes, static_cast<std::size_t>(c.count), e.images->rows, e.images->cols,
                                     c.seed_images * coder->bands(e.images->rows));
        if (!original) return make_error(at + ": " + original.error().message);
        if (archive::xxh64(*original) != c.original_checksum) return make_error(at + " decodes to the wrong bytes (checksum mismatch)");
        return original;
    };
    auto taken = [&](std::size_t j, Bytes&& b) { return take(c0 + j, std::move(b)); };
    return archive::ordered_parallel<Bytes>(c1 - c0, std::max(1u, threads), work, taken);
}

Status ArchiveReader::extract(std::size_t i, archive::Output& out, const ModelResolver& resolve, unsigned threads,
                              const Progress& progress) const {
    if (i >= entries_.size()) return make_error("internal error: no entry " + std::to_string(i));
    const Entry& e = entries_[i];
    Hash64 hash;
    std::uint64_t written = 0;
    auto put = [&](std::span<const std::uint8_t> b) -> Status {
        hash.update(b);
        written += b.size();
        return out.write(b);
    };
    const bool bb = e.method == Method::bits_back;
    if (bb)
        if (auto ok = put(e.images->prefix); !ok) return ok;
    // A file rebuilt from its samples (PNG): the samples are gathered, checked, then rebuilt.
    const bool rebuilt = archive::rebuilt_from_samples(e.layout);
    Bytes samples;
    std::uint64_t units = 0;
    auto take = [&](std::size_t k, Bytes&& b) -> Status {
        units += e.chunks[k].count;
        if (bb && progress) progress(static_cast<std::size_t>(units), static_cast<std::size_t>(bits_back_units(*e.images, e.row_units)));
        if (rebuilt) {
            hash.update(b);
            samples.insert(samples.end(), b.begin(), b.end());
            return Ok{};
        }
        return put(b);
    };
    if (auto ok = decode_chunks(e, 0, e.chunks.size(), resolve, threads, take); !ok) return ok;
    if (rebuilt) {
        hash.update(e.images->attributes);
        if (hash.digest() != e.checksum) return make_error("entry " + quoted(e.name) + ": content checksum mismatch (the archive is corrupt)");
        auto file = rebuild_image_file(e.layout, *e.images, samples);
        if (!file) return make_error("entry " + quoted(e.name) + ": " + file.error().message);
        return out.write(*file);
    }
    if (bb)
        if (auto ok = put(e.images->suffix); !ok) return ok;
    if (written != e.original_size || hash.digest() != e.checksum)
        return make_error("entry " + quoted(e.name) + ": content checksum mismatch (the archive is corrupt)");
    return Ok{};
}

Expected<Bytes> ArchiveReader::images(std::size_t i, std::uint64_t first, std::uint64_t count, const ModelResolver& resolve,
                                      unsigned threads) const {
    if (i >= entries_.size()) return make_error("no entry " + std::to_string(i));
    const Entry& e = entries_[i];
    if (!e.images) return make_error("entry " + quoted(e.name) + " is not images");
    const ImageLayout& l = *e.images;
    if (first > l.count || count > l.count - first)
        return make_error("images " + std::to_string(first) + ".." + std::to_string(first + count) + " are beyond the entry's " +
                          std::to_string(l.count));
    // In the chunks' units: images (bits-back) or bytes of the original.
    const bool bb = e.method == Method::bits_back;
    const std::uint64_t per = bb && e.row_units ? l.rows : 1;  // units per image
    const std::uint64_t lo = bb ? first * per : l.prefix.size() + first * l.image_bytes();
    const std::uint64_t hi = bb ? (first + count) * per : lo + count * l.image_bytes();
    const std::uint64_t unit = bb ? unit_bytes(l, e.row_units) : 1;
    Bytes out;
    try {
        out.reserve(static_cast<std::size_t>(count * l.image_bytes()));
    } catch (const std::exception&) {
        return make_error("not enough memory for " + std::to_string(count) + " images");
    }
    std::size_t c0 = 0;
    while (c0 < e.chunks.size() && e.chunks[c0].first + e.chunks[c0].count <= lo) ++c0;
    std::size_t c1 = c0;
    while (c1 < e.chunks.size() && e.chunks[c1].first < hi) ++c1;
    auto take = [&](std::size_t k, Bytes&& b) -> Status {
        const ChunkRecord& c = e.chunks[k];
        const std::uint64_t from = std::max(lo, c.first) - c.first, to = std::min(hi, c.first + c.count) - c.first;
        out.insert(out.end(), b.begin() + static_cast<std::ptrdiff_t>(from * unit), b.begin() + static_cast<std::ptrdiff_t>(to * unit));
        return Ok{};
    };
    if (count > 0)
        if (auto ok = decode_chunks(e, c0, c1, resolve, threads, take); !ok) return ok.error();
    return out;
}

// ---- one-entry shortcuts ------------------------------------------------------------------------

Expected<Compressed> compress(std::span<const std::uint8_t> input, const CompressOptions& options, std::span<const NamedModel> models,
                              const std::string& name) {
    return compress(input, options, ArchiveWriter::ModelSource([models](std::size_t) -> Expected<std::span<const NamedModel>> { return models; }),
                    name);
}

Expected<Compressed> compress(std::span<const std::uint8_t> input, const CompressOptions& options, const ArchiveWriter::ModelSource& models,
                              const std::string& name) {
    archive::MemoryOutput out;
    ArchiveWriter w(out);
    archive::MemoryInput in(input);
    EntryMeta meta;
    meta.name = name;
    auto s = w.add(meta, in, options, models);
    if (!s) return s.error();
    auto size = w.finish();
    if (!size) return size.error();
    s->output_bytes = *size;
    return Compressed{std::move(out.bytes()), std::move(*s)};
}

namespace {
// Format version 1: one file, one message (docs/format-v1.md).
Expected<Bytes> decompress_v1(std::span<const std::uint8_t> file, const ModelResolver& resolve, const Progress& progress) {
    container::BitsBackDecoder decoder = [&](const container::BitsBackPayload& p, std::uint64_t) -> Expected<Bytes> {
        if (!resolve) return make_error("this .bbx file needs model " + archive::to_hex(p.model) + ", which is not available");
        auto model = resolve(p.model);
        if (!model) return model.error();
        const auto& cfg = (*model)->quantized().config();
        if (cfg.rows != p.rows || cfg.cols != p.cols) return make_error("the file's image shape does not match its model");
        auto coder = coding::TiledCoder::make((*model)->quantized());
        if (!coder) return coder.error();
        auto pixels = decode_images(*coder, p.message, p.lanes, static_cast<std::size_t>(p.count), p.rows, p.cols, p.seed_images, progress);
        if (!pixels) return pixels.error();
        Bytes out = p.header_bytes;
        out.insert(out.end(), pixels->begin(), pixels->end());
        return out;
    };
    return container::decompress(file, decoder);
}
}  // namespace

Expected<Bytes> decompress(std::span<const std::uint8_t> file, const ModelResolver& resolve, const Progress& progress, unsigned threads) {
    const auto version = archive::peek_version(file);
    if (version == 1) return decompress_v1(file, resolve, progress);
    archive::MemoryInput in(file);
    auto reader = ArchiveReader::open(in);
    if (!reader) return reader.error();
    const auto& entries = reader->entries();
    if (entries.size() != 1 || entries[0].kind == archive::Kind::directory)
        return make_error("the archive holds " + std::to_string(entries.size()) + " entries, not one file");
    archive::MemoryOutput out;
    if (auto ok = reader->extract(0, out, resolve, threads, progress); !ok) return ok.error();
    return std::move(out.bytes());
}

}  // namespace bbans

// ---- the image API (include/bbans/bbans.hpp) ---------------------------------------------------

namespace bbans {

Status check_images(const ImageView& images) {
    if (images.count == 0 || images.rows == 0 || images.cols == 0) return make_error("an image set needs at least one image of 1x1 or more");
    if (images.channels < 1 || images.channels > 4) return make_error("images must have 1 to 4 channels, not " + std::to_string(images.channels));
    if (images.rows > 65535 || images.cols > 65535) return make_error("images larger than 65535 pixels a side are not supported");
    const std::uint64_t per = std::uint64_t{images.rows} * images.cols * images.channels;
    if (images.count > archive::kMaxOriginalSize / per || images.samples.size() != images.count * per)
        return make_error("the sample count does not match count x rows x cols x channels");
    return Ok{};
}

Expected<std::vector<std::uint8_t>> compress_images(const ImageView& images, const CompressOptions& options,
                                                    std::span<const NamedModel> models) {
    if (auto ok = check_images(images); !ok) return ok.error();
    archive::MemoryOutput out;
    ArchiveWriter w(out);
    archive::MemoryInput in(images.samples);
    EntryMeta meta;
    meta.kind = archive::Kind::image_set;
    CompressOptions o = options;
    o.raw_shape = io::Shape{images.rows, images.cols, images.channels};
    auto s = w.add(meta, in, o, models);
    if (!s) return s.error();
    if (auto size = w.finish(); !size) return size.error();
    return std::move(out.bytes());
}

Expected<ImageArray> decompress_images(std::span<const std::uint8_t> file, const ModelResolver& resolve, unsigned threads) {
    archive::MemoryInput in(file);
    auto reader = ArchiveReader::open(in);
    if (!reader) return reader.error();
    const auto& entries = reader->entries();
    if (entries.size() != 1 || !entries[0].images) return make_error("the archive does not hold exactly one set of images");
    const archive::ImageLayout& l = *entries[0].images;
    ImageArray a;
    a.count = l.count, a.rows = l.rows, a.cols = l.cols, a.channels = l.channels;
    auto samples = reader->images(0, 0, l.count, resolve, threads);
    if (!samples) return samples.error();
    a.samples = std::move(*samples);
    return a;
}

}  // namespace bbans
