// bbans train: fit a VAE to an image corpus, report the held-out negative ELBO after every
// epoch, checkpoint after every epoch (--resume continues), quantize for coding, and write the
// model file and its card atomically.
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "src/cli/commands.hpp"
#include "models/trainer.hpp"
#include "src/coding/model_file.hpp"
#include "src/io/files.hpp"
#include "src/io/images.hpp"

namespace bbans::cli {
namespace {

namespace fs = std::filesystem;

struct TrainFlags {
    std::string corpus, test, output, resume, checkpoint, description, shape;
    bool force = false, quiet = false;
    std::uint32_t epochs = 0;  // 0: keep the default (or the checkpoint's)
    models::VaeConfig model;
    models::TrainConfig train;
    std::uint32_t calibration = 512;
};

std::string human_seconds(double s) {
    char buf[32];
    if (!std::isfinite(s) || s < 0) return "?";
    const auto t = static_cast<long>(s + 0.5);
    if (t >= 3600) std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, (t / 60) % 60);
    else if (t >= 60) std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
    else std::snprintf(buf, sizeof buf, "%lds", t);
    return buf;
}

models::ImageSet view(const io::ImageSet& s) { return {s.pixels.data(), s.count, s.rows, s.cols}; }

Expected<io::ImageSet> load(const std::string& path, const std::string& shape_text, const char* what) {
    std::optional<io::Shape> shape;
    if (!shape_text.empty()) {
        shape = parse_shape(shape_text);
        if (!shape) return make_error("--shape must look like 28x28, got '" + shape_text + "'");
    }
    auto images = io::load_images(path, shape);
    if (!images) return make_error(std::string(what) + ": " + images.error().message);
    return images;
}

int run_train(TrainFlags& f) {
    const bool tty = ::isatty(STDERR_FILENO);
    if (!f.force && fs::exists(f.output)) return fail(f.output + ": already exists (use -f to overwrite)");
    const std::string card_path = coding::card_path(f.output);
    if (!f.force && fs::exists(card_path)) return fail(card_path + ": already exists (use -f to overwrite)");
    const std::string ckpt = !f.checkpoint.empty() ? f.checkpoint : f.output + ".ckpt";

    auto train = load(f.corpus, f.shape, "training corpus");
    if (!train) return fail(train.error().message);
    auto test = load(f.test, f.shape, "held-out corpus");
    if (!test) return fail(test.error().message);
    if (train->shape() != test->shape())
        return fail("the training images are " + std::to_string(train->rows) + "x" + std::to_string(train->cols) +
                    " but the held-out images are " + std::to_string(test->rows) + "x" + std::to_string(test->cols));
    if (train->pixels == test->pixels) return fail("the training and held-out corpora are the same images");

    f.model.rows = train->rows;
    f.model.cols = train->cols;
    if (f.epochs) f.train.epochs = f.epochs;
    auto trainer = f.resume.empty() ? models::Trainer::create(f.model, f.train) : models::Trainer::resume(f.resume);
    if (!trainer) return fail(trainer.error().message);
    if (!f.resume.empty() && f.epochs)
        if (auto ok = trainer->set_epochs(f.epochs); !ok) return fail(ok.error().message);
    trainer->set_threads(f.train.threads);
    auto& info = trainer->model().info();
    if (!f.description.empty()) info.description = f.description;
    else if (info.description.empty()) info.description = fs::path(f.corpus).filename().string();

    const auto& cfg = trainer->model().config();
    if (!f.quiet)
        std::cerr << "bbans train: " << train->count << " training and " << test->count << " held-out images of " << train->rows << "x"
                  << train->cols << "; latent " << cfg.latent << ", hidden " << cfg.encoder_hidden << "/" << cfg.decoder_hidden
                  << ", " << cfg.components << " logistics" << (cfg.autoregressive ? ", autoregressive" : "") << "; "
                  << trainer->model().parameter_count() << " parameters; checkpoints in " << ckpt << '\n';

    models::TrainCallbacks cb;
    cb.on_progress = [&](const models::ProgressReport& p) {
        if (f.quiet) return;
        const double frac = p.batches ? static_cast<double>(p.batch) / static_cast<double>(p.batches) : 0.0;
        const int width = 24, filled = static_cast<int>(frac * width);
        std::string bar(static_cast<std::size_t>(filled), '#');
        bar.resize(width, '.');
        char line[200];
        std::snprintf(line, sizeof line, "epoch %u/%u [%s] %3.0f%%  loss %.4f bits/dim  %.0f images/s  ETA %s", p.epoch, p.epochs,
                      bar.c_str(), 100 * frac, p.running_loss_bpd, p.images_per_second, human_seconds(p.eta_seconds).c_str());
        if (tty) std::cerr << '\r' << line << "\x1b[K" << std::flush;
    };
    cb.on_epoch = [&](const models::EpochReport& e) {
        if (f.quiet) return true;
        char line[240];
        std::snprintf(line, sizeof line, "epoch %u/%u  train %.4f bits/dim", e.epoch, e.epochs, e.train.loss_bpd);
        std::cerr << (tty ? "\r" : "") << line;
        if (e.heldout)
            std::fprintf(stderr, "  held-out -ELBO %.4f bits/dim (recon %.4f + KL %.4f)", e.heldout->neg_elbo_bpd, e.heldout->recon_bpd,
                         e.heldout->kl_bpd);
        std::fprintf(stderr, "  %.0f images/s  %s  ETA %s%s\n", e.images_per_second, human_seconds(e.elapsed_seconds).c_str(),
                     human_seconds(e.eta_seconds).c_str(), tty ? "\x1b[K" : "");
        return true;
    };
    const auto start = std::chrono::steady_clock::now();
    const models::ImageSet train_view = view(*train), test_view = view(*test);
    if (auto ok = trainer->run(train_view, &test_view, cb, ckpt); !ok) return fail(ok.error().message);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    // The model as it will code: quantize on the first training images, then measure.
    if (!f.quiet) std::cerr << "quantizing for coding and measuring the integer model on the held-out images...\n";
    const std::size_t calib = std::min<std::size_t>(f.calibration, train->count);
    auto coding = coding::CodingModel::from_trained(trainer->model(), models::ImageSet{train->pixels.data(), calib, train->rows, train->cols});
    if (!coding) return fail(coding.error().message);
    auto report = coding::evaluate(*coding, *test, trainer->model().info().train.eval_seed);
    if (!report) return fail(report.error().message);

    coding::TrainingRecord record{f.corpus, f.test, train->count, test->count, seconds, trainer->model().info().heldout_neg_elbo_bpd,
                                  report->neg_elbo_bpd, report->images};
    if (auto ok = coding::save(*coding, record, f.output, f.force); !ok) return fail(ok.error().message);
    if (!f.quiet) {
        std::fprintf(stderr, "held-out -ELBO: float %.4f bits/dim, integer (as coded) %.4f bits/dim (%+.2f%%)\n", record.float_neg_elbo_bpd,
                     record.integer_neg_elbo_bpd, 100.0 * (record.integer_neg_elbo_bpd / record.float_neg_elbo_bpd - 1.0));
        std::cerr << "wrote " << f.output << " (identity " << coding->identity_hex() << ") and " << card_path << '\n';
    }
    return 0;
}

}  // namespace

