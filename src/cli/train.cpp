// bbans train: fit a VAE to an image corpus, report the held-out negative ELBO after every
// epoch, checkpoint after every epoch (--resume continues), quantize for coding, and write the
// model file and its card atomically. Ctrl-C stops at the next minibatch, keeps the last
// checkpoint and prints the command that resumes from it (exit status 130). Under an MPI
// launcher (`mpirun -np R bbans train ...`, built with BBANS_MPI) the ranks train one model
// together, byte-identical to a one-process run with the same --shards (src/cli/mpi_exchange.hpp).
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <optional>
#include <sstream>

#include "src/cli/commands.hpp"
#include "src/cli/mpi_exchange.hpp"
#include "src/cli/paths.hpp"
#include "models/colour.hpp"
#include "models/crops.hpp"
#include "models/likelihood_kind.hpp"
#include "models/trainer.hpp"
#include "src/coding/model_file.hpp"
#include "src/coding/tiled_coder.hpp"
#include "src/io/files.hpp"
#include "src/io/images.hpp"

namespace bbans::cli {
namespace {

namespace fs = std::filesystem;

struct TrainFlags {
    std::string corpus, test, output, resume, checkpoint, description, shape, tile;
    std::string colour_transform = "none";
    std::uint64_t crops = 200000, test_crops = 4000;  // with --tile
    bool force = false, quiet = false;
    bool planes = false;  // --planes: a grey model trained on colour images' planes
    bool mirror = false;  // --mirror: crops also from the training images mirrored left to right
    std::optional<std::uint32_t> epochs;  // not given: the default (or the checkpoint's)
    models::VaeConfig model;
    models::TrainConfig train;
    std::uint32_t calibration = 512;
    double validation = 0.0;         // --validation: fraction of the training corpus held out to choose the epoch
    std::uint32_t patience = 0;      // --patience: stop after this many epochs without a better validation figure
    const CLI::App* command = nullptr;  // to tell which options were given
    std::string validation_text() const {
        std::ostringstream s;
        s << validation;
        return s.str();
    }
};

// Set by the SIGINT handler; training polls it after every minibatch.
std::atomic<bool> interrupted{false};
static_assert(std::atomic<bool>::is_always_lock_free, "the signal handler needs a lock-free flag");

extern "C" void on_sigint(int) {
    if (interrupted.load()) {  // a second Ctrl-C: stop at once
        std::signal(SIGINT, SIG_DFL);
        std::raise(SIGINT);
        return;
    }
    interrupted.store(true);
}

// Catches SIGINT while it lives, unless SIGINT was ignored when bbans started (nohup, a
// background job of a script): then it stays ignored, as xz does.
class InterruptGuard {
public:
    InterruptGuard() {
        struct sigaction action{};
        action.sa_handler = on_sigint;
        sigemptyset(&action.sa_mask);
        action.sa_flags = SA_RESTART;
        if (::sigaction(SIGINT, nullptr, &old_) == 0 && old_.sa_handler != SIG_IGN) installed_ = ::sigaction(SIGINT, &action, nullptr) == 0;
    }
    ~InterruptGuard() {
        if (installed_) ::sigaction(SIGINT, &old_, nullptr);
    }
    InterruptGuard(const InterruptGuard&) = delete;
    InterruptGuard& operator=(const InterruptGuard&) = delete;

private:
    struct sigaction old_{};
    bool installed_ = false;
};

// A word for a shell command line: as it is when it is plain, else in single quotes.
std::string shell_word(const std::string& s) {
    const bool plain = !s.empty() && s.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-./=:,+@%") ==
                                         std::string::npos;
    if (plain) return s;
    std::string q = "'";
    for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
}

// The command that continues an interrupted run from `checkpoint`: the corpora, the output and
// whatever else the checkpoint does not record (the architecture and training settings it does).
std::string resume_command(const TrainFlags& f, const std::string& checkpoint) {
    auto given = [&](const char* name) { return f.command && f.command->count(name) > 0; };
    std::string c = "bbans train --resume " + shell_word(checkpoint) + " --corpus " + shell_word(f.corpus) + " --test " + shell_word(f.test) +
                    " -o " + shell_word(f.output);
    if (!f.shape.empty()) c += " --shape " + shell_word(f.shape);
    if (!f.tile.empty())
        c += " --tile " + shell_word(f.tile) + " --crops " + std::to_string(f.crops) + " --test-crops " + std::to_string(f.test_crops);
    if (f.planes) c += " --planes";
    if (f.mirror) c += " --mirror";
    if (!f.checkpoint.empty()) c += " --checkpoint " + shell_word(f.checkpoint);
    if (f.epochs) c += " --epochs " + std::to_string(*f.epochs);
    if (given("--threads")) c += " --threads " + std::to_string(f.train.threads);
    if (given("--calibration")) c += " --calibration " + std::to_string(f.calibration);
    if (given("--validation")) c += " --validation " + shell_word(f.validation_text());
    if (given("--patience")) c += " --patience " + std::to_string(f.patience);
    if (f.force) c += " -f";
    if (f.quiet) c += " -q";
    return c;
}

// Both name the same file (which need not exist).
bool same_file(const std::string& a, const std::string& b) {
    std::error_code ec;
    if (fs::exists(a, ec) && fs::exists(b, ec)) return fs::equivalent(a, b, ec);
    return fs::absolute(a, ec).lexically_normal() == fs::absolute(b, ec).lexically_normal();
}

// The model file, its card and the checkpoint, checked before anything is loaded or trained.
Status check_outputs(const TrainFlags& f, const std::string& card, const std::string& ckpt) {
    if (f.output == "-") return make_error("-o -: the model is written to a file, not to standard output");
    if (same_file(ckpt, f.output) || same_file(ckpt, card)) return make_error(ckpt + ": the checkpoint would overwrite the model file or its card");
    const bool resuming_here = !f.resume.empty() && same_file(f.resume, ckpt);  // the run continues in its own checkpoint
    std::error_code ec;
    if (!f.force && !resuming_here && fs::exists(fs::symlink_status(ckpt, ec)))
        return make_error(ckpt + ": a checkpoint already exists (continue its run with --resume " + shell_word(ckpt) +
                          ", or use -f to start over)");
    for (const std::string* out : {&f.output, &card, &ckpt}) {
        const bool may_exist = f.force || (out == &ckpt && resuming_here);
        if (auto ok = check_output(f.corpus, *out, may_exist, false); !ok) return ok;
        if (auto ok = check_output(f.test, *out, true, false); !ok) return ok;  // (the held-out file is not overwritten either)
    }
    return Ok{};
}

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
    if (auto grey = io::require_grey(*images, "training"); !grey) return make_error(std::string(what) + ": " + path + ": " + grey.error().message);
    return images;
}

// How a --tile corpus is used beyond its images (the run's first line and the card say it).
std::string corpus_note(const TrainFlags& f) {
    std::string note = f.planes ? "colour images as their YCoCg-R planes" : "";
    if (f.mirror) note += std::string(note.empty() ? "" : "; ") + "crops also from each training image mirrored left to right";
    return note;
}

// Training samples from images of any size (--tile): random framed crops (models/crops.hpp).
struct Crops {
    std::vector<std::uint8_t> frames;
    std::size_t count = 0, images = 0;
    models::ImageSet view(const models::Frame& fr) const { return {frames.data(), count, fr.rows, fr.cols, fr.S, true}; }
};
// The images of a corpus (any sizes, one channel count: the first image's).
Expected<std::vector<io::ImageSet>> load_image_list(const std::string& path, const char* what) {
    auto images = io::load_image_list(path);
    if (!images) return make_error(std::string(what) + ": " + images.error().message);
    for (const io::ImageSet& set : *images)
        if (set.channels != images->front().channels)
            return make_error(std::string(what) + ": images with " + std::to_string(images->front().channels) + " and " +
                              std::to_string(set.channels) + " channels (a model codes one channel count)");
    return images;
}

Expected<Crops> load_crops(const std::vector<io::ImageSet>& images, const models::Frame& fr, std::uint64_t count, std::uint64_t seed,
                           const char* what) {
    std::vector<models::ImageView> views;
    for (const io::ImageSet& set : images)
        for (std::size_t i = 0; i < set.count; ++i) views.push_back({set.image(i).data(), set.rows, set.cols, set.channels});
    auto frames = models::sample_frames(views, fr, static_cast<std::size_t>(count), seed);
    if (!frames) return make_error(std::string(what) + ": " + frames.error().message);
    return Crops{std::move(*frames), static_cast<std::size_t>(count), views.size()};
}

// The training and held-out samples, whichever way they were read.
struct TrainingData {
    std::optional<io::ImageSet> train, test;  // whole images of one shape
    Crops train_crops, test_crops, valid_crops;  // --tile: crops of images of any size
    models::ImageSet train_view, test_view;
    models::ImageSet valid_view;              // --validation: cut from the training corpus (count 0 without)
    std::string describe;                     // for the first line printed
};

// How many of the corpus's n items (images, or files with --tile) --validation holds out: at
// least one, and never all.
Expected<std::size_t> validation_count(const TrainFlags& f, std::size_t n, const char* items) {
    const auto cut = std::max<std::size_t>(1, static_cast<std::size_t>(std::llround(f.validation * static_cast<double>(n))));
    if (cut >= n)
        return make_error("--validation " + f.validation_text() + " leaves no training images (the corpus has " + std::to_string(n) + items + ")");
    return cut;
}

Expected<TrainingData> load_training_data_unchecked(TrainFlags& f) {
    TrainingData d;
    if (!f.tile.empty()) {
        const auto tile = parse_shape(f.tile);
        if (!tile) return make_error("--tile must look like 32x32, got '" + f.tile + "'");
        if (f.crops < 1 || f.test_crops < 1) return make_error("--crops and --test-crops must be at least 1");
        auto train_images = load_image_list(f.corpus, "training corpus");
        if (!train_images) return train_images.error();
        auto test_images = load_image_list(f.test, "held-out corpus");
        if (!test_images) return test_images.error();
        if (f.planes) {
            if (f.model.colour_transform != models::ColourTransform::none)
                return make_error("--planes has its own colour transform (YCoCg-R); leave --colour-transform at none");
            // Each colour image as the grey image of its planes that compress codes with a grey
            // model (src/coding/tiled_coder.hpp, PLANES): crops then also straddle the seams.
            for (auto* list : {&*train_images, &*test_images})
                for (io::ImageSet& set : *list) {
                    if (set.channels < 2)
                        return make_error("--planes needs colour images (2 to 4 channels), the corpus has " + std::to_string(set.channels));
                    std::vector<std::uint8_t> stacked;
                    stacked.reserve(set.pixels.size());
                    for (std::size_t i = 0; i < set.count; ++i) {
                        const auto p = coding::to_planes(set.image(i), set.channels);
                        stacked.insert(stacked.end(), p.begin(), p.end());
                    }
                    set.pixels = std::move(stacked);
                    set.rows *= set.channels;
                    set.channels = 1;
                }
        }
        const std::size_t S = train_images->front().channels;
        if (test_images->front().channels != S) return make_error("the training and held-out images have different channel counts");
        // The model sees its own colour space; crops are cut from the transformed images, so
        // a frame's margin outside the image reads 0 there, as the coder's frames do.
        const models::ColourTransform transform = f.model.colour_transform;
        if (transform != models::ColourTransform::none && S < 3)
            return make_error(std::string("--colour-transform ") + models::colour_transform_name(transform) +
                              " needs colour images (3 or 4 channels), the corpus has " + std::to_string(S));
        for (auto* list : {&*train_images, &*test_images})
            for (io::ImageSet& set : *list) models::colour_forward(transform, set.pixels, S);
        const models::Frame fr{tile->rows, tile->cols, S};
        if (f.validation > 0) {
            // The last files of the training corpus (whole images, so no validation crop overlaps a
            // training crop) give the validation crops.
            const std::size_t files = train_images->size();
            auto split = validation_count(f, files, " image files; the validation split takes whole files");
            if (!split) return split.error();
            const std::size_t cut = *split;
            std::vector<io::ImageSet> held(std::make_move_iterator(train_images->end() - static_cast<std::ptrdiff_t>(cut)),
                                           std::make_move_iterator(train_images->end()));
            train_images->resize(files - cut);
            auto valid = load_crops(held, fr, f.test_crops, models::mix_seed(f.train.seed, 0xC2), "validation split");
            if (!valid) return valid.error();
            d.valid_crops = std::move(*valid);
            d.valid_view = d.valid_crops.view(fr);
        }
        if (f.mirror) {  // after the validation split: only training images are mirrored
            const std::size_t n = train_images->size();
            for (std::size_t k = 0; k < n; ++k) {
                io::ImageSet m = (*train_images)[k];  // the same shape; each image replaced by its mirror image
                m.pixels.clear();
                for (std::size_t i = 0; i < m.count; ++i) {
                    const auto mirrored = models::mirror_left_right({(*train_images)[k].image(i).data(), m.rows, m.cols, m.channels});
                    m.pixels.insert(m.pixels.end(), mirrored.begin(), mirrored.end());
                }
                train_images->push_back(std::move(m));
            }
        }
        auto train = load_crops(*train_images, fr, f.crops, models::mix_seed(f.train.seed, 0xC0), "training corpus");
        if (!train) return train.error();
        auto test = load_crops(*test_images, fr, f.test_crops, models::mix_seed(f.train.seed, 0xC1), "held-out corpus");
        if (!test) return test.error();
        f.model.image_channels = static_cast<std::uint32_t>(S);
        d.train_crops = std::move(*train);
        d.test_crops = std::move(*test);
        d.train_view = d.train_crops.view(fr);
        d.test_view = d.test_crops.view(fr);
        f.model.rows = tile->rows;
        f.model.cols = tile->cols;
        d.describe = std::to_string(d.train_crops.count) + " training crops of " + std::to_string(d.train_crops.images) + " images and " +
                     std::to_string(d.test_crops.count) + " held-out crops of " + std::to_string(d.test_crops.images) + " images, tiles of " +
                     f.tile + (S == 1 ? std::string() : "x" + std::to_string(S)) + (f.planes || f.mirror ? " (" + corpus_note(f) + ")" : "");
        return d;
    }
    auto train = load(f.corpus, f.shape, "training corpus");
    if (!train) return train.error();
    auto test = load(f.test, f.shape, "held-out corpus");
    if (!test) return test.error();
    if (train->shape() != test->shape())
        return make_error("the training images are " + std::to_string(train->rows) + "x" + std::to_string(train->cols) +
                          " but the held-out images are " + std::to_string(test->rows) + "x" + std::to_string(test->cols));
    if (train->pixels == test->pixels) return make_error("the training and held-out corpora are the same images");
    f.model.rows = train->rows;
    f.model.cols = train->cols;
    d.train = std::move(*train);
    d.test = std::move(*test);
    d.train_view = view(*d.train);
    d.test_view = view(*d.test);
    if (f.validation > 0) {
        // The last images of the training corpus, never trained on: the epoch is chosen on them.
        const std::size_t count = d.train_view.count;
        auto split = validation_count(f, count, " images");
        if (!split) return split.error();
        const std::size_t cut = *split;
        d.valid_view = d.train_view;
        d.valid_view.pixels = d.train_view.image(count - cut);
        d.valid_view.count = cut;
        d.train_view.count = count - cut;
    }
    d.describe = std::to_string(d.train_view.count) + " training and " + std::to_string(d.test->count) + " held-out images of " +
                 std::to_string(d.train->rows) + "x" + std::to_string(d.train->cols);
    return d;
}

// A likelihood that codes only some sample values (Bernoulli: 0 and 255) trains only on images
// it can code: its held-out figures are the coded rate, and it would refuse other images anyway.
Status check_codable(const TrainFlags& f, const models::ImageSet& set, const char* what) {
    const models::LikelihoodKind& kind = models::likelihood_kind(f.model.likelihood);
    const std::size_t n = set.count * set.image_size();
    for (std::size_t i = 0; i < n; ++i)
        if (!kind.codes(set.pixels[i]))
            return make_error(std::string("the ") + what + " has the sample value " + std::to_string(set.pixels[i]) + "; a model with the " +
                              std::string(kind.name()) + " likelihood codes " + std::string(kind.codable()));
    return Ok{};
}

Expected<TrainingData> load_training_data(TrainFlags& f) {
    if (f.validation != 0 && !(f.validation > 0 && f.validation < 1))
        return make_error("--validation must be a fraction between 0 and 1 (e.g. 0.1), got " + f.validation_text());
    if (f.patience > 0 && f.validation == 0) return make_error("--patience needs --validation (the split it watches)");
    if (f.planes && f.tile.empty()) return make_error("--planes needs --tile (a tile model codes the stacked planes of any size)");
    if (f.mirror && f.tile.empty()) return make_error("--mirror needs --tile (it mirrors the photos crops are cut from)");
    if (f.train.shift > 0 && !f.tile.empty()) return make_error("--shift applies to whole images, not to --tile crops (which are already drawn at random places)");
    auto d = load_training_data_unchecked(f);
    if (!d) return d;
    if (d->valid_view.count > 0) d->describe += "; " + std::to_string(d->valid_view.count) + " validation " + (f.tile.empty() ? "images" : "crops") + " cut from the training corpus";
    if (auto ok = check_codable(f, d->train_view, "training corpus"); !ok) return ok.error();
    if (auto ok = check_codable(f, d->test_view, "held-out corpus"); !ok) return ok.error();
    return d;
}

// The processes that train one model: this one alone, or (under an MPI launcher, mpirun -np R)
// the ranks of an MPI job, of which rank 0 alone prints and writes the model, card and
// checkpoints.
class Job {
public:
    // Joins the MPI job that launched this process, if one did.
    Status start() {
        const unsigned launched = launcher_ranks();
        if (launched < 2) return Ok{};
#ifdef BBANS_MPI
        auto job = MpiExchange::start();
        if (!job) return job.error();
        mpi_ = std::move(*job);
        return Ok{};
#else
        return make_error("started as one of " + std::to_string(launched) +
                          " MPI ranks, but this bbans was built without MPI (cmake -DBBANS_MPI=ON, with libopenmpi-dev)");
#endif
    }
#ifdef BBANS_MPI
    models::ShardExchange* exchange() const { return mpi_.get(); }
    unsigned rank() const { return mpi_ ? mpi_->rank() : 0; }
    unsigned ranks() const { return mpi_ ? mpi_->ranks() : 1; }
    // Collective: Ok on every rank when Ok on every rank.
    Status agree(Status local) { return mpi_ ? mpi_->agree(std::move(local)) : local; }
    // Collective: whether `local` is true on any rank.
    bool any(bool local) { return mpi_ ? mpi_->any(local) : local; }
    // When this rank failed alone (the others may be waiting for it): ends every rank.
    void end_if_alone(const std::string& message) {
        if (!mpi_ || !mpi_->abandoned()) return;
        fail(rank() == 0 ? message : "rank " + std::to_string(rank()) + ": " + message);
        mpi_->abort(1);
    }

private:
    std::unique_ptr<MpiExchange> mpi_;
#else
    models::ShardExchange* exchange() const { return nullptr; }
    unsigned rank() const { return 0; }
    unsigned ranks() const { return 1; }
    Status agree(Status local) { return local; }
    bool any(bool local) { return local; }
    void end_if_alone(const std::string&) {}
#endif
};

// What a run needs before it trains, made on every rank; the output files are checked by the
// rank that writes them.
struct Prepared {
    TrainingData data;
    models::Trainer trainer;
};

Expected<Prepared> prepare(TrainFlags& f, const std::string& card_path, const std::string& ckpt, const Job& job) {
    if (f.epochs && *f.epochs == 0) return make_error("--epochs must be at least 1");
    if (job.rank() == 0)
        if (auto ok = check_outputs(f, card_path, ckpt); !ok) return ok.error();
    {
        bool known = false;
        for (std::uint8_t t = 0; t <= models::kMaxColourTransform; ++t)
            if (f.colour_transform == models::colour_transform_name(static_cast<models::ColourTransform>(t))) {
                f.model.colour_transform = static_cast<models::ColourTransform>(t);
                known = true;
            }
        if (!known) return make_error("--colour-transform must be none, subtract-green or ycocg-r, got '" + f.colour_transform + "'");
    }
    // --head-skip needs a head: said before the corpora are read (the rest of the architecture is
    // checked once their shape is known).
    if (const models::LikelihoodKind& kind = models::likelihood_kind(f.model.likelihood); f.resume.empty() && f.model.head_skip && !kind.has_head(f.model))
        return make_error("--head-skip needs a per-pixel head, and the " + std::string(kind.name()) + " likelihood has none");
    // A resumed run's architecture (its colour transform included) is the checkpoint's.
    std::optional<Expected<models::Trainer>> resumed;
    if (!f.resume.empty()) {
        resumed.emplace(models::Trainer::resume(f.resume));
        if (!*resumed) return resumed->error();
        f.model.colour_transform = (*resumed)->model().config().colour_transform;
        f.model.likelihood = (*resumed)->model().config().likelihood;
    }
    auto data = load_training_data(f);
    if (!data) return data.error();
    if (f.epochs) f.train.epochs = *f.epochs;
    auto trainer = resumed ? std::move(*resumed) : models::Trainer::create(f.model, f.train);
    if (!trainer) return trainer.error();
    if (!f.resume.empty() && f.epochs)
        if (auto ok = trainer->set_epochs(*f.epochs); !ok) return ok.error();
    trainer->set_threads(f.train.threads);
    if (auto ok = trainer->set_exchange(job.exchange()); !ok) return ok.error();
    auto& info = trainer->model().info();
    if (!f.description.empty()) info.description = f.description;
    else if (info.description.empty()) info.description = fs::path(f.corpus).filename().string();
    return Prepared{std::move(*data), std::move(*trainer)};
}

int run_train(TrainFlags& f) {
    const bool tty = ::isatty(STDERR_FILENO);
    Job job;
    if (auto ok = job.start(); !ok) return launcher_rank() == 0 ? fail(ok.error().message) : 1;  // (the same on every rank)
    const unsigned rank = job.rank(), ranks = job.ranks();
    if (rank != 0) f.quiet = true;
    const std::string card_path = coding::card_path(f.output);
    const std::string ckpt = !f.checkpoint.empty() ? f.checkpoint : f.output + ".ckpt";
    auto prepared = prepare(f, card_path, ckpt, job);
    // No rank trains unless every rank can.
    const Status ready = job.agree(prepared ? Status(Ok{}) : Status(prepared.error()));
    if (!ready) return rank == 0 ? fail(ready.error().message) : 1;
    TrainingData& data = prepared->data;
    models::Trainer& trainer = prepared->trainer;
    const models::ImageSet& train_view = data.train_view;
    const models::ImageSet& test_view = data.test_view;
    // --validation: every epoch is measured on the validation split, the best one is kept (in
    // memory, and beside the checkpoint as CHECKPOINT.best so that --resume keeps it) and becomes
    // the model; the held-out (test) images are measured once, on the chosen model.
    const bool validating = data.valid_view.count > 0;
    const models::ImageSet& watched = validating ? data.valid_view : test_view;
    const std::string best_path = ckpt + ".best";
    std::optional<models::Vae> best;
    double best_bpd = std::numeric_limits<double>::infinity();
    std::uint32_t best_epoch = 0, epochs_run = trainer.epochs_done();
    bool early_stop = false;
    if (validating && !f.resume.empty()) {
        std::error_code ec;
        if (fs::exists(best_path, ec)) {
            auto kept = models::load_model(best_path);
            if (!kept) return rank == 0 ? fail(best_path + ": " + kept.error().message) : 1;
            best = std::move(*kept);
            best_bpd = best->info().heldout_neg_elbo_bpd;
            best_epoch = best->info().epochs_trained;
        }
    }

    const auto& cfg = trainer.model().config();
    if (!f.quiet) {
        std::cerr << "bbans train: " << data.describe << "; latent " << cfg.latent << ", hidden " << cfg.encoder_hidden << "/" << cfg.decoder_hidden
                  << (cfg.hierarchical() ? ", latent2 " + std::to_string(cfg.latent2) + " (hidden " + std::to_string(cfg.latent2_hidden) + ")" : std::string())
                  << ", " << (models::likelihood_kind(cfg).has_head(cfg) ? std::to_string(cfg.components) + " logistics" : std::string(models::likelihood_kind(cfg).name()))
                  << (cfg.autoregressive && models::likelihood_kind(cfg).reads_context(cfg) ? ", autoregressive" : "")
                  << (cfg.head_skip ? ", head skip" : "") << (cfg.head_per_channel ? ", per-channel heads" : "") << "; "
                  << trainer.model().parameter_count() << " parameters; ";
        if (ranks > 1) std::cerr << ranks << " MPI ranks, " << trainer.train_config().shards << " shards; ";
        std::cerr << "checkpoints in " << ckpt << '\n';
    }

    // Ctrl-C: the trainer stops after the minibatch in progress; the last checkpoint written (or
    // the one this run resumed from) is what the resume command continues.
    InterruptGuard guard;
    std::string last_checkpoint = f.resume;
    auto stop_interrupted = [&] {
        if (rank != 0) return 130;
        if (tty && !f.quiet) std::cerr << "\r\x1b[K" << std::flush;
        if (last_checkpoint.empty()) fail("interrupted before the first checkpoint was written; nothing to resume");
        else fail("interrupted; resume with: " + resume_command(f, last_checkpoint));
        return 130;
    };

    // Whether to stop, asked of every rank at the same points (with MPI, one rank's Ctrl-C stops all).
    bool stopped = false;
    auto stop_requested = [&] {
        stopped = job.any(interrupted.load()) || stopped;
        return stopped;
    };
    models::TrainCallbacks cb;
    cb.should_stop = stop_requested;
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
        last_checkpoint = ckpt;  // written before on_epoch is called
        epochs_run = e.epoch;
        bool stop = stop_requested();
        if (validating && e.heldout) {
            if (e.heldout->neg_elbo_bpd < best_bpd) {
                best_bpd = e.heldout->neg_elbo_bpd;
                best_epoch = e.epoch;
                best = trainer.model();
                if (rank == 0)
                    if (auto ok = models::save_model(*best, best_path); !ok && !f.quiet)
                        std::cerr << "bbans: warning: " << best_path << ": " << ok.error().message << " (a resumed run will not know this epoch was best)\n";
            } else if (f.patience > 0 && e.epoch - best_epoch >= f.patience) {
                early_stop = true;
            }
        }
        if (f.quiet) return !stop;
        char line[240];
        std::snprintf(line, sizeof line, "epoch %u/%u  train %.4f bits/dim", e.epoch, e.epochs, e.train.loss_bpd);
        std::cerr << (tty ? "\r" : "") << line;
        if (e.heldout) {
            char kl2[80] = "";
            if (trainer.model().config().hierarchical())
                std::snprintf(kl2, sizeof kl2, " = z1 %.4f + z2 %.4f", e.heldout->kl1_bpd, e.heldout->kl2_bpd);
            std::fprintf(stderr, "  %s -ELBO %.4f bits/dim (recon %.4f + KL %.4f%s)%s", validating ? "validation" : "held-out",
                         e.heldout->neg_elbo_bpd, e.heldout->recon_bpd, e.heldout->kl_bpd, kl2,
                         validating && best_epoch == e.epoch ? " *" : "");
        }
        std::fprintf(stderr, "  %.0f images/s  %s  ETA %s%s\n", e.images_per_second, human_seconds(e.elapsed_seconds).c_str(),
                     human_seconds(e.eta_seconds).c_str(), tty ? "\x1b[K" : "");
        if (early_stop)
            std::fprintf(stderr, "no better validation -ELBO for %u epochs (best %.4f bits/dim, epoch %u): stopping early\n", f.patience,
                         best_bpd, best_epoch);
        return !stop && !early_stop;
    };
    const auto start = std::chrono::steady_clock::now();
    if (auto ok = trainer.run(train_view, &watched, cb, rank == 0 ? ckpt : std::string()); !ok) {
        job.end_if_alone(ok.error().message);
        return rank == 0 ? fail(ok.error().message) : 1;  // (every rank failed the same way)
    }
    if (stopped || (ranks == 1 && interrupted.load())) return stop_interrupted();
    if (rank != 0) return 0;  // rank 0 quantizes, measures and writes the model
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    // The model as it will code: quantize on the first training images, then measure.
    const models::Vae& chosen = validating && best ? *best : trainer.model();
    if (!f.quiet) {
        if (validating && best)
            std::fprintf(stderr, "the model is epoch %u of %u (validation -ELBO %.4f bits/dim)\n", best_epoch, epochs_run, best_bpd);
        std::cerr << "quantizing for coding and measuring the float and integer models on the held-out images...\n";
    }
    const models::TrainConfig& tc = trainer.train_config();
    const models::EvalResult heldout = chosen.evaluate(test_view, tc.eval_samples, tc.eval_seed, {tc.shards, tc.threads});
    models::ImageSet calibration = train_view;
    calibration.count = std::min<std::size_t>(f.calibration, train_view.count);
    auto coding = coding::CodingModel::from_trained(chosen, calibration);
    if (!coding) return fail(coding.error().message);
    auto report = data.test ? coding::evaluate(*coding, *data.test, chosen.info().train.eval_seed)
                             : coding::evaluate_frames(*coding, test_view, chosen.info().train.eval_seed);
    if (!report) return fail(report.error().message);
    if (interrupted.load()) return stop_interrupted();  // the checkpoint holds the whole run: resuming only writes the model

