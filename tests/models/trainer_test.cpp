// Training: the loss goes down, runs reproduce exactly, and checkpoint/resume equals an
// uninterrupted run. Also the optimizer and the generator.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <numbers>
#include <numeric>

#include "models/adam.hpp"
#include "models/trainer.hpp"
#include "test_util.hpp"

using namespace bbans::models;
using namespace bbans::models::test;

namespace {

VaeConfig small_config() {
    VaeConfig c;
    c.rows = 8;
    c.cols = 8;
    c.latent = 4;
    c.encoder_hidden = 32;
    c.decoder_hidden = 32;
    c.channels = 2;
    c.head_hidden = 12;
    c.components = 3;
    return c;
}

TrainConfig small_train(std::uint32_t epochs) {
    TrainConfig t;
    t.epochs = epochs;
    t.batch_size = 32;
    t.seed = 5;
    t.learning_rate = 3e-3;
    t.warmup_steps = 5;
    t.clip_norm = 5.0;
    t.weight_decay = 1e-4;
    t.threads = 2;
    t.shards = 2;
    return t;
}

struct Data {
    std::vector<std::uint8_t> train_px, test_px;
    ImageSet train, test;
    explicit Data(std::size_t n_train = 200, std::size_t n_test = 64) {
        train_px = bar_images(n_train, 8, 8, 71);
        test_px = bar_images(n_test, 8, 8, 72);
        train = {train_px.data(), n_train, 8, 8};
        test = {test_px.data(), n_test, 8, 8};
    }
};

void require_same_weights(const Vae& a, const Vae& b, bool with_moments) {
    const auto pa = a.params(), pb = b.params();
    REQUIRE(pa.size() == pb.size());
    for (std::size_t i = 0; i < pa.size(); ++i) {
        INFO(pa[i]->name);
        REQUIRE(pa[i]->value == pb[i]->value);
        if (with_moments) {
            REQUIRE(pa[i]->m == pb[i]->m);
            REQUIRE(pa[i]->v == pb[i]->v);
        }
    }
}

}  // namespace

TEST_CASE("Training on a small synthetic set lowers the loss", "[trainer]") {
    Data d;
    auto t = Trainer::create(small_config(), small_train(8));
    REQUIRE(t.has_value());
    std::vector<EpochReport> reports;
    int progress_calls = 0;
    TrainCallbacks cb;
    cb.on_epoch = [&](const EpochReport& r) {
        reports.push_back(r);
        return true;
    };
    cb.on_progress = [&](const ProgressReport&) { ++progress_calls; };
    t->train_config();
    REQUIRE(t->run(d.train, &d.test, cb).has_value());
    REQUIRE(reports.size() == 8);
    CHECK(reports.back().epoch == 8);
    CHECK(reports.back().steps == 8 * Trainer::steps_per_epoch(200, 32));
    CHECK(reports.front().train.loss_bpd > reports.back().train.loss_bpd + 0.5);
    REQUIRE(reports.front().heldout.has_value());
    REQUIRE(reports.back().heldout.has_value());
    CHECK(reports.back().heldout->neg_elbo_bpd < reports.front().heldout->neg_elbo_bpd);
    CHECK(reports.back().heldout->neg_elbo_bpd ==
          Approx(reports.back().heldout->recon_bpd + reports.back().heldout->kl_bpd));
    CHECK(reports.back().images_per_second > 0.0);
    CHECK(progress_calls == 0);  // progress_every = 50 > 7 batches per epoch
    // The model records its provenance.
    CHECK(t->model().info().epochs_trained == 8);
    CHECK(t->model().info().train_images == 200);
    CHECK(t->model().info().heldout_neg_elbo_bpd == reports.back().heldout->neg_elbo_bpd);
    // Evaluation is deterministic.
    const EvalResult e1 = t->model().evaluate(d.test, 2, 9, {2, 2});
    const EvalResult e2 = t->model().evaluate(d.test, 2, 9, {2, 1});
    CHECK(e1.neg_elbo_bpd == e2.neg_elbo_bpd);
    CHECK(e1.images == 64);
}