void add_train_command(CLI::App& app, RunState& state) {
    static TrainFlags f;
    auto* t = app.add_subcommand("train", "train a VAE on an image corpus and write a model file for compression");
    t->add_option("--corpus", f.corpus, "training images: IDX (optionally .gz), PGM/PNG file or directory, raw with --shape")
        ->required();
    t->add_option("--test", f.test, "held-out images (never trained on): the negative ELBO is reported on them")->required();
    t->add_option("-o,--output", f.output,
                  "model file to write, e.g. NAME.bbm; its card NAME.bbm.md is written beside it (in a --model-dir "
                  "or $BBANS_MODEL_DIR directory the model is known as NAME)")
        ->required();
    t->add_option("--shape", f.shape, "read raw corpora as images of this shape, e.g. 28x28");
    t->add_flag("-f,--force", f.force, "overwrite an existing model file and card");
    t->add_flag("-q,--quiet", f.quiet, "print nothing but errors");
    t->add_option("--resume", f.resume, "continue the run saved in this checkpoint");
    t->add_option("--checkpoint", f.checkpoint, "checkpoint file, written after every epoch (default: OUTPUT.ckpt)");
    t->add_option("--description", f.description, "free text recorded in the model (default: the corpus file name)");
    t->add_option("--epochs", f.epochs, "epochs to train (default 50)");
    t->add_option("--batch-size", f.train.batch_size, "images per minibatch")->capture_default_str();
    t->add_option("--lr", f.train.learning_rate, "peak learning rate (Adam)")->capture_default_str();
    t->add_option("--final-lr-fraction", f.train.final_lr_fraction, "learning rate at the end, as a fraction of the peak")->capture_default_str();
    t->add_option("--warmup", f.train.warmup_steps, "warm-up steps")->capture_default_str();
    t->add_option("--weight-decay", f.train.weight_decay, "decoupled weight decay")->capture_default_str();
    t->add_option("--clip", f.train.clip_norm, "global gradient-norm clipping (0: off)")->capture_default_str();
    t->add_option("--seed", f.train.seed, "seed of initialization, shuffling and noise")->capture_default_str();
    t->add_option("--threads", f.train.threads, "worker threads (results do not depend on it)")->capture_default_str();
    t->add_option("--latent", f.model.latent, "latent dimensions")->capture_default_str();
    t->add_option("--encoder-hidden", f.model.encoder_hidden, "encoder hidden width")->capture_default_str();
    t->add_option("--decoder-hidden", f.model.decoder_hidden, "decoder hidden width")->capture_default_str();
    t->add_option("--encoder-layers", f.model.encoder_layers, "encoder hidden layers")->capture_default_str();
    t->add_option("--decoder-layers", f.model.decoder_layers, "decoder hidden layers")->capture_default_str();
    t->add_option("--channels", f.model.channels, "decoder channels per pixel")->capture_default_str();
    t->add_option("--head-hidden", f.model.head_hidden, "hidden width of the per-pixel head")->capture_default_str();
    t->add_option("--head-layers", f.model.head_layers, "hidden layers of the per-pixel head")->capture_default_str();
    t->add_option("--components", f.model.components, "logistics in each pixel's mixture")->capture_default_str();
    t->add_option("--prior-precision", f.model.prior_precision, "latent buckets per dimension, as bits")->capture_default_str();
    t->add_option("--posterior-precision", f.model.posterior_precision, "bits of the posterior's frequencies")->capture_default_str();
    t->add_option("--calibration", f.calibration, "training images used to calibrate the integer model")->capture_default_str();
    t->callback([&state] { state.exit_code = run_train(f); });
}

}  // namespace bbans::cli