    coding::TrainingRecord record{f.corpus, f.test, train_view.count, test_view.count, seconds, heldout.neg_elbo_bpd,
                                  report->neg_elbo_bpd, report->images};
    record.corpus_note = corpus_note(f);
    record.float_kl_bpd = heldout.kl_bpd;
    record.float_kl2_bpd = heldout.kl2_bpd;
    if (validating && best) {
        record.validation_images = data.valid_view.count;
        record.validation_neg_elbo_bpd = best_bpd;
        record.epochs_run = epochs_run;
    }
    if (auto ok = coding::save(*coding, record, f.output, f.force); !ok) return fail(ok.error().message);
    if (!f.quiet) {
        std::fprintf(stderr, "held-out -ELBO: float %.4f bits/dim (KL %.4f: %.1f%%), integer (as coded) %.4f bits/dim (%+.2f%%)\n",
                     record.float_neg_elbo_bpd, record.float_kl_bpd, 100.0 * record.float_kl_bpd / record.float_neg_elbo_bpd,
                     record.integer_neg_elbo_bpd, 100.0 * (record.integer_neg_elbo_bpd / record.float_neg_elbo_bpd - 1.0));
        if (chosen.config().hierarchical())
            std::fprintf(stderr, "latent bits per dim: float z1 %.4f + z2 %.4f; integer (as coded) z1 %.4f + z2 %.4f\n", heldout.kl1_bpd,
                         heldout.kl2_bpd, report->latent_bpd - report->latent2_bpd, report->latent2_bpd);
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
    t->add_option("--tile", f.tile,
                  "train a tile model (e.g. 32x32) on random crops of images of any size: the model then codes any size");
    t->add_option("--crops", f.crops, "with --tile: training crops (drawn once, with --seed)")->capture_default_str();
    t->add_option("--test-crops", f.test_crops, "with --tile: held-out crops")->capture_default_str();
    t->add_flag("-f,--force", f.force, "overwrite an existing model file and card");
    t->add_flag("-q,--quiet", f.quiet, "print nothing but errors");
    t->add_option("--resume", f.resume, "continue the run saved in this checkpoint");
    t->add_option("--checkpoint", f.checkpoint, "checkpoint file, written after every epoch (default: OUTPUT.ckpt)");
    t->add_option("--description", f.description, "free text recorded in the model (default: the corpus file name)");
    t->add_option("--epochs", f.epochs, "epochs to train, at least 1 (default 50; with --resume, the total to reach)");
    t->add_option("--batch-size", f.train.batch_size, "images per minibatch")->capture_default_str();
    t->add_option("--lr", f.train.learning_rate, "peak learning rate (Adam)")->capture_default_str();
    t->add_option("--final-lr-fraction", f.train.final_lr_fraction, "learning rate at the end, as a fraction of the peak")->capture_default_str();
    t->add_option("--warmup", f.train.warmup_steps, "warm-up steps")->capture_default_str();
    t->add_option("--weight-decay", f.train.weight_decay, "decoupled weight decay")->capture_default_str();
    t->add_option("--clip", f.train.clip_norm, "global gradient-norm clipping (0: off)")->capture_default_str();
    t->add_option("--seed", f.train.seed, "seed of initialization, shuffling and noise")->capture_default_str();
    t->add_option("--threads", f.train.threads, "worker threads (results do not depend on it)")->capture_default_str();
    t->add_option("--shards", f.train.shards,
                  "fixed parts of each minibatch whose gradients are summed in order (results depend on it, not on "
                  "--threads or MPI ranks; with mpirun -np R at least R; with --resume the checkpoint's)")
        ->capture_default_str();
    t->add_option("--latent", f.model.latent, "latent dimensions")->capture_default_str();
    t->add_option("--latent2", f.model.latent2,
                  "dimensions of a second latent layer z2 per tile, coded with bits back in the Bit-Swap order (0: one latent layer)")
        ->capture_default_str();
    t->add_option("--latent2-hidden", f.model.latent2_hidden, "hidden width of q(z2|z1) and p(z1|z2) (with --latent2)")->capture_default_str();
    t->add_option("--encoder-hidden", f.model.encoder_hidden, "encoder hidden width")->capture_default_str();
    t->add_option("--decoder-hidden", f.model.decoder_hidden, "decoder hidden width")->capture_default_str();
    t->add_option("--encoder-layers", f.model.encoder_layers, "encoder hidden layers")->capture_default_str();
    t->add_option("--decoder-layers", f.model.decoder_layers, "decoder hidden layers")->capture_default_str();
    t->add_option("--channels", f.model.channels, "decoder channels per pixel")->capture_default_str();
    t->add_option("--head-hidden", f.model.head_hidden, "hidden width of the per-pixel head")->capture_default_str();
    t->add_option("--head-layers", f.model.head_layers, "hidden layers of the per-pixel head")->capture_default_str();
    t->add_flag("--no-context", [](std::int64_t) { f.model.autoregressive = false; },
                "the per-pixel head sees only the decoder's channels, not the causal neighbours, so the latent must carry "
                "the image's structure (for latent-use experiments)");
    t->add_flag("--head-skip", f.model.head_skip,
                "a linear skip in the per-pixel head: its last layer also reads the head's inputs (the decoder's channels and "
                "the causal neighbours), so the mixture's means get a linear prediction from the neighbours (with --resume "
                "the checkpoint's architecture)");
    t->add_flag("--head-per-channel", f.model.head_per_channel,
                "one per-pixel head for each sample of a pixel (Y, Co and Cg, or R, G and B, each with its own weights) "
                "instead of one shared head; colour models only (with --resume the checkpoint's architecture)");
    t->add_option("--components", f.model.components, "logistics in each pixel's mixture")->capture_default_str();
    t->add_option("--likelihood", f.model.likelihood,
                  "logistic-mixture (8-bit samples), or bernoulli (binary images: every sample 0 or 255; no head)")
        ->transform(CLI::CheckedTransformer(std::map<std::string, models::Likelihood>{{"logistic-mixture", models::Likelihood::logistic_mixture},
                                                                                      {"bernoulli", models::Likelihood::bernoulli}},
                                            CLI::ignore_case))
        ->default_str("logistic-mixture");
    t->add_option("--colour-transform", f.colour_transform,
                  "with --tile on colour images: the colour space the model sees: none, subtract-green or ycocg-r (models/colour.hpp)")
        ->capture_default_str();
    t->add_flag("--mirror", f.mirror,
                "with --tile: also cut training crops from each training image mirrored left to right (photos; not the "
                "held-out or validation images)");
    t->add_flag("--planes", f.planes,
                "with --tile on colour images: train a grey model on each image's planes (YCoCg-R, stacked as compress codes "
                "colour with a grey model)");
    t->add_option("--prior-precision", f.model.prior_precision, "latent buckets per dimension, as bits")->capture_default_str();
    t->add_option("--posterior-precision", f.model.posterior_precision, "bits of the posterior's frequencies")->capture_default_str();
    t->add_option("--calibration", f.calibration, "training images used to calibrate the integer model")->capture_default_str();
    t->add_option("--validation", f.validation,
                  "hold out this fraction of the training corpus (its last images; with --tile its last files) and keep the epoch "
                  "with the best -ELBO on it (--test is then measured only on the chosen model)");
    t->add_option("--patience", f.patience, "with --validation: stop after this many epochs without a better validation -ELBO (0: never)")
        ->capture_default_str();
    t->add_option("--kl-warmup", f.train.kl_warmup_steps, "KL warm-up: the KL gradient's weight rises from 0 to 1 over this many steps (0: off)")
        ->capture_default_str();
    t->add_option("--free-bits", f.train.free_bits,
                  "free bits: a latent dimension of an image with less KL than this (bits) passes no KL gradient (0: off)")
        ->capture_default_str();
    t->add_option("--shift", f.train.shift, "augmentation: translate each training image by up to this many pixels each way (0: off; not with --tile)")
        ->capture_default_str();
    f.command = t;
    t->callback([&state] { state.exit_code = run_train(f); });
}

}  // namespace bbans::cli
