// Float vs integer model inference speed for the shipped architecture (issues 4, 5): images/s of
// computing everything coding needs for one image (posterior, decoder channels for a latent,
// and the mixture parameters of every pixel, pixel by pixel as a decoder must), on one core.
// The float model has the same architecture with fresh random weights (speed does not depend
// on the values). A program that prints figures, not a test.
//   usage: model_bench [MODEL.bbm IMAGES.idx]
#include <chrono>
#include <cstdio>
#include <vector>

#include "models/neighbourhood.hpp"
#include "models/packed.hpp"
#include "models/vae.hpp"
#include "src/coding/model_file.hpp"
#include "src/io/images.hpp"

using namespace bbans;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
    const char* model_path = argc > 1 ? argv[1] : BBANS_SOURCE_DIR "/models/shipped/mnist.bbm";
    const char* images_path = argc > 2 ? argv[2] : BBANS_SOURCE_DIR "/corpora/samples/mnist-test-1000-images-idx3-ubyte";
    auto model = coding::load_model(model_path);
    if (!model) return std::fprintf(stderr, "%s\n", model.error().message.c_str()), 1;
    auto images = io::load_images(images_path);
    if (!images) return std::fprintf(stderr, "%s\n", images.error().message.c_str()), 1;
    const auto& q = model->quantized();
    const auto& cfg = q.config();
    auto vae = models::Vae::make(cfg, 1);
    if (!vae) return std::fprintf(stderr, "%s\n", vae.error().message.c_str()), 1;
    const std::size_t n = std::min<std::size_t>(images->count, 200), D = cfg.pixels(), C = cfg.channels, L = cfg.latent;

    double sink = 0;
    auto t0 = Clock::now();
    for (std::size_t i = 0; i < n; ++i) {
        const auto x = images->image(i);
        const auto post = vae->posterior(x);
        const auto ch = vae->decoder_channels(post.mean);
        std::vector<float> nb(models::kNeighbours);
        for (std::size_t p = 0; p < D; ++p) {
            models::neighbourhood(x.data(), cfg.rows, cfg.cols, p / cfg.cols, p % cfg.cols, nb.data());
            const auto px = vae->pixel_params(std::span<const float>(ch.data() + p * C, C), nb, 0);
            sink += px.means[0];
        }
    }
    const double float_s = std::chrono::duration<double>(Clock::now() - t0).count();

    // The integer model, with the reference kernels (QuantizedVae) and with the packed ones the
    // coder uses (PackedVae: zero inputs skipped, AVX2 when built with it).
    auto time_integer = [&](const auto& net) {
        std::vector<std::int32_t> mean(L), ls(L);
        std::vector<std::int16_t> ch(D * C);
        std::uint8_t nb[models::kNeighbours];
        models::QPixelMixture px;
        const auto start = Clock::now();
        for (std::size_t i = 0; i < n; ++i) {
            const auto x = images->image(i);
            net.posterior(x, mean, ls);
            net.decoder_channels(mean, ch);
            for (std::size_t p = 0; p < D; ++p) {
                models::neighbourhood(x.data(), cfg.rows, cfg.cols, p / cfg.cols, p % cfg.cols, nb, std::uint8_t{1});
                net.pixel_params(ch.data() + p * C, nb, 0, px);
                sink += px.means[0];
            }
        }
        return std::chrono::duration<double>(Clock::now() - start).count();
    };
    auto packed = models::PackedVae::make(q);
    if (!packed) return std::fprintf(stderr, "%s\n", packed.error().message.c_str()), 1;
    const double int_s = time_integer(q);
    const double packed_s = time_integer(*packed);
    std::printf("model %s: %zu images of %ux%u, latent %u, hidden %u/%u, head %u, %u logistics\n", model->identity_hex().c_str(), n,
                cfg.rows, cfg.cols, cfg.latent, cfg.encoder_hidden, cfg.decoder_hidden, cfg.head_hidden, cfg.components);
    std::printf("float   (Eigen, this build's flags): %8.1f images/s\n", static_cast<double>(n) / float_s);
    std::printf("integer, reference kernels:          %8.1f images/s  (%.2fx the float path)\n", static_cast<double>(n) / int_s,
                float_s / int_s);
    std::printf("integer, packed kernels (%s):      %8.1f images/s  (%.2fx the float path)\n",
                models::PackedLinear::has_avx2() ? "AVX2" : "C++ ", static_cast<double>(n) / packed_s, float_s / packed_s);
    std::printf("(checksum %g)\n", sink);
    return 0;
}
