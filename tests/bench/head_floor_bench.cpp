// How fast can a model's per-sample head be, against zstd -19 in the same run (issue 9's speed
// target: compress and decompress each at most 0.2x zstd -19's compression time on the 10,000
// Fashion-MNIST test images, one core). Prints, on one core:
//   1. libzstd level 19 compressing the input file (in process, one thread): the peer;
//   2. the model's head alone for every pixel of every image (PackedVae::head, the coder's
//      kernel), its inputs built beforehand outside the timing: a floor for any coder that
//      evaluates this head once per sample, whatever else it does;
//   3. the head plus what turns its output into a symbol model and an interval (pixel_model,
//      LogisticMixture::interval at the pixel's value): a floor for compress without the rANS
//      coder, the context gathering and the latent;
//   4. (AVX2 CPUs) one 64 x 64 int16 layer, the shape of the shipped heads' widest layer, for
//      one sample at a time (weights loaded per sample, as the coder does) and for 2 and 4
//      samples sharing each weight load (what decoding several chunks in lock-step would allow).
// A program that prints figures, not a test.
//   usage: head_floor_bench [MODEL.bbm [IMAGES.idx]]
#include <zstd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <vector>

#include "codec/logistic.hpp"
#include "models/neighbourhood.hpp"
#include "models/packed.hpp"
#include "src/coding/model_file.hpp"
#include "src/coding/sample_codecs.hpp"
#include "src/io/images.hpp"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define BENCH_AVX2 1
#include <immintrin.h>
#endif

using namespace bbans;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

#if defined(BENCH_AVX2)
// A 64 x 64 layer in the packed layout of models/packed.hpp (input pairs; 8 rows per vector):
// out[b][64] = W x[b] for B samples, G blocks of 8 rows per pass (accumulators: B x G).
alignas(32) std::int16_t g_w[32 * 64 * 2];
template <int B, int G>
__attribute__((target("avx2"))) void layer64(const std::int16_t* x, std::int32_t* out) {
    for (int g0 = 0; g0 < 8; g0 += G) {
        __m256i a[B][G];
        for (int b = 0; b < B; ++b)
            for (int j = 0; j < G; ++j) a[b][j] = _mm256_setzero_si256();
        for (int p = 0; p < 32; ++p) {
            const std::int16_t* wp = g_w + p * 128 + 16 * g0;
            __m256i w[G];
            for (int j = 0; j < G; ++j) w[j] = _mm256_load_si256(reinterpret_cast<const __m256i*>(wp + 16 * j));
            for (int b = 0; b < B; ++b) {
                std::int32_t v;
                std::memcpy(&v, x + b * 64 + 2 * p, sizeof v);
                const __m256i xv = _mm256_set1_epi32(v);
                for (int j = 0; j < G; ++j) a[b][j] = _mm256_add_epi32(a[b][j], _mm256_madd_epi16(w[j], xv));
            }
        }
        for (int b = 0; b < B; ++b)
            for (int j = 0; j < G; ++j) _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + b * 64 + 8 * (g0 + j)), a[b][j]);
    }
}

// ns per sample of layer64<B, G> over `samples` samples of xs (64 values each).
template <int B, int G>
double layer_ns(const std::vector<std::int16_t>& xs, std::size_t samples, long long& sink) {
    alignas(32) std::array<std::int32_t, 64 * B> out{};
    const std::size_t n = xs.size() / 64;
    const auto t = Clock::now();
    for (std::size_t i = 0; i + B <= samples; i += B) {
        layer64<B, G>(xs.data() + 64 * (i % (n - B + 1)), out.data());
        sink += out[i % out.size()];
    }
    return seconds_since(t) * 1e9 / static_cast<double>(samples);
}
#endif

}  // namespace

