#include "models/trainer.hpp"

#include <chrono>
#include <cmath>
#include <cstring>
#include <new>
#include <numbers>
#include <numeric>
#include <stdexcept>
#include <utility>

namespace bbans::models {

namespace {
using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }
}  // namespace

KlControl kl_control(const TrainConfig& tc, std::uint64_t step) {
    KlControl k;
    if (tc.kl_warmup_steps > 0)
        k.weight = std::min(1.0, static_cast<double>(step + 1) / static_cast<double>(tc.kl_warmup_steps));
    k.free_nats = tc.free_bits * std::numbers::ln2;
    return k;
}

void shift_image(const std::uint8_t* src, std::uint8_t* dst, std::size_t rows, std::size_t cols, std::size_t S, int dr, int dc) {
    const std::size_t row_bytes = cols * S;
    std::memset(dst, 0, rows * row_bytes);
    for (std::size_t r = 0; r < rows; ++r) {
        const long sr = static_cast<long>(r) - dr;
        if (sr < 0 || sr >= static_cast<long>(rows)) continue;
        const long c0 = std::max(0L, static_cast<long>(dc)), c1 = std::min(static_cast<long>(cols), static_cast<long>(cols) + dc);
        if (c1 <= c0) continue;
        std::memcpy(dst + r * row_bytes + static_cast<std::size_t>(c0) * S,
                    src + static_cast<std::size_t>(sr) * row_bytes + static_cast<std::size_t>(c0 - dc) * S,
                    static_cast<std::size_t>(c1 - c0) * S);
    }
}

std::uint64_t image_set_hash(const ImageSet& images) {
    return hash64(images.pixels, images.count * images.image_size());
}

Trainer::Trainer(Vae vae, CheckpointState state)
    : vae_(std::move(vae)), state_(std::move(state)), adam_(state_.train) {
    rng_.set_state(state_.rng);
    adam_.set_steps(state_.adam_steps);
}

Expected<Trainer> Trainer::create(const VaeConfig& model, const TrainConfig& train) {
    if (auto st = train.validate(); !st) return st.error();
    auto vae = [&]() -> Expected<Vae> {
        try {
            return Vae::make(model, train.seed);
        } catch (const std::bad_alloc&) {
            return make_error("not enough memory for the model");
        }
    }();
    if (!vae) return vae.error();
    CheckpointState state;
    state.train = train;
    state.rng = Rng(mix_seed(train.seed, 2)).state();
    return Trainer(std::move(vae).value(), state);
}

Expected<Trainer> Trainer::resume(const std::filesystem::path& checkpoint) {
    auto ck = load_checkpoint(checkpoint);
    if (!ck) return ck.error();
    return Trainer(std::move(ck->model), ck->state);
}

Status Trainer::set_epochs(std::uint32_t epochs) {
    if (epochs < 1) return make_error("epochs must be at least 1");
    state_.train.epochs = epochs;
    return Ok{};
}

Status Trainer::set_exchange(ShardExchange* exchange) {
    if (exchange != nullptr && exchange->ranks() > state_.train.shards)
        return make_error(std::to_string(exchange->ranks()) + " ranks need at least as many shards per minibatch, and the run has " +
                          std::to_string(state_.train.shards) + " (--shards)");
    exchange_ = exchange;
    return Ok{};
}

CheckpointState Trainer::snapshot() const {
    CheckpointState s = state_;
    s.adam_steps = adam_.steps();
    s.rng = rng_.state();
    return s;
}

Status Trainer::save_checkpoint(const std::filesystem::path& path) const {
    return models::save_checkpoint(vae_, snapshot(), path);
}

LossParts Trainer::step(const std::uint8_t* batch, std::size_t n, std::uint64_t total_steps) {
    const auto L = static_cast<Index>(vae_.config().latent + vae_.config().latent2);  // noise rows: z1's, then z2's
    const auto cols = static_cast<Index>(n);
    eps_.resize(L, cols);
    for (Index j = 0; j < cols; ++j)
        for (Index i = 0; i < L; ++i) eps_(i, j) = static_cast<float>(rng_.normal());
    const Parallelism par{state_.train.shards, state_.train.threads, exchange_};
    const LossParts loss = vae_.loss_and_grad(batch, cols, eps_, par, framed_, kl_control(state_.train, adam_.steps()));
    last_lr_ = scheduled_learning_rate(state_.train, adam_.steps(), total_steps);
    auto params = vae_.params();
    last_grad_norm_ = adam_.step(params, last_lr_, state_.train.threads);
    return loss;
}

