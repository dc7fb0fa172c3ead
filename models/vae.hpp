#pragma once
// The VAE: encoder q(z|x), prior N(0, I), decoder and the per-pixel likelihood head.
//
//   x (a tile of D = rows*cols pixels of S samples, interleaved: D*S bytes) -> x / 255
//     -> encoder MLP -> [mean (L); raw log-scale (L)]
//   z = mean + exp(log_scale) * eps                                    (reparameterization)
//   z -> decoder MLP -> D*S*C values, sample-major: channel ch of sample q = p*S + s at q*C + ch
//   sample q: f = [its C channels ; its context / 255 (neighbourhood.hpp)] -> head MLP (ReLU)
//            -> 3K raw -> K logits, means = 255 * raw, log-scales = clamp(raw, -7, 7)
//            With head_skip the head's last layer reads [h ; f] (h: its last hidden layer):
//            raw = W_h h + W_f f + b, a linear path from the neighbours to the means (W_f
//            starts at 0: a new model with the skip is the one without it, same seed).
//            With head_per_channel there are S heads of that shape and sample q = p*S + s
//            uses head s (in a batch, head s runs on the columns q with q % S == s).
//   log p(x|z) = sum_q log P_mixture(x_q)  (likelihood.hpp)
// That is the logistic-mixture likelihood; the likelihood is a LikelihoodKind
// (likelihood_kind.hpp), which says how many channels the decoder gives each sample, whether a
// head turns them into the sample's parameters, and log p of a sample given them (Bernoulli:
// one logit per sample straight from the decoder, no head).
//   loss = ( -log p(x|z) + KL(q(z|x) || N(0, I)) ) / (D S ln 2)   bits per dimension (sample)
// The head is shared by the S channels (the decoder channels tell it which channel it codes),
// unless head_per_channel gives each channel its own.
//
// Inputs are x / 255 (not centred): 0 is black, and an out-of-image neighbour reads as 0 (black).
// The encoder's log-scale is clamped to [-8, 8] (the integer Gaussian codec's range); a clamped
// value passes no gradient.
//
// HIERARCHICAL LATENTS (VaeConfig::latent2 = L2 > 0; Bit-Swap, issue 11)
//   z1 = mean + exp(log_scale) * eps1 as above (q(z1|x), L dims)
//   z1 -> encoder2 MLP (L -> H2 -> 2 L2) -> [mean2; log-scale2 clamped to [-8, 8]]   q(z2|z1)
//   z2 = mean2 + exp(log_scale2) * eps2
//   z2 -> prior1 MLP (L2 -> H2 -> 2 L) -> [pmean; plog-scale clamped to [-8, 8]]     p(z1|z2)
//   p(z2) = N(0, I); the decoder and head see z1 only.
//   loss = ( -log p(x|z1) + [log q(z1|x) - log p(z1|z2)] + KL(q(z2|z1) || N(0, I)) ) / (D S ln 2)
// The z1 term is the single-sample estimate at the reparameterized z1 and z2 (per dimension j:
// -eps1_j^2 / 2 - log_scale_j + u_j^2 / 2 + plog-scale_j, u_j = (z1_j - pmean_j) / pscale_j;
// the log 2 pi terms cancel); the z2 term is analytic. eps is (L + L2) x n: rows [0, L) for z1,
// rows [L, L + L2) for z2 (for L2 = 0 exactly the single-layer model's L x n).
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
// Hierarchical (latent2 > 0): kl_bpd = kl1_bpd + kl2_bpd, the two latent layers' parts.
struct LossParts {
    double loss_bpd = 0.0;   // recon + kl = negative ELBO (single-sample estimate)
    double recon_bpd = 0.0;  // -log p(x|z)
    double kl_bpd = 0.0;     // KL(q(z|x) || p(z)), analytic; hierarchical: kl1_bpd + kl2_bpd
    double kl1_bpd = 0.0;    // z1's part: the KL above, or log q(z1|x) - log p(z1|z2) (single sample)
    double kl2_bpd = 0.0;    // z2's part: KL(q(z2|z1) || N(0, I)), analytic at the sampled z1 (0 without z2)
};