TEST_CASE("Bernoulli training lowers the loss", "[trainer]") {
    Data d;
    VaeConfig c = small_config();
    c.likelihood = Likelihood::bernoulli;
    TrainConfig tc = small_train(5);
    tc.progress_every = 2;
    auto t = Trainer::create(c, tc);
    REQUIRE(t.has_value());
    std::vector<double> losses;
    std::vector<ProgressReport> progress;
    TrainCallbacks cb;
    cb.on_epoch = [&](const EpochReport& r) {
        losses.push_back(r.train.loss_bpd);
        return true;
    };
    cb.on_progress = [&](const ProgressReport& p) { progress.push_back(p); };
    REQUIRE(t->run(d.train, nullptr, cb).has_value());
    REQUIRE(losses.size() == 5);
    // 7 minibatches per epoch, a report after every second one: 3 per epoch.
    REQUIRE(progress.size() == 15);
    CHECK(progress.back().batch == 6);
    CHECK(progress.back().batches == 7);
    CHECK(progress.back().epoch == 5);
    CHECK(progress.back().images_per_second > 0.0);
    CHECK(losses.back() < losses.front() - 0.05);
}

TEST_CASE("Same seed gives identical weights and thread count does not matter", "[trainer]") {
    Data d(96);
    TrainConfig tc = small_train(2);
    auto a = Trainer::create(small_config(), tc);
    tc.threads = 1;
    auto b = Trainer::create(small_config(), tc);
    tc.seed = 6;
    auto c = Trainer::create(small_config(), tc);
    REQUIRE((a.has_value() && b.has_value() && c.has_value()));
    REQUIRE(a->run(d.train, nullptr).has_value());
    REQUIRE(b->run(d.train, nullptr).has_value());
    REQUIRE(c->run(d.train, nullptr).has_value());
    CHECK(a->steps() == 6);
    require_same_weights(a->model(), b->model(), true);
    CHECK(model_hash(a->model()) == model_hash(b->model()));  // threads are not part of the model
    CHECK(a->model().params()[0]->value != c->model().params()[0]->value);
    CHECK(model_hash(a->model()) != model_hash(c->model()));
    CHECK(a->rng().state() == b->rng().state());
}

TEST_CASE("Checkpoint and resume equals an uninterrupted run", "[trainer]") {
    Data d(100, 20);
    const auto path = std::filesystem::temp_directory_path() / "bbans_models_test_resume.ckpt";
    auto straight = Trainer::create(small_config(), small_train(3));
    REQUIRE(straight.has_value());
    REQUIRE(straight->run(d.train, &d.test).has_value());

    auto first = Trainer::create(small_config(), small_train(3));
    REQUIRE(first.has_value());
    TrainCallbacks stop_after_one;
    stop_after_one.on_epoch = [](const EpochReport& r) { return r.epoch < 1; };
    REQUIRE(first->run(d.train, &d.test, stop_after_one, path).has_value());
    CHECK(first->epochs_done() == 1);

    auto resumed = Trainer::resume(path);
    REQUIRE(resumed.has_value());
    CHECK(resumed->epochs_done() == 1);
    CHECK(resumed->steps() == first->steps());
    resumed->set_threads(1);  // a different machine may have other cores
    REQUIRE(resumed->run(d.train, &d.test, {}, path).has_value());
    CHECK(resumed->epochs_done() == 3);
    require_same_weights(straight->model(), resumed->model(), true);
    CHECK(resumed->steps() == straight->steps());
    CHECK(resumed->model().info().heldout_neg_elbo_bpd == straight->model().info().heldout_neg_elbo_bpd);

    // Resuming with other training images is refused.
    auto again = Trainer::resume(path);
    REQUIRE(again.has_value());
    REQUIRE(again->set_epochs(4).has_value());
    Data other(100, 20);
    other.train_px[5] ^= 1;
    auto st = again->run(other.train, nullptr);
    REQUIRE_FALSE(st.has_value());
    CHECK(st.error().message.find("not the ones") != std::string::npos);
    std::filesystem::remove(path);

    // A missing checkpoint is an error, not an exception.
    CHECK_FALSE(Trainer::resume(path).has_value());
}

