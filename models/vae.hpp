#pragma once
// The VAE: encoder q(z|x), prior N(0, I), decoder and the per-pixel likelihood head.
//
//   x (a tile of D = rows*cols pixels of S samples, interleaved: D*S bytes) -> x / 255
//     -> encoder MLP -> [mean (L); raw log-scale (L)]
//   z = mean + exp(log_scale) * eps                                    (reparameterization)
//   z -> decoder MLP -> D*S*C values, sample-major: channel ch of sample q = p*S + s at q*C + ch
//   sample q: f = [its C channels ; its context / 255 (neighbourhood.hpp)] -> head MLP (ReLU)
//            -> 3K raw -> K logits, means = 255 * raw, log-scales = clamp(raw, -7, 7)
//   log p(x|z) = sum_q log P_mixture(x_q)  (likelihood.hpp)
// That is the logistic-mixture likelihood; the likelihood is a LikelihoodKind
// (likelihood_kind.hpp), which says how many channels the decoder gives each sample, whether a
// head turns them into the sample's parameters, and log p of a sample given them (Bernoulli:
// one logit per sample straight from the decoder, no head).
//   loss = ( -log p(x|z) + KL(q(z|x) || N(0, I)) ) / (D S ln 2)   bits per dimension (sample)
// The head is shared by the S channels; the decoder channels tell it which channel it codes.
//
// Inputs are x / 255 (not centred): 0 is black, and an out-of-image neighbour reads as 0 (black).
// The encoder's log-scale is clamped to [-8, 8] (the integer Gaussian codec's range); a clamped
// value passes no gradient.
//
// BasicVae<double> exists for gradient checks; the model that is trained, saved and used for
// coding is Vae = BasicVae<float>.
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "bbans/expected.hpp"
#include "models/config.hpp"
#include "models/layers.hpp"
#include "models/likelihood.hpp"
#include "models/neighbourhood.hpp"
#include "models/parallel.hpp"

namespace bbans::models {

// A read-only view of training or evaluation samples: count tiles of rows x cols pixels of
// `channels` samples each (interleaved), one after another. Unframed, a sample is just the
// tile (rows * cols * channels bytes) and its context outside the tile reads 0; framed, a
// sample is the tile's frame (neighbourhood.hpp: the tile with the image around it).
struct ImageSet {
    const std::uint8_t* pixels = nullptr;
    std::size_t count = 0;
    std::size_t rows = 0;
    std::size_t cols = 0;
    std::size_t channels = 1;
    bool framed = false;

    Frame frame() const { return {rows, cols, channels}; }
    std::size_t tile_size() const { return rows * cols * channels; }
    std::size_t image_size() const { return framed ? frame().size() : tile_size(); }  // bytes per sample
    const std::uint8_t* image(std::size_t i) const { return pixels + i * image_size(); }
};

// Mean over the images of a minibatch, bits per dimension.
struct LossParts {
    double loss_bpd = 0.0;   // recon + kl = negative ELBO (single-sample estimate)
    double recon_bpd = 0.0;  // -log p(x|z)
    double kl_bpd = 0.0;     // KL(q(z|x) || p(z)), analytic
};

// Held-out negative ELBO: analytic KL plus -log p(x|z) averaged over `samples` draws of
// z ~ q(z|x) per image (noise from a generator seeded with `seed`, the same every call).
struct EvalResult {
    double neg_elbo_bpd = 0.0;
    double recon_bpd = 0.0;
    double kl_bpd = 0.0;
    std::size_t images = 0;
    std::uint32_t samples = 0;
};

// How a minibatch is split over cores: `shards` fixed contiguous parts (the result depends on
// it), processed by `threads` workers (the result does not depend on it). With an exchange of
// several ranks, this process computes only its own shards (shards_of_rank) and gets the others'
// results from the exchange: the results are still the same bits (parallel.hpp).
struct Parallelism {
    unsigned shards = 1;
    unsigned threads = 1;
    ShardExchange* exchange = nullptr;  // not owned; null: every shard here
};

// How the KL term's gradient is shaped while training (TrainConfig::kl_warmup_steps and
// free_bits). Only the gradient changes: the loss returned is always the true -ELBO.
struct KlControl {
    double weight = 1.0;     // multiplies the KL term's gradient (KL warm-up: 0 -> 1)
    double free_nats = 0.0;  // a latent dimension of an image whose KL is below this passes no KL gradient
};

template <class T>
struct Posterior {
    std::vector<T> mean;       // L
    std::vector<T> log_scale;  // L, natural log of the standard deviation, clamped to [-8, 8]
};

template <class T>
struct PixelMixture {
    std::vector<T> logits;      // K (unnormalized log mixture weights)
    std::vector<T> means;       // K, pixel units (0..255 scale)
    std::vector<T> log_scales;  // K, natural log of the logistic scale, pixel units, in [-7, 7]
};

template <class T>
class BasicVae {
public:
    // A model with freshly initialized weights (He-normal, drawn from Rng(seed)).
    static Expected<BasicVae> make(const VaeConfig& config, std::uint64_t seed);

