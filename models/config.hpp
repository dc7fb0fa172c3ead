#pragma once
// Plain configuration structs of bbans_models: the architecture (VaeConfig), the training
// hyper-parameters (TrainConfig) and what a model file records about its training (ModelInfo).
// All are stored in model files; field order and meaning are part of the file format.
#include <cstdint>
#include <string>

#include "bbans/expected.hpp"
#include "models/colour.hpp"

namespace bbans::models {

enum class Likelihood : std::uint8_t {
    logistic_mixture = 0,  // 8-bit pixels: discretized logistic mixture, optionally autoregressive
    bernoulli = 1,         // binarized pixels (x > 127): one logit per pixel, no autoregression
};
// The largest value of Likelihood; each has a LikelihoodKind (models/likelihood_kind.hpp).
inline constexpr std::uint8_t kMaxLikelihood = 1;

struct VaeConfig {
    // The model's tile: rows x cols pixels of image_channels samples each. An image of another
    // size is coded as tiles of this size (src/coding/tiled_coder.hpp).
    std::uint32_t rows = 28;
    std::uint32_t cols = 28;
    std::uint32_t image_channels = 1;    // S: samples per pixel, 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA
    // The colour space the model sees (models/colour.hpp): pixels are transformed before
    // training and coding, and back after decoding. S >= 3 unless none.
    ColourTransform colour_transform = ColourTransform::none;
    std::uint32_t latent = 32;           // L
    std::uint32_t encoder_hidden = 384;  // H: D*S -> H -> ... -> 2L
    std::uint32_t encoder_layers = 2;    // hidden layers
    std::uint32_t decoder_hidden = 384;  // L -> H -> ... -> D*S*C
    std::uint32_t decoder_layers = 2;
    Likelihood likelihood = Likelihood::logistic_mixture;
    std::uint32_t channels = 4;       // C: decoder outputs per sample (logistic mixture; see decoder_channels())
    bool autoregressive = true;       // the head also sees the causal context (neighbourhood.hpp)
    std::uint32_t head_hidden = 32;   // P: per-sample head (C + context) -> P -> ... -> 3K
    std::uint32_t head_layers = 1;    // hidden layers of the head (1..4)
    // A linear skip in the head: its last layer reads [its last hidden layer ; the head's own
    // inputs], so the mixture parameters (the means above all) get a linear path from the
    // channels and the causal context (models/layers.hpp, Mlp). Needs a head.
    bool head_skip = false;
    // One head per sample of a pixel (S heads of one shape; sample s of every pixel uses head
    // s), instead of one head shared by the S samples: Y, Co and Cg (or R, G, B) get their own
    // weights. Needs a head and S >= 2.
    bool head_per_channel = false;
    std::uint32_t components = 5;     // K: logistics per pixel
    // Latent discretization for the codec glue (classic BB-ANS): the prior puts each latent on
    // 2^prior_precision equal-mass buckets; the posterior is coded at posterior_precision bits.
    std::uint32_t prior_precision = 10;
    std::uint32_t posterior_precision = 22;
    // Hierarchical latents (issue 11): latent2 = L2 > 0 adds a second latent layer z2 of L2 dims
    // per tile, q(z2|z1) (encoder2: L -> latent2_hidden -> 2*L2) and p(z1|z2) (prior1:
    // L2 -> latent2_hidden -> 2*L), with p(z2) = N(0, I) (vae.hpp). 0: one latent layer, p(z1) = N(0, I).
    std::uint32_t latent2 = 0;
    std::uint32_t latent2_hidden = 128;

    std::size_t pixels() const { return std::size_t{rows} * cols; }
    // Samples of one tile: D*S, the encoder's inputs.
    std::size_t samples() const { return pixels() * image_channels; }
    // Decoder outputs per sample, as the likelihood takes them (C, or 1 logit for Bernoulli).
    std::size_t decoder_channels() const;
    // Inputs of the per-sample head: C (+ head_context_size(S) if autoregressive).
    std::size_t head_inputs() const;
    // Heads of the model: S with head_per_channel, else 1 (also without a head: an empty one).
    std::size_t heads() const { return head_per_channel ? image_channels : 1; }
    bool hierarchical() const { return latent2 > 0; }
    // Checks every field against sane bounds (so a model file cannot ask for absurd allocations).
    Status validate() const;

    bool operator==(const VaeConfig&) const = default;
};

enum class LrSchedule : std::uint8_t {
    constant = 0,
    cosine = 1,       // linear warm-up, then cosine from lr down to lr * final_lr_fraction
    exponential = 2,  // linear warm-up, then geometric decay reaching lr * final_lr_fraction at the end
};

struct TrainConfig {
    std::uint32_t epochs = 50;
    std::uint32_t batch_size = 64;
    std::uint64_t seed = 1;        // weights init, shuffling and reparameterization noise
    // Each minibatch is split into `shards` fixed contiguous parts whose gradients are summed in
    // order; results depend on shards but not on threads, so a run reproduces exactly with any
    // thread count.
    std::uint32_t shards = 2;
    std::uint32_t threads = 2;
    double learning_rate = 2e-3;  // peak, after warm-up
    double final_lr_fraction = 0.02;
    std::uint32_t warmup_steps = 500;
    LrSchedule schedule = LrSchedule::cosine;
    double beta1 = 0.9;
    double beta2 = 0.999;
    double adam_epsilon = 1e-8;
    double weight_decay = 0.0;  // decoupled (AdamW); weights only, never biases
    double clip_norm = 20.0;    // global gradient-norm clipping (of the bits/dim loss); 0 = off
    // Keeping the latent in use (training only: the reported loss is always the true -ELBO).
    // KL warm-up: the KL term's gradient is weighted by min(1, step / kl_warmup_steps) (0 = off).
    std::uint32_t kl_warmup_steps = 0;
    // Free bits: a latent dimension of an image whose KL is below free_bits bits passes no KL
    // gradient, so the encoder may spend up to that much on it for free (0 = off).
    double free_bits = 0.0;
    // Augmentation of whole-image (unframed) training sets: each training image is translated
    // by (dr, dc), each uniform in [-shift, shift], the uncovered border reading 0 (0 = off).
    std::uint32_t shift = 0;
    // Held-out evaluation: every eval_every epochs (0 = never), eval_samples posterior samples
    // per image drawn from a generator seeded with eval_seed (same noise every evaluation).
    std::uint32_t eval_every = 1;
    std::uint32_t eval_samples = 1;
    std::uint64_t eval_seed = 0x5EEDULL;
    std::uint32_t progress_every = 50;  // minibatches between progress callbacks (0 = none)

    Status validate() const;
    bool operator==(const TrainConfig&) const = default;
};

// What a model file says about where it came from (provenance; no effect on coding).
// train.threads and train.progress_every are not stored (they do not change the result).
struct ModelInfo {
    std::string description;         // free text, e.g. the training corpus; at most 4096 bytes
    TrainConfig train;               // the hyper-parameters it was trained with
    std::uint32_t epochs_trained = 0;
    std::uint64_t steps = 0;
    std::uint64_t train_images = 0;
    double train_loss_bpd = 0.0;     // last epoch's mean training loss (negative ELBO, bits/dim)
    double heldout_neg_elbo_bpd = 0.0;  // last held-out evaluation, 0 if none
    std::uint64_t train_data_hash = 0;  // XXH3-64 of the training pixels

    bool operator==(const ModelInfo&) const = default;
};

}  // namespace bbans::models