TEST_CASE("should_stop abandons the epoch in progress and keeps the last checkpoint", "[trainer]") {
    Data d(100, 20);  // 4 minibatches of 32 per epoch
    const auto path = std::filesystem::temp_directory_path() / "bbans_models_test_stop.ckpt";
    std::filesystem::remove(path);
    auto t = Trainer::create(small_config(), small_train(3));
    REQUIRE(t.has_value());
    TrainCallbacks cb;
    int batches = 0, epochs = 0;
    cb.on_epoch = [&](const EpochReport&) { return ++epochs, true; };
    cb.should_stop = [&] { return ++batches == 6; };  // in the second epoch
    REQUIRE(t->run(d.train, &d.test, cb, path).has_value());
    CHECK(batches == 6);
    CHECK(epochs == 1);
    CHECK(t->epochs_done() == 1);
    CHECK(t->steps() == 6);
    // The checkpoint is the one of epoch 1: resuming from it finishes the run.
    auto resumed = Trainer::resume(path);
    REQUIRE(resumed.has_value());
    CHECK(resumed->epochs_done() == 1);
    CHECK(resumed->steps() == 4);
    REQUIRE(resumed->run(d.train, &d.test, {}, path).has_value());
    CHECK(resumed->epochs_done() == 3);
    std::filesystem::remove(path);
}

TEST_CASE("Trainer rejects mismatched images and bad configurations", "[trainer]") {
    auto t = Trainer::create(small_config(), small_train(1));
    REQUIRE(t.has_value());
    std::vector<std::uint8_t> px(10 * 9 * 9, 0);
    const ImageSet wrong{px.data(), 10, 9, 9};
    auto st = t->run(wrong, nullptr);
    REQUIRE_FALSE(st.has_value());
    CHECK(st.error().message.find("expects 8x8") != std::string::npos);
    CHECK_FALSE(t->run(ImageSet{}, nullptr).has_value());
    TrainConfig bad = small_train(1);
    bad.batch_size = 0;
    CHECK_FALSE(Trainer::create(small_config(), bad).has_value());
    bad = small_train(0);
    CHECK_FALSE(Trainer::create(small_config(), bad).has_value());
}

TEST_CASE("Learning-rate schedule warms up and decays to the final fraction", "[trainer]") {
    TrainConfig c;
    c.learning_rate = 1e-3;
    c.warmup_steps = 10;
    c.final_lr_fraction = 0.1;
    c.schedule = LrSchedule::cosine;
    CHECK(scheduled_learning_rate(c, 0, 110) == Approx(1e-4));
    CHECK(scheduled_learning_rate(c, 9, 110) == Approx(1e-3));
    CHECK(scheduled_learning_rate(c, 10, 110) == Approx(1e-3));
    CHECK(scheduled_learning_rate(c, 109, 110) == Approx(1e-4));
    const double mid = scheduled_learning_rate(c, 60, 110);
    CHECK(mid < 1e-3);
    CHECK(mid > 1e-4);
    c.schedule = LrSchedule::exponential;
    CHECK(scheduled_learning_rate(c, 109, 110) == Approx(1e-4));
    CHECK(scheduled_learning_rate(c, 50, 110) < 1e-3);
    c.schedule = LrSchedule::constant;
    CHECK(scheduled_learning_rate(c, 100, 110) == Approx(1e-3));
}

TEST_CASE("Adam minimizes a quadratic with bias correction and clipping", "[trainer]") {
    TrainConfig c;
    c.clip_norm = 1.0;
    Param<double> p;
    p.resize(3, 1);
    p.value << 2.0, -3.0, 0.5;
    std::vector<Param<double>*> ps{&p};
    Adam<double> adam(c);
    // First step: bias-corrected m / sqrt(v) = sign(g), so every coordinate moves by ~lr.
    p.grad = 2.0 * p.value;  // d/dx of |x|^2
    const Mat<double> before = p.value;
    const double norm = adam.step(ps, 0.1);
    CHECK(norm == Approx(2.0 * before.norm()));
    CHECK((before - p.value).cwiseAbs().maxCoeff() == Approx(0.1).epsilon(1e-6));
    for (int i = 0; i < 500; ++i) {
        p.grad = 2.0 * p.value;
        adam.step(ps, 0.05);
    }
    CHECK(p.value.norm() < 0.05);
    CHECK(adam.steps() == 501);
}