    BasicVae(const BasicVae&);
    BasicVae& operator=(const BasicVae&);
    BasicVae(BasicVae&&) noexcept;
    BasicVae& operator=(BasicVae&&) noexcept;
    ~BasicVae();

    const VaeConfig& config() const { return config_; }
    ModelInfo& info() { return info_; }
    const ModelInfo& info() const { return info_; }

    // ---- Weights: read access (quantization, serialization) -------------------------------
    const Mlp<T>& encoder() const { return encoder_; }  // D -> ... -> 2L (mean rows first)
    const Mlp<T>& decoder() const { return decoder_; }  // L -> ... -> D*C (or D logits)
    const Mlp<T>& head() const { return head_; }        // (C [+12]) -> P -> 3K (empty for Bernoulli)
    // Every parameter in a fixed order (encoder, decoder, head; weight then bias per layer).
    std::vector<Param<T>*> params();
    std::vector<const Param<T>*> params() const;
    std::size_t parameter_count() const;

    // ---- Training ---------------------------------------------------------------------------
    // batch: n samples of the model's tile shape, framed or not (ImageSet), eps: L x n
    // standard-normal noise. Sets every Param::grad
    // to the gradient of the returned loss (mean over the batch, bits per dimension).
    // kl shapes the KL term's gradient (not the loss returned).
    LossParts loss_and_grad(const std::uint8_t* batch, Index n, const Mat<T>& eps, Parallelism par = {},
                            bool framed = false, KlControl kl = {});
    // The same loss without gradients.
    LossParts loss(const std::uint8_t* batch, Index n, const Mat<T>& eps, Parallelism par = {},
                   bool framed = false) const;
    // Whether samples laid out as `s` (shape, channels) can be fed to this model.
    bool accepts(const ImageSet& s) const {
        return s.rows == config_.rows && s.cols == config_.cols && s.channels == config_.image_channels;
    }
    EvalResult evaluate(const ImageSet& images, std::uint32_t samples, std::uint64_t seed,
                        Parallelism par = {}) const;

    // ---- Inference API (float; tests, tools and calibration: coding uses QuantizedVae) --------
    // Sizes are preconditions (image D*S bytes, z L values, channels C, context as
    // head_context_size(S)): a caller
    // that breaks one has a bug, and gets std::invalid_argument, like std::vector::at. No user
    // input reaches these unchecked: loaders and the CLI check shapes against the model first.
    Posterior<T> posterior(std::span<const std::uint8_t> image) const;
    // z: L values -> D*S*C values, sample-major (index q*C + ch); Bernoulli: D logits.
    std::vector<T> decoder_channels(std::span<const T> z) const;
    // (Logistic mixture only.) One sample's mixture from its C decoder channels and its normalized context (see
    // neighbourhood.hpp; ignored unless config().autoregressive).
    PixelMixture<T> pixel_params(std::span<const T> channels, std::span<const T> neighbours) const;
    // log p(x|z) in nats, sample by sample through pixel_params, exactly the way a decoder would
    // walk the tile (a check of the batched training path; slow). image: the D*S tile, its
    // context outside read as 0.
    double log_likelihood(std::span<const std::uint8_t> image, std::span<const T> z) const;

private:
    struct Workspace;
    BasicVae() = default;
    void build();
    // One shard: forward (and backward if grads). Writes per-image recon and kl (nats).
    void run_shard(Workspace& ws, const std::uint8_t* images, Index n, bool framed, const T* eps, bool grads, T scale,
                   KlControl klc, double* recon, double* kl) const;
    LossParts run_batch(const std::uint8_t* batch, Index n, const Mat<T>& eps, Parallelism par, bool grads,
                        std::vector<std::unique_ptr<Workspace>>& pool, bool framed, KlControl klc = {}) const;

    VaeConfig config_;
    ModelInfo info_;
    Mlp<T> encoder_, decoder_, head_;
    std::vector<std::unique_ptr<Workspace>> scratch_;  // reused across steps; not copied
    std::vector<T> shard_grads_;  // every shard's gradients, flat, with an exchange; not copied
};

using Vae = BasicVae<float>;

extern template class BasicVae<float>;
extern template class BasicVae<double>;

}  // namespace bbans::models