// Held-out negative ELBO: analytic KL plus -log p(x|z) averaged over `samples` draws of
// z ~ q(z|x) per image (noise from a generator seeded with `seed`, the same every call).
struct EvalResult {
    double neg_elbo_bpd = 0.0;
    double recon_bpd = 0.0;
    double kl_bpd = 0.0;
    double kl1_bpd = 0.0;  // as in LossParts (hierarchical: averaged over the samples too)
    double kl2_bpd = 0.0;
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
// Hierarchical: both latent terms are weighted; free bits apply per dimension to z2's analytic
// KL and to z1's single-sample term (dimension j's -eps1_j^2/2 - log_scale_j + u_j^2/2 +
// plog-scale_j: below the floor it passes no gradient to the encoder, encoder2 or prior1).
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
    // The head of sample s of a pixel: head s with head_per_channel, else the one head for every
    // s. (C [+ context]) -> P -> 3K (empty for Bernoulli; skip() if head_skip).
    const Mlp<T>& head(std::size_t s = 0) const { return heads_[config_.head_per_channel ? s : 0]; }
    const Mlp<T>& encoder2() const { return encoder2_; }  // L -> H2 -> 2 L2, q(z2|z1) (empty unless hierarchical)
    const Mlp<T>& prior1() const { return prior1_; }      // L2 -> H2 -> 2 L, p(z1|z2) (empty unless hierarchical)
    // Every parameter in a fixed order (encoder, decoder, head, encoder2, prior1; weight then
    // bias per layer; with head_per_channel the head is head 0's layers, then head 1's, ...,
    // named head0.*, head1.*, ...). With head_skip the head's last weight is 3K x (P + F): columns [0, P)
    // read the last hidden layer, [P, P + F) the head's inputs f (the same tensors, one wider).
    std::vector<Param<T>*> params();
    std::vector<const Param<T>*> params() const;
    std::size_t parameter_count() const;

    // ---- Training ---------------------------------------------------------------------------
    // batch: n samples of the model's tile shape, framed or not (ImageSet), eps: (L + L2) x n
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
    // Hierarchical models: q(z2|z1) from z1 (L values) and p(z1|z2) from z2 (L2 values).
    Posterior<T> posterior2(std::span<const T> z1) const;
    Posterior<T> prior1(std::span<const T> z2) const;
    // z: L values -> D*S*C values, sample-major (index q*C + ch); Bernoulli: D logits.
    std::vector<T> decoder_channels(std::span<const T> z) const;
    // (Logistic mixture only.) One sample's mixture from its C decoder channels and its normalized context (see
    // neighbourhood.hpp; ignored unless config().autoregressive); s: the sample's channel in its
    // pixel (0..S-1), which picks its head.
    PixelMixture<T> pixel_params(std::span<const T> channels, std::span<const T> neighbours, std::size_t s) const;
    // log p(x|z) in nats, sample by sample through pixel_params, exactly the way a decoder would
    // walk the tile (a check of the batched training path; slow). image: the D*S tile, its
    // context outside read as 0.
    double log_likelihood(std::span<const std::uint8_t> image, std::span<const T> z) const;

private:
    struct Workspace;
    BasicVae() = default;
    void build();
    // One shard: forward (and backward if grads). Writes per-image recon, kl (both layers) and
    // kl2 (z2's part) in nats.
    void run_shard(Workspace& ws, const std::uint8_t* images, Index n, bool framed, const T* eps, bool grads, T scale,
                   KlControl klc, double* recon, double* kl, double* kl2) const;
    // The second latent layer of a shard (hierarchical): forward from ws.z, per-image z1 and z2
    // terms into ws.kl and ws.kl2; with grads, the latent terms' gradients (times `weight`)
    // into g_enc2 and g_prior1, ws.g_mean and ws.g_log_scale (z1's posterior) and added to ws.dz.
    void latent2_forward(Workspace& ws, const T* eps, Index n) const;
    void latent2_backward(Workspace& ws, T weight, double free_nats, Mat<T>* g_enc2, Mat<T>* g_prior1) const;
    LossParts run_batch(const std::uint8_t* batch, Index n, const Mat<T>& eps, Parallelism par, bool grads,
                        std::vector<std::unique_ptr<Workspace>>& pool, bool framed, KlControl klc = {}) const;

    VaeConfig config_;
    ModelInfo info_;
    Mlp<T> encoder_, decoder_, encoder2_, prior1_;
    std::vector<Mlp<T>> heads_;  // config_.heads(): S with head_per_channel, else 1 (empty Mlp without a head)
    std::vector<std::unique_ptr<Workspace>> scratch_;  // reused across steps; not copied
    std::vector<T> shard_grads_;  // every shard's gradients, flat, with an exchange; not copied
};

using Vae = BasicVae<float>;

extern template class BasicVae<float>;
extern template class BasicVae<double>;

}  // namespace bbans::models
