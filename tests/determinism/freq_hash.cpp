// Prints one hash of every frequency the codecs compute for a fixed, large set of integer
// parameters and, given a coding model and images, of every frequency that model codes them
// with (posterior, latents, every pixel's whole CDF). Builds with different compilers and
// flags must print the same hashes: that is the property that lets a file encoded on one
// machine decode on another. (tests/determinism/cross_build.sh builds this with other
// compilers and compares.)
//   usage: freq_hash [MODEL.bbm IMAGES.idx [COUNT]]
#include <cstdint>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "codec/categorical.hpp"
#include "codec/gaussian.hpp"
#include "codec/logistic.hpp"
#include "src/coding/model_file.hpp"
#include "src/coding/tiled_coder.hpp"
#include "src/io/files.hpp"
#include "src/io/images.hpp"

using namespace bbans::codec;

namespace {
struct Fnv {  // FNV-1a, 64 bit: order-sensitive, no dependencies
    std::uint64_t h = 0xcbf29ce484222325ull;
    void add(std::uint64_t v) {
        for (int i = 0; i < 8; ++i) {
            h ^= (v >> (8 * i)) & 0xFF;
            h *= 0x100000001b3ull;
        }
    }
};
struct SplitMix {  // integer-only parameter stream
    std::uint64_t s;
    std::uint64_t next() {
        std::uint64_t z = (s += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    std::int32_t range(std::int32_t lo, std::int32_t hi) { return lo + static_cast<std::int32_t>(next() % static_cast<std::uint64_t>(hi - lo + 1)); }
};
}  // namespace

// Every frequency a model would code `count` images with.
int model_hash(const char* model_path, const char* images_path, std::size_t count) {
    auto model = bbans::coding::load_model(model_path);
    if (!model) return std::fprintf(stderr, "%s\n", model.error().message.c_str()), 1;
    auto images = bbans::io::load_images(images_path);
    if (!images) return std::fprintf(stderr, "%s\n", images.error().message.c_str()), 1;
    auto coder = bbans::coding::TiledCoder::make(model->quantized());
    if (!coder) return std::fprintf(stderr, "%s\n", coder.error().message.c_str()), 1;
    // A colour model gets grey images made colour: sample s of a pixel is (v + 40 s) mod 256,
    // enough to reach every path of the colour context with real image structure.
    if (images->channels == 1 && coder->channels() > 1) {
        const std::size_t S = coder->channels();
        std::vector<std::uint8_t> colour(images->pixels.size() * S);
        for (std::size_t i = 0; i < images->pixels.size(); ++i)
            for (std::size_t c = 0; c < S; ++c) colour[i * S + c] = static_cast<std::uint8_t>((images->pixels[i] + 40 * c) % 256);
        images->pixels = std::move(colour);
        images->channels = static_cast<std::uint32_t>(S);
    }
    if (images->channels != coder->channels()) return std::fprintf(stderr, "the images do not have the model's channels\n"), 1;
    Fnv fnv;
    SplitMix rng{7};
    count = std::min(count, images->count);
    // Each image band by band, as the tiled coder codes it (tiles of the model's size; the
    // images need not have that size).
    const std::size_t rows = images->rows, cols = images->cols, S = images->channels, T = coder->config().rows;
    for (std::size_t i = 0; i < count; ++i) {
        const auto px = images->image(i);
        for (std::size_t r0 = 0; r0 < rows; r0 += T) {
            const std::size_t n = std::min(T, rows - r0);
            const std::vector<std::uint8_t> band(px.begin() + static_cast<std::ptrdiff_t>(r0 * cols * S),
                                                 px.begin() + static_cast<std::ptrdiff_t>((r0 + n) * cols * S));
            const bbans::models::Frame f{n, cols, S};
            std::vector<std::uint8_t> frame(f.size());
            bbans::models::cut_frame(px.data(), rows, cols, f, static_cast<std::ptrdiff_t>(r0), 0, frame.data());
            const auto post = coder->posterior_models(band, n, cols);
            bbans::coding::Latent z;
            for (const auto& q : post) {
                for (std::uint32_t k = 0; k <= coder->grid().buckets(); ++k) fnv.add(q.cdf(k));
                z.push_back(q.symbol(static_cast<std::uint32_t>(rng.next() & ((std::uint64_t{1} << q.precision()) - 1))));
            }
            const auto lik = coder->likelihood(z, frame, n, cols);
            for (std::size_t q = 0; q < band.size(); ++q) {
                const std::size_t p = q / S;
                const auto m = lik.model_at(band, p / cols, p % cols, q % S);
                for (std::uint32_t v = 0; v <= 256; ++v) fnv.add(m.cdf(v));
            }
        }
    }
    std::printf("model frequency hash %016llx (%zu images)\n", static_cast<unsigned long long>(fnv.h), count);
    return 0;
}

int main(int argc, char** argv) {
    if (argc >= 3) return model_hash(argv[1], argv[2], argc >= 4 ? std::strtoul(argv[3], nullptr, 10) : 20);
    Fnv fnv;
    SplitMix rng{42};
    // Logistic mixtures over all 256 values: 20,000 random parameter sets.
    for (int t = 0; t < 20000; ++t) {
        std::vector<LogisticParams> comps(1 + rng.next() % LogisticMixture::kMaxComponents);
        for (auto& c : comps) c = {rng.range(-20 * 256, 280 * 256), rng.range(-9 * 256, 9 * 256), static_cast<std::uint32_t>(rng.next() % 100000)};
        comps[0].weight += 1;
        const unsigned prec = 10 + static_cast<unsigned>(rng.next() % 22);
        auto m = LogisticMixture::make(comps, prec);
        if (!m) return 1;
        for (std::uint32_t v = 0; v <= 256; ++v) fnv.add(m->cdf(v));
    }
    // Bucket grids and Gaussian posteriors over them.
    for (unsigned pp : {4u, 8u, 10u, 12u}) {
        auto grid = BucketGrid::make(pp);
        if (!grid) return 1;
        for (std::uint32_t k = 1; k < grid->buckets(); ++k) fnv.add(static_cast<std::uint32_t>(grid->edge_q16(k)));
        for (std::uint32_t k = 0; k < grid->buckets(); ++k) fnv.add(static_cast<std::uint32_t>(grid->centre_q16(k)));
        for (int t = 0; t < 200; ++t) {
            // Separate statements: the order in which function arguments are evaluated is
            // unspecified (GCC and Clang differ), and the stream must be read in one order.
            const GaussianParams params{rng.range(-5 << 16, 5 << 16), rng.range(-6 * 256, 2 * 256)};
            const unsigned prec = pp + 1 + static_cast<unsigned>(rng.next() % (31 - pp));
            auto g = GaussianBuckets::make(*grid, params, prec);
            if (!g) return 1;
            for (std::uint32_t k = 0; k <= grid->buckets(); ++k) fnv.add(g->cdf(k));
        }
    }
    // The integer frequency builder.
    for (int t = 0; t < 2000; ++t) {
        std::vector<std::uint64_t> w(1 + rng.next() % 300);
        for (auto& x : w) x = rng.next() >> (rng.next() % 64);
        auto f = frequencies_from_weights(w, 9 + static_cast<unsigned>(rng.next() % 23));
        if (!f) return 1;
        for (auto x : *f) fnv.add(x);
    }
    std::printf("frequency hash %016llx\n", static_cast<unsigned long long>(fnv.h));
    return 0;
}