TEST_CASE("Generator is reproducible and unbiased enough", "[trainer]") {
    Rng a(1), b(1), c(2);
    for (int i = 0; i < 10; ++i) {
        const auto x = a.next_u64();
        CHECK(x == b.next_u64());
        CHECK(x != c.next_u64());
    }
    std::vector<int> counts(7, 0);
    for (int i = 0; i < 70000; ++i) ++counts[static_cast<std::size_t>(a.uniform_below(7))];
    for (int n : counts) CHECK(std::abs(n - 10000) < 500);
    double sum = 0, sq = 0;
    for (int i = 0; i < 20000; ++i) {
        const double z = a.normal();
        sum += z;
        sq += z * z;
    }
    CHECK(std::abs(sum / 20000) < 0.03);
    CHECK(sq / 20000 == Approx(1.0).epsilon(0.05));
    std::vector<std::size_t> perm(50);
    std::iota(perm.begin(), perm.end(), std::size_t{0});
    const Rng::State s = a.state();
    a.shuffle(perm);
    std::vector<std::size_t> sorted = perm;
    std::sort(sorted.begin(), sorted.end());
    for (std::size_t i = 0; i < 50; ++i) CHECK(sorted[i] == i);
    // Restoring the state replays the same shuffle.
    std::vector<std::size_t> perm2(50);
    std::iota(perm2.begin(), perm2.end(), std::size_t{0});
    a.set_state(s);
    a.shuffle(perm2);
    CHECK(perm == perm2);
}

TEST_CASE("Shift augmentation translates images with a black border, and kl_control ramps", "[trainer]") {
    // A 3x4 grey image 1..12 and a 2x2 RGB one.
    std::vector<std::uint8_t> src(12), dst(12);
    for (std::size_t i = 0; i < 12; ++i) src[i] = static_cast<std::uint8_t>(i + 1);
    shift_image(src.data(), dst.data(), 3, 4, 1, 0, 0);
    CHECK(dst == src);
    shift_image(src.data(), dst.data(), 3, 4, 1, 1, -1);  // down 1, left 1
    CHECK(dst == std::vector<std::uint8_t>{0, 0, 0, 0, 2, 3, 4, 0, 6, 7, 8, 0});
    shift_image(src.data(), dst.data(), 3, 4, 1, -2, 3);  // up 2, right 3
    CHECK(dst == std::vector<std::uint8_t>{0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0});
    shift_image(src.data(), dst.data(), 3, 4, 1, 0, 4);  // everything out
    CHECK(dst == std::vector<std::uint8_t>(12, 0));
    shift_image(src.data(), dst.data(), 2, 2, 3, 0, 1);  // RGB: whole pixels move
    CHECK(dst == std::vector<std::uint8_t>{0, 0, 0, 1, 2, 3, 0, 0, 0, 7, 8, 9});

    TrainConfig tc;
    CHECK(kl_control(tc, 0).weight == 1.0);
    tc.kl_warmup_steps = 4;
    tc.free_bits = 2.0;
    CHECK(kl_control(tc, 0).weight == 0.25);
    CHECK(kl_control(tc, 2).weight == 0.75);
    CHECK(kl_control(tc, 3).weight == 1.0);
    CHECK(kl_control(tc, 100).weight == 1.0);
    CHECK(kl_control(tc, 0).free_nats == Approx(2.0 * std::numbers::ln2));
}