int main(int argc, char** argv) {
    const char* model_path = argc > 1 ? argv[1] : BBANS_SOURCE_DIR "/models/shipped/fashion-mnist.bbm";
    const char* images_path = argc > 2 ? argv[2] : BBANS_SOURCE_DIR "/corpora/data/fashion-mnist/test-images-idx3-ubyte";
    auto model = coding::load_model(model_path);
    if (!model) return std::fprintf(stderr, "head_floor_bench: %s\n", model.error().message.c_str()), 1;
    std::ifstream file(images_path, std::ios::binary);
    const std::vector<char> raw((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    auto images = io::load_images(images_path);
    if (!images || raw.empty())
        return std::fprintf(stderr, "head_floor_bench: %s: %s (corpora/fetch fashion-mnist)\n", images_path,
                            images ? "cannot read" : images.error().message.c_str()), 1;
    auto packed = models::PackedVae::make(model->quantized());
    if (!packed) return std::fprintf(stderr, "head_floor_bench: %s\n", packed.error().message.c_str()), 1;
    const auto& cfg = packed->config();
    if (cfg.rows != images->rows || cfg.cols != images->cols || cfg.image_channels != 1 || !cfg.autoregressive ||
        cfg.likelihood != models::Likelihood::logistic_mixture)
        return std::fprintf(stderr, "head_floor_bench: needs a grey autoregressive mixture model of the images' shape\n"), 1;

    // 1. The peer.
    std::vector<char> dst(ZSTD_compressBound(raw.size()));
    auto t = Clock::now();
    const std::size_t zsize = ZSTD_compress(dst.data(), dst.size(), raw.data(), raw.size(), 19);
    const double zstd_s = seconds_since(t);
    if (ZSTD_isError(zsize)) return std::fprintf(stderr, "head_floor_bench: zstd failed\n"), 1;

    // 2 and 3. Each image's head inputs (decoder channels at the posterior mean, then the 12
    // causal neighbours) built untimed; then the head alone, and the head with the symbol model.
    const std::size_t n = images->count, D = cfg.pixels(), C = cfg.channels, L = cfg.latent, I = C + models::kNeighbours;
    const unsigned prec = 16;
    std::vector<std::int32_t> mean(L), log_scale(L);
    std::vector<std::int16_t> ch(D * C), in(D * I);
    models::QPixelMixture px;
    codec::LogisticMixture mix;
    double head_s = 0, model_s = 0;
    long long sink = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const auto x = images->image(i);
        packed->posterior(x, mean, log_scale);
        packed->decoder_channels(mean, ch);
        for (std::size_t p = 0; p < D; ++p) {
            std::copy_n(ch.data() + p * C, C, in.data() + p * I);
            models::neighbourhood(x.data(), cfg.rows, cfg.cols, p / cfg.cols, p % cfg.cols, in.data() + p * I + C, std::int16_t{1});
        }
        t = Clock::now();
        for (std::size_t p = 0; p < D; ++p) {
            packed->head(in.data() + p * I, 0, px);
            sink += px.means[0];
        }
        head_s += seconds_since(t);
        t = Clock::now();
        for (std::size_t p = 0; p < D; ++p) {
            packed->head(in.data() + p * I, 0, px);
            coding::pixel_model(px, prec, mix, 0);
            sink += mix.interval(x[p]).freq;
        }
        model_s += seconds_since(t);
    }
    const double pixels = static_cast<double>(n * D);
    std::printf("model %s (%s): %zu images of %ux%u; head %u -> %u x %u -> %u%s, %s kernels\n", model->identity_hex().c_str(),
                model_path, n, cfg.rows, cfg.cols, static_cast<unsigned>(I), cfg.head_layers, cfg.head_hidden, 3 * cfg.components,
                cfg.head_skip ? " (+ skip)" : "", models::PackedLinear::has_avx2() ? "AVX2" : "portable");
    std::printf("zstd -19 (libzstd, in process):        %7.3f s  (%zu -> %zu bytes)\n", zstd_s, raw.size(), zsize);
    std::printf("head alone, every pixel:               %7.3f s  = %.3fx zstd -19  (%.1f ns per pixel)\n", head_s, head_s / zstd_s,
                head_s * 1e9 / pixels);
    std::printf("head + symbol model + interval:        %7.3f s  = %.3fx zstd -19  (%.1f ns per pixel)\n", model_s, model_s / zstd_s,
                model_s * 1e9 / pixels);
    std::printf("issue 9's target for all of compress:  %7.3f s  = 0.2x zstd -19\n", 0.2 * zstd_s);

#if defined(BENCH_AVX2)
    if (__builtin_cpu_supports("avx2")) {
        std::mt19937 rng(1);
        for (auto& w : g_w) w = static_cast<std::int16_t>(static_cast<int>(rng() % 512) - 256);
        std::vector<std::int16_t> xs(64 * 4096);
        for (auto& v : xs) v = static_cast<std::int16_t>(rng() % 2 == 0 ? 0 : rng() % 4096);  // ReLU outputs: about half 0
        const std::size_t samples = 4'000'000;
        const double one = layer_ns<1, 8>(xs, samples, sink);
        const double two = layer_ns<2, 4>(xs, samples, sink);
        const double four = layer_ns<4, 2>(xs, samples, sink);
        std::printf("one 64x64 int16 layer, ns per sample:  1 at a time %.1f, 2 sharing weight loads %.1f (%.2fx), 4 sharing %.1f (%.2fx)\n",
                    one, two, one / two, four, one / four);
    }
#endif
    std::printf("(checksum %lld)\n", sink);
    return 0;
}