Status Trainer::run(const ImageSet& train, const ImageSet* heldout, const TrainCallbacks& callbacks,
                    const std::filesystem::path& checkpoint) {
    // Errors are values: nothing (not even std::bad_alloc) escapes to the caller.
    try {
        return run_epochs(train, heldout, callbacks, checkpoint);
    } catch (const std::bad_alloc&) {
        if (exchange_) exchange_->failed_alone();
        return make_error("training ran out of memory");
    } catch (const std::exception& e) {
        if (exchange_) exchange_->failed_alone();
        return make_error(std::string("training failed: ") + e.what());
    }
}

Status Trainer::check_ranks_agree(const ImageSet& train, const ImageSet* heldout) const {
    // Everything a step reads: the data, and the weights, optimizer and generator state and the
    // settings (all of which a checkpoint holds: its bytes, hashed).
    CheckpointState snap = snapshot();
    snap.train.threads = 1;  // (each rank may have its own number of cores)
    const std::string state = serialize_checkpoint(vae_, snap);
    const struct {
        std::uint64_t value;
        const char* what;
    } checks[] = {{image_set_hash(train) ^ train.count, "training images"},
                  {heldout ? image_set_hash(*heldout) ^ heldout->count : 0, "held-out images"},
                  {hash64(state.data(), state.size()), "weights, optimizer state or settings"}};
    for (const auto& c : checks) {
        const std::vector<std::uint64_t> all = gather_each(*exchange_, c.value);
        for (std::size_t r = 1; r < all.size(); ++r)
            if (all[r] != all[0]) return make_error("rank " + std::to_string(r) + " has other " + c.what + " than rank 0");
    }
    return Ok{};
}