TEST_CASE("Training with shifts, KL warm-up and free bits is reproducible and resumable", "[trainer]") {
    Data d(100, 20);
    TrainConfig tc = small_train(3);
    tc.shift = 2;
    tc.kl_warmup_steps = 7;
    tc.free_bits = 0.25;
    auto straight = Trainer::create(small_config(), tc);
    REQUIRE(straight.has_value());
    REQUIRE(straight->run(d.train, &d.test).has_value());
    // The settings are part of the model file.
    auto back = deserialize_model(serialize_model(straight->model()));
    REQUIRE(back.has_value());
    CHECK(back->info().train.shift == 2);
    CHECK(back->info().train.kl_warmup_steps == 7);
    CHECK(back->info().train.free_bits == 0.25);

    // Resumed after one epoch, on one thread: the same bits.
    const auto path = std::filesystem::temp_directory_path() / "bbans_models_test_shift_resume.ckpt";
    auto first = Trainer::create(small_config(), tc);
    REQUIRE(first.has_value());
    TrainCallbacks stop_after_one;
    stop_after_one.on_epoch = [](const EpochReport& r) { return r.epoch < 1; };
    REQUIRE(first->run(d.train, &d.test, stop_after_one, path).has_value());
    auto resumed = Trainer::resume(path);
    REQUIRE(resumed.has_value());
    CHECK(resumed->train_config().shift == 2);
    resumed->set_threads(1);
    REQUIRE(resumed->run(d.train, &d.test, {}, path).has_value());
    require_same_weights(straight->model(), resumed->model(), true);
    std::filesystem::remove(path);

    // Each setting changes the run.
    for (int which = 0; which < 3; ++which) {
        TrainConfig other = tc;
        if (which == 0) other.shift = 0;
        if (which == 1) other.kl_warmup_steps = 0;
        if (which == 2) other.free_bits = 0;
        auto t = Trainer::create(small_config(), other);
        REQUIRE(t.has_value());
        REQUIRE(t->run(d.train, nullptr).has_value());
        INFO("setting " << which);
        CHECK(model_hash(t->model()) != model_hash(straight->model()));
    }
}

TEST_CASE("Hierarchical training lowers the loss, reproduces with any thread count and resumes", "[trainer][hierarchical]") {
    Data d(200, 64);
    VaeConfig c = small_config();
    c.latent2 = 3;
    c.latent2_hidden = 16;
    std::vector<EpochReport> reports;
    TrainCallbacks cb;
    cb.on_epoch = [&](const EpochReport& r) {
        reports.push_back(r);
        return true;
    };
    TrainConfig tc = small_train(6);
    auto a = Trainer::create(c, tc);
    REQUIRE(a.has_value());
    REQUIRE(a->run(d.train, &d.test, cb).has_value());
    REQUIRE(reports.size() == 6);
    CHECK(reports.front().train.loss_bpd > reports.back().train.loss_bpd + 0.5);
    CHECK(reports.back().heldout->neg_elbo_bpd < reports.front().heldout->neg_elbo_bpd);
    const EvalResult& e = *reports.back().heldout;
    CHECK(e.neg_elbo_bpd == Approx(e.recon_bpd + e.kl_bpd));
    CHECK(e.kl_bpd == Approx(e.kl1_bpd + e.kl2_bpd));
    CHECK(e.kl2_bpd >= 0.0);
    // Every second-layer parameter was trained (moved from its initial value).
    auto init = Vae::make(c, tc.seed);
    REQUIRE(init.has_value());
    const auto p0 = init->params(), p1 = a->model().params();
    REQUIRE(p0.size() == p1.size());
    std::size_t second = 0;
    for (std::size_t i = 0; i < p0.size(); ++i)
        if (p0[i]->name.rfind("encoder2", 0) == 0 || p0[i]->name.rfind("prior1", 0) == 0) {
            INFO(p0[i]->name);
            CHECK(p0[i]->value != p1[i]->value);
            ++second;
        }
    CHECK(second == 8);

    // One thread instead of two: the same bits; with KL warm-up and free bits too; and resumed.
    tc.threads = 1;
    auto b = Trainer::create(c, tc);
    REQUIRE(b.has_value());
    REQUIRE(b->run(d.train, &d.test).has_value());
    require_same_weights(a->model(), b->model(), true);
    CHECK(model_hash(a->model()) == model_hash(b->model()));

    tc = small_train(2);
    tc.kl_warmup_steps = 5;
    tc.free_bits = 0.1;
    auto straight = Trainer::create(c, tc);
    REQUIRE(straight.has_value());
    REQUIRE(straight->run(d.train, nullptr).has_value());
    CHECK(model_hash(straight->model()) != model_hash(a->model()));
    const auto path = std::filesystem::temp_directory_path() / "bbans_models_test_hierarchical_resume.ckpt";
    auto first = Trainer::create(c, tc);
    REQUIRE(first.has_value());
    TrainCallbacks stop_after_one;
    stop_after_one.on_epoch = [](const EpochReport& r) { return r.epoch < 1; };
    REQUIRE(first->run(d.train, nullptr, stop_after_one, path).has_value());
    auto resumed = Trainer::resume(path);
    REQUIRE(resumed.has_value());
    CHECK(resumed->model().config() == c);
    resumed->set_threads(1);
    REQUIRE(resumed->run(d.train, nullptr, {}, path).has_value());
    require_same_weights(straight->model(), resumed->model(), true);
    std::filesystem::remove(path);
}

