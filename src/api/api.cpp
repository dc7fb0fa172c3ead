// The parts of the public API (include/bbans/bbans.hpp) that are not the compressor's own:
// the report of an image array and training from image arrays.
#include <algorithm>
#include <chrono>

#include "bbans/bbans.hpp"
#include "models/crops.hpp"

namespace bbans {

Expected<report::Figures> report_images(const ImageView& images, const CompressOptions& options, std::span<const NamedModel> models) {
    if (auto ok = check_images(images); !ok) return ok.error();
    CompressOptions o = options;
    o.raw_shape = io::Shape{images.rows, images.cols, images.channels};
    return report::measure(images.samples, o, models);
}

namespace {

models::ImageSet whole(const ImageView& v) {
    return {v.samples.data(), static_cast<std::size_t>(v.count), v.rows, v.cols, v.channels};
}

// Random framed crops of every image (models/crops.hpp), as `bbans train --tile` draws them.
Expected<std::vector<std::uint8_t>> crops_of(const ImageView& v, const models::Frame& fr, std::uint64_t count, std::uint64_t seed,
                                             const char* what) {
    std::vector<models::ImageView> views;
    views.reserve(static_cast<std::size_t>(v.count));
    const std::size_t per = std::size_t{v.rows} * v.cols * v.channels;
    for (std::uint64_t i = 0; i < v.count; ++i) views.push_back({v.samples.data() + i * per, v.rows, v.cols, v.channels});
    auto frames = models::sample_frames(views, fr, static_cast<std::size_t>(count), seed);
    if (!frames) return make_error(std::string(what) + ": " + frames.error().message);
    return frames;
}

}  // namespace

Expected<TrainedModel> train_images(const ImageView& train, const ImageView& test, const TrainOptions& options,
                                    const models::TrainCallbacks& callbacks) {
    if (auto ok = check_images(train); !ok) return make_error("training images: " + ok.error().message);
    if (auto ok = check_images(test); !ok) return make_error("held-out images: " + ok.error().message);
    if (train.channels != test.channels) return make_error("the training and held-out images have different channel counts");
    models::VaeConfig cfg = options.model;
    models::TrainConfig tc = options.train;
    if (tc.epochs == 0) return make_error("epochs must be at least 1");
    std::vector<std::uint8_t> train_crops, test_crops;
    models::ImageSet train_set, test_set;
    std::optional<io::ImageSet> test_whole;  // coding::evaluate takes an owning set
    if (options.tile) {
        if (options.crops < 1 || options.test_crops < 1) return make_error("crops and test crops must be at least 1");
        const models::Frame fr{options.tile->rows, options.tile->cols, train.channels};
        auto a = crops_of(train, fr, options.crops, models::mix_seed(tc.seed, 0xC0), "training images");
        if (!a) return a.error();
        auto b = crops_of(test, fr, options.test_crops, models::mix_seed(tc.seed, 0xC1), "held-out images");
        if (!b) return b.error();
        train_crops = std::move(*a);
        test_crops = std::move(*b);
        train_set = {train_crops.data(), static_cast<std::size_t>(options.crops), fr.rows, fr.cols, fr.S, true};
        test_set = {test_crops.data(), static_cast<std::size_t>(options.test_crops), fr.rows, fr.cols, fr.S, true};
        cfg.rows = options.tile->rows;
        cfg.cols = options.tile->cols;
        cfg.image_channels = train.channels;
    } else {
        if (train.channels != 1)
            return make_error("images have " + std::to_string(train.channels) +
                              " channels; a model of whole images needs grey images (1 channel): train a tile model for colour");
        if (train.rows != test.rows || train.cols != test.cols)
            return make_error("the training images are " + std::to_string(train.rows) + "x" + std::to_string(train.cols) +
                              " but the held-out images are " + std::to_string(test.rows) + "x" + std::to_string(test.cols));
        if (std::equal(train.samples.begin(), train.samples.end(), test.samples.begin(), test.samples.end()))
            return make_error("the training and held-out corpora are the same images");
        train_set = whole(train);
        test_set = whole(test);
        cfg.rows = train.rows;
        cfg.cols = train.cols;
        cfg.image_channels = 1;
        io::ImageSet t;
        t.rows = test.rows, t.cols = test.cols, t.count = static_cast<std::size_t>(test.count), t.channels = 1;
        t.pixels.assign(test.samples.begin(), test.samples.end());
        test_whole = std::move(t);
    }
    auto trainer = models::Trainer::create(cfg, tc);
    if (!trainer) return trainer.error();
    trainer->model().info().description = options.description.empty() ? options.corpus_name : options.description;

    bool stopped = false;
    models::TrainCallbacks cb = callbacks;
    if (callbacks.should_stop)
        cb.should_stop = [&] { return stopped = stopped || callbacks.should_stop(); };
    if (callbacks.on_epoch)
        cb.on_epoch = [&](const models::EpochReport& e) {
            const bool go_on = callbacks.on_epoch(e);
            stopped = stopped || !go_on;
            return go_on;
        };
    const auto start = std::chrono::steady_clock::now();
    if (auto ok = trainer->run(train_set, &test_set, cb); !ok) return ok.error();
    if (stopped) return make_error("training was stopped");
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    models::ImageSet calibration = train_set;
    calibration.count = std::min<std::size_t>(options.calibration, train_set.count);
    auto coding = coding::CodingModel::from_trained(trainer->model(), calibration);
    if (!coding) return coding.error();
    const std::uint64_t eval_seed = trainer->model().info().train.eval_seed;
    auto measured = test_whole ? coding::evaluate(*coding, *test_whole, eval_seed) : coding::evaluate_frames(*coding, test_set, eval_seed);
    if (!measured) return measured.error();
    coding::TrainingRecord record{options.corpus_name, options.test_name, train_set.count, test_set.count, seconds,
                                  trainer->model().info().heldout_neg_elbo_bpd, measured->neg_elbo_bpd, measured->images};
    return TrainedModel{std::move(*coding), std::move(record)};
}

}  // namespace bbans
