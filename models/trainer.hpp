#pragma once
// Trainer: minibatch training of a Vae with Adam, per-epoch reports and resumable checkpoints.
//
//   auto t = Trainer::create(vae_config, train_config);          // or Trainer::resume(path)
//   if (!t) ...t.error()...
//   Status st = t->run(train, &heldout, callbacks, "run.ckpt");  // checkpoint after every epoch
//   save_model(t->model(), "model.bbm");
//
// Each epoch shuffles the image order with the trainer's generator (seeded from
// TrainConfig::seed), then walks it in minibatches of batch_size (the last one may be smaller).
// Reparameterization noise comes from the same generator, drawn image by image in minibatch
// order, so a run is a pure function of (configs, data, seed, shards): thread count does not
// matter. A checkpoint holds the weights, Adam moments and step count, the epoch counter and
// the generator state, so resuming from the checkpoint of epoch e gives bit for bit the same
// model as the uninterrupted run.
//
// Over several processes (set_exchange, parallel.hpp): every rank runs the same Trainer on the
// same data and computes its share of each minibatch's shards and of the held-out evaluation;
// the results are the bits of a one-process run with the same shard count. run() first checks
// that every rank has the same data, weights and state; only ranks given a checkpoint path write
// one, and a failure to write it fails the run on every rank.
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "bbans/expected.hpp"
#include "models/adam.hpp"
#include "models/rng.hpp"
#include "models/serialize.hpp"
#include "models/vae.hpp"

namespace bbans::models {

struct ProgressReport {
    std::uint32_t epoch = 0;   // 1-based, the epoch in progress
    std::uint32_t epochs = 0;
    std::uint64_t batch = 0;   // minibatches done in this epoch
    std::uint64_t batches = 0; // minibatches per epoch
    double running_loss_bpd = 0.0;  // mean training loss of this epoch so far
    double images_per_second = 0.0;
    double eta_seconds = 0.0;       // for the whole run, from this epoch's speed
    double learning_rate = 0.0;
};

struct EpochReport {
    std::uint32_t epoch = 0;  // 1-based, just completed
    std::uint32_t epochs = 0;
    std::uint64_t steps = 0;  // optimizer steps so far
    LossParts train;          // mean over the epoch's minibatches (weighted by images)
    std::optional<EvalResult> heldout;  // when evaluated this epoch
    double learning_rate = 0.0;         // of the epoch's last step
    double grad_norm = 0.0;             // of the epoch's last step, before clipping
    double epoch_seconds = 0.0;         // training only (without the held-out evaluation)
    double eval_seconds = 0.0;
    double images_per_second = 0.0;
    double elapsed_seconds = 0.0;       // this session (since run() started)
    double eta_seconds = 0.0;
};

struct TrainCallbacks {
    // After every epoch (and its checkpoint). Return false to stop training.
    std::function<bool(const EpochReport&)> on_epoch;
    // Every TrainConfig::progress_every minibatches.
    std::function<void(const ProgressReport&)> on_progress;
    // After every minibatch. When it returns true, run() returns Ok at once and the epoch in
    // progress is abandoned: the trainer is then in the middle of an epoch, so only the last
    // checkpoint can be resumed from (bbans train stops this way on Ctrl-C).
    std::function<bool()> should_stop;
};

class Trainer {
public:
    // A new run: fresh weights from train.seed.
    static Expected<Trainer> create(const VaeConfig& model, const TrainConfig& train);
    // Continues the run saved in a checkpoint.
    static Expected<Trainer> resume(const std::filesystem::path& checkpoint);

    // Trains epochs until train_config().epochs are done or a callback asks to stop. The
    // held-out set (may be null or empty) is evaluated every eval_every epochs and after the
    // last one. If checkpoint is not empty, a checkpoint is written there after every epoch.
    // Fails if the images do not match the model's shape, or (on a resumed run) are not the
    // images the run started with.
    Status run(const ImageSet& train, const ImageSet* heldout, const TrainCallbacks& callbacks = {},
               const std::filesystem::path& checkpoint = {});

    // One optimizer step on the given images (n images, contiguous). Returns the minibatch loss.
    // Draws the noise from the trainer's generator. (run() is built on it.)
    LossParts step(const std::uint8_t* batch, std::size_t n, std::uint64_t total_steps);

    Status save_checkpoint(const std::filesystem::path& path) const;

    const Vae& model() const { return vae_; }
    Vae& model() { return vae_; }
    const TrainConfig& train_config() const { return state_.train; }
    std::uint32_t epochs_done() const { return state_.epochs_done; }
    std::uint64_t steps() const { return adam_.steps(); }
    const Rng& rng() const { return rng_; }

    // Worker threads (does not change results). Extends or shortens the run (changes the
    // learning-rate schedule of the remaining steps).
    void set_threads(std::uint32_t threads) { state_.train.threads = std::max<std::uint32_t>(1, threads); }
    // Trains as one of several ranks (null: alone). Not owned; must outlive the trainer's use.
    // Fails when the run's shard count cannot give every rank at least one shard.
    Status set_exchange(ShardExchange* exchange);
    Status set_epochs(std::uint32_t epochs);

    static std::uint64_t steps_per_epoch(std::size_t images, std::uint32_t batch_size) {
        return (images + batch_size - 1) / batch_size;
    }

private:
    Trainer(Vae vae, CheckpointState state);
    CheckpointState snapshot() const;
    // Collective: every rank has the same data, weights, state and settings.
    Status check_ranks_agree(const ImageSet& train, const ImageSet* heldout) const;
    Status run_epochs(const ImageSet& train, const ImageSet* heldout, const TrainCallbacks& callbacks,
                      const std::filesystem::path& checkpoint);

    Vae vae_;
    CheckpointState state_;
    Adam<float> adam_;
    Rng rng_;
    std::vector<std::uint8_t> batch_buf_;
    bool framed_ = false;  // whether step()'s samples are framed (ImageSet::framed of the run's data)
    Mat<float> eps_;
    ShardExchange* exchange_ = nullptr;
    double last_grad_norm_ = 0.0;
    double last_lr_ = 0.0;
};

// The KL gradient's shaping at optimizer step `step` (0-based): warm-up weight and free bits.
KlControl kl_control(const TrainConfig& tc, std::uint64_t step);

// dst = src (rows x cols pixels of S samples) translated by dr rows down and dc columns right;
// pixels shifted in from outside read 0. (TrainConfig::shift.)
void shift_image(const std::uint8_t* src, std::uint8_t* dst, std::size_t rows, std::size_t cols, std::size_t S, int dr, int dc);

// XXH3-64 of an image set's pixels (identifies the training data in checkpoints).
std::uint64_t image_set_hash(const ImageSet& images);

}  // namespace bbans::models