TEST_CASE("Per-channel heads: colour training moves every head apart, reproduces with any thread count and resumes",
          "[trainer][per_channel]") {
    // 8x8 RGB-like tiles whose channels differ: bars, their negative, a dim noisy plane.
    auto colour = [](std::size_t n, std::uint64_t seed) {
        const auto grey = bar_images(n, 8, 8, seed);
        std::vector<std::uint8_t> px(grey.size() * 3);
        for (std::size_t i = 0; i < grey.size(); ++i) {
            px[3 * i] = grey[i];
            px[3 * i + 1] = static_cast<std::uint8_t>(255 - grey[i]);
            px[3 * i + 2] = static_cast<std::uint8_t>(30 + grey[i] % 7);
        }
        return px;
    };
    const auto train_px = colour(120, 91), test_px = colour(20, 92);
    const ImageSet train{train_px.data(), 120, 8, 8, 3}, test{test_px.data(), 20, 8, 8, 3};
    VaeConfig c = small_config();
    c.image_channels = 3;
    c.head_per_channel = true;
    TrainConfig tc = small_train(3);
    auto a = Trainer::create(c, tc);
    REQUIRE(a.has_value());
    REQUIRE(a->run(train, &test).has_value());
    // Every head parameter moved from its initial value, and no two heads are alike.
    auto init = Vae::make(c, tc.seed);
    REQUIRE(init.has_value());
    const auto p0 = init->params(), p1 = a->model().params();
    std::vector<const Param<float>*> heads[3];
    for (std::size_t i = 0; i < p0.size(); ++i)
        for (std::size_t h = 0; h < 3; ++h)
            if (p0[i]->name.rfind("head" + std::to_string(h) + ".", 0) == 0) {
                INFO(p0[i]->name);
                CHECK(p0[i]->value != p1[i]->value);
                heads[h].push_back(p1[i]);
            }
    REQUIRE(heads[0].size() == 4);
    for (std::size_t k = 0; k < heads[0].size(); ++k) {
        CHECK(heads[0][k]->value != heads[1][k]->value);
        CHECK(heads[1][k]->value != heads[2][k]->value);
    }

    // One thread: the same bits; resumed from a checkpoint: the same bits.
    tc.threads = 1;
    auto b = Trainer::create(c, tc);
    REQUIRE(b.has_value());
    REQUIRE(b->run(train, &test).has_value());
    require_same_weights(a->model(), b->model(), true);
    const auto path = std::filesystem::temp_directory_path() / "bbans_models_test_per_channel_resume.ckpt";
    auto first = Trainer::create(c, small_train(3));
    REQUIRE(first.has_value());
    TrainCallbacks stop_after_one;
    stop_after_one.on_epoch = [](const EpochReport& r) { return r.epoch < 1; };
    REQUIRE(first->run(train, &test, stop_after_one, path).has_value());
    auto resumed = Trainer::resume(path);
    REQUIRE(resumed.has_value());
    CHECK(resumed->model().config() == c);
    REQUIRE(resumed->run(train, &test, {}, path).has_value());
    require_same_weights(a->model(), resumed->model(), true);
    std::filesystem::remove(path);
}