Status Trainer::run_epochs(const ImageSet& train, const ImageSet* heldout, const TrainCallbacks& callbacks,
                           const std::filesystem::path& checkpoint) {
    const VaeConfig& cfg = vae_.config();
    const bool have_heldout = heldout != nullptr && heldout->count > 0 && heldout->pixels != nullptr;
    std::uint64_t data_hash = 0;
    auto check_data = [&]() -> Status {
        auto shape_ok = [&](const ImageSet& s) { return vae_.accepts(s); };
        if (train.count == 0 || train.pixels == nullptr) return make_error("no training images");
        if (!shape_ok(train))
            return make_error("training images are " + std::to_string(train.rows) + "x" + std::to_string(train.cols) + "x" +
                              std::to_string(train.channels) + ", the model expects " + std::to_string(cfg.rows) + "x" +
                              std::to_string(cfg.cols) + "x" + std::to_string(cfg.image_channels));
        if (have_heldout && !shape_ok(*heldout)) return make_error("held-out images do not match the model's image size");
        data_hash = image_set_hash(train);
        if (state_.epochs_done > 0 || adam_.steps() > 0) {
            if (state_.data_hash != data_hash || state_.data_count != train.count)
                return make_error("the training images are not the ones this run started with (" + std::to_string(train.count) +
                                  " images now, " + std::to_string(state_.data_count) + " then)");
        } else {
            state_.data_hash = data_hash;
            state_.data_count = train.count;
        }
        return Ok{};
    };
    Status ready = check_data();
    if (exchange_ && exchange_->ranks() > 1) {  // every rank fails, or none; then all must agree
        ready = exchange_->agree(std::move(ready));
        if (ready) ready = check_ranks_agree(train, have_heldout ? heldout : nullptr);
    }
    if (!ready) return ready;

    const TrainConfig& tc = state_.train;
    const std::size_t D = train.image_size();
    framed_ = train.framed;
    const std::uint64_t batches = steps_per_epoch(train.count, tc.batch_size);
    const std::uint64_t total_steps = batches * tc.epochs;
    std::vector<std::size_t> order(train.count);
    const auto session_start = Clock::now();

    while (state_.epochs_done < tc.epochs) {
        const std::uint32_t epoch = state_.epochs_done + 1;
        const auto t0 = Clock::now();
        std::iota(order.begin(), order.end(), std::size_t{0});
        rng_.shuffle(order);
        double loss_sum = 0.0, recon_sum = 0.0, kl_sum = 0.0;
        std::size_t seen = 0;
        for (std::uint64_t b = 0; b < batches; ++b) {
            const std::size_t i0 = static_cast<std::size_t>(b) * tc.batch_size;
            const std::size_t n = std::min<std::size_t>(tc.batch_size, train.count - i0);
            batch_buf_.resize(n * D);
            if (tc.shift > 0 && !train.framed) {
                // Augmentation: each image translated by its own (dr, dc), drawn in minibatch order.
                const auto span = 2 * static_cast<std::uint64_t>(tc.shift) + 1;
                for (std::size_t i = 0; i < n; ++i) {
                    const int dr = static_cast<int>(rng_.uniform_below(span)) - static_cast<int>(tc.shift);
                    const int dc = static_cast<int>(rng_.uniform_below(span)) - static_cast<int>(tc.shift);
                    shift_image(train.image(order[i0 + i]), batch_buf_.data() + i * D, train.rows, train.cols, train.channels, dr, dc);
                }
            } else {
                for (std::size_t i = 0; i < n; ++i) std::memcpy(batch_buf_.data() + i * D, train.image(order[i0 + i]), D);
            }
            const LossParts lp = step(batch_buf_.data(), n, total_steps);
            if (!std::isfinite(lp.loss_bpd) || !std::isfinite(last_grad_norm_))
                return make_error("training diverged (non-finite loss) in epoch " + std::to_string(epoch) + ", step " +
                                  std::to_string(adam_.steps()));
            loss_sum += lp.loss_bpd * static_cast<double>(n);
            recon_sum += lp.recon_bpd * static_cast<double>(n);
            kl_sum += lp.kl_bpd * static_cast<double>(n);
            seen += n;
            if (callbacks.on_progress && tc.progress_every > 0 && (b + 1) % tc.progress_every == 0) {
                ProgressReport pr;
                pr.epoch = epoch;
                pr.epochs = tc.epochs;
                pr.batch = b + 1;
                pr.batches = batches;
                pr.running_loss_bpd = loss_sum / static_cast<double>(seen);
                const double secs = seconds_since(t0);
                pr.images_per_second = static_cast<double>(seen) / std::max(secs, 1e-9);
                const double remaining_images =
                    static_cast<double>(train.count - seen) +
                    static_cast<double>(tc.epochs - epoch) * static_cast<double>(train.count);
                pr.eta_seconds = remaining_images / std::max(pr.images_per_second, 1e-9);
                pr.learning_rate = last_lr_;
                callbacks.on_progress(pr);
            }
            if (callbacks.should_stop && callbacks.should_stop()) return Ok{};
        }
        EpochReport rep;
        rep.epoch = epoch;
        rep.epochs = tc.epochs;
        rep.steps = adam_.steps();
        rep.epoch_seconds = seconds_since(t0);
        rep.train = {loss_sum / static_cast<double>(seen), recon_sum / static_cast<double>(seen),
                     kl_sum / static_cast<double>(seen)};
        rep.learning_rate = last_lr_;
        rep.grad_norm = last_grad_norm_;
        rep.images_per_second = static_cast<double>(seen) / std::max(rep.epoch_seconds, 1e-9);
        if (have_heldout && ((tc.eval_every > 0 && epoch % tc.eval_every == 0) || epoch == tc.epochs)) {
            const auto te = Clock::now();
            rep.heldout = vae_.evaluate(*heldout, tc.eval_samples, tc.eval_seed, {tc.shards, tc.threads, exchange_});
            rep.eval_seconds = seconds_since(te);
            state_.last_heldout_bpd = rep.heldout->neg_elbo_bpd;
        }
        state_.epochs_done = epoch;
        state_.last_train_loss_bpd = rep.train.loss_bpd;

        ModelInfo& info = vae_.info();
        info.train = tc;
        info.epochs_trained = epoch;
        info.steps = adam_.steps();
        info.train_images = train.count;
        info.train_loss_bpd = rep.train.loss_bpd;
        info.heldout_neg_elbo_bpd = state_.last_heldout_bpd;
        info.train_data_hash = data_hash;

        Status saved = checkpoint.empty() ? Status(Ok{}) : save_checkpoint(checkpoint);
        if (exchange_) saved = exchange_->agree(std::move(saved));  // (only some ranks write)
        if (!saved) return saved;
        rep.elapsed_seconds = seconds_since(session_start);
        rep.eta_seconds = static_cast<double>(tc.epochs - epoch) * (rep.epoch_seconds + rep.eval_seconds);
        if (callbacks.on_epoch && !callbacks.on_epoch(rep)) break;
    }
    return Ok{};
}

}  // namespace bbans::models
