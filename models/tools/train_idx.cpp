// bbans_models_train: a small driver for timing and smoke runs of the models library before the
// bbans CLI exists. Reads uncompressed IDX image files (gunzip them first).
//
//   bbans_models_train train=train-images-idx3-ubyte [test=t10k-images-idx3-ubyte]
//       [train_count=N] [test_count=N] [epochs=E] [batch=B] [threads=T] [shards=S] [lr=X]
//       [hidden=H] [latent=L] [channels=C] [components=K] [head=P] [head_layers=N] [ar=0|1] [bernoulli=0|1]
//       [seed=S] [warmup=W] [clip=X] [max_steps=N] [out=model.bbm] [checkpoint=run.ckpt]
//       [resume=run.ckpt]
// max_steps > 0 runs only that many minibatches and prints the training throughput.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "models/serialize.hpp"
#include "models/trainer.hpp"

using namespace bbans::models;

namespace {

struct Idx {
    std::vector<std::uint8_t> pixels;
    std::size_t count = 0, rows = 0, cols = 0;
};

bool read_idx(const std::string& path, std::size_t max_count, Idx& out) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return false;
    unsigned char h[16];
    if (!in.read(reinterpret_cast<char*>(h), 16)) return false;
    auto be = [&](int i) {
        return (std::size_t{h[i]} << 24) | (std::size_t{h[i + 1]} << 16) | (std::size_t{h[i + 2]} << 8) | h[i + 3];
    };
    if (h[0] != 0 || h[1] != 0 || h[2] != 0x08 || h[3] != 3) return false;
    out.count = be(4);
    out.rows = be(8);
    out.cols = be(12);
    if (max_count > 0 && max_count < out.count) out.count = max_count;
    out.pixels.resize(out.count * out.rows * out.cols);
    return static_cast<bool>(in.read(reinterpret_cast<char*>(out.pixels.data()),
                                     static_cast<std::streamsize>(out.pixels.size())));
}

}  // namespace

int main(int argc, char** argv) {
    std::map<std::string, std::string> a;
    for (int i = 1; i < argc; ++i) {
        const std::string s = argv[i];
        const auto eq = s.find('=');
        if (eq == std::string::npos) {
            std::fprintf(stderr, "arguments are key=value\n");
            return 2;
        }
        a[s.substr(0, eq)] = s.substr(eq + 1);
    }
    auto num = [&](const char* k, double def) { return a.count(k) ? std::atof(a[k].c_str()) : def; };
    auto u32 = [&](const char* k, double def) { return static_cast<std::uint32_t>(num(k, def)); };
    if (!a.count("train")) {
        std::fprintf(stderr, "need train=FILE\n");
        return 2;
    }
    Idx train, test;
    if (!read_idx(a["train"], static_cast<std::size_t>(num("train_count", 0)), train)) {
        std::fprintf(stderr, "cannot read %s\n", a["train"].c_str());
        return 1;
    }
    if (a.count("test") && !read_idx(a["test"], static_cast<std::size_t>(num("test_count", 0)), test)) {
        std::fprintf(stderr, "cannot read %s\n", a["test"].c_str());
        return 1;
    }

    VaeConfig vc;
    vc.rows = static_cast<std::uint32_t>(train.rows);
    vc.cols = static_cast<std::uint32_t>(train.cols);
    vc.encoder_hidden = vc.decoder_hidden = u32("hidden", vc.encoder_hidden);
    vc.latent = u32("latent", vc.latent);
    vc.channels = u32("channels", vc.channels);
    vc.components = u32("components", vc.components);
    vc.head_hidden = u32("head", vc.head_hidden);
    vc.head_layers = u32("head_layers", vc.head_layers);
    vc.autoregressive = num("ar", 1) != 0;
    if (num("bernoulli", 0) != 0) vc.likelihood = Likelihood::bernoulli;
    TrainConfig tc;
    tc.epochs = u32("epochs", 1);
    tc.batch_size = u32("batch", tc.batch_size);
    tc.threads = u32("threads", tc.threads);
    tc.shards = u32("shards", tc.shards);
    tc.learning_rate = num("lr", tc.learning_rate);
    tc.seed = static_cast<std::uint64_t>(num("seed", 1));
    tc.warmup_steps = u32("warmup", tc.warmup_steps);
    tc.clip_norm = num("clip", tc.clip_norm);
    tc.weight_decay = num("wd", tc.weight_decay);
    tc.progress_every = u32("progress", 0);

    auto trainer = a.count("resume") ? Trainer::resume(a["resume"]) : Trainer::create(vc, tc);
    if (!trainer) {
        std::fprintf(stderr, "%s\n", trainer.error().message.c_str());
        return 1;
    }
    if (a.count("threads")) trainer->set_threads(tc.threads);
    const Vae& m = trainer->model();
    std::printf("parameters %zu, model file %zu bytes\n", m.parameter_count(), serialize_model(m).size());

    const ImageSet tr{train.pixels.data(), train.count, train.rows, train.cols};
    const ImageSet te{test.pixels.data(), test.count, test.rows, test.cols};
    const auto max_steps = static_cast<std::size_t>(num("max_steps", 0));
    if (max_steps > 0) {
        const std::size_t B = trainer->train_config().batch_size, D = tr.image_size();
        const std::size_t steps = std::min(max_steps, tr.count / B);
        trainer->step(tr.image(0), B, 1000);  // warm-up (allocations)
        const auto t0 = std::chrono::steady_clock::now();
        LossParts lp;
        for (std::size_t s = 0; s < steps; ++s) lp = trainer->step(tr.image(s * B), B, 1000);
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::printf("%zu steps of %zu images in %.2f s: %.1f images/s (threads %u, shards %u), last loss %.4f bpd\n",
                    steps, B, secs, static_cast<double>(steps * B) / secs, trainer->train_config().threads,
                    trainer->train_config().shards, lp.loss_bpd);
        (void)D;
        return 0;
    }
    TrainCallbacks cb;
    cb.on_progress = [](const ProgressReport& p) {
        std::printf("  epoch %u batch %llu/%llu loss %.4f  %.0f img/s  lr %.2e\n", p.epoch,
                    static_cast<unsigned long long>(p.batch), static_cast<unsigned long long>(p.batches),
                    p.running_loss_bpd, p.images_per_second, p.learning_rate);
        std::fflush(stdout);
    };
    cb.on_epoch = [](const EpochReport& r) {
        std::printf("epoch %u/%u  train %.4f (recon %.4f kl %.4f)", r.epoch, r.epochs, r.train.loss_bpd,
                    r.train.recon_bpd, r.train.kl_bpd);
        if (r.heldout)
            std::printf("  held-out %.4f (recon %.4f kl %.4f)", r.heldout->neg_elbo_bpd, r.heldout->recon_bpd,
                        r.heldout->kl_bpd);
        std::printf("  %.0f img/s  %.1f s (+%.1f eval)  |g| %.3f  lr %.2e  eta %.0f s\n", r.images_per_second,
                    r.epoch_seconds, r.eval_seconds, r.grad_norm, r.learning_rate, r.eta_seconds);
        std::fflush(stdout);
        return true;
    };
    const std::string ck = a.count("checkpoint") ? a["checkpoint"] : "";
    if (auto st = trainer->run(tr, test.count ? &te : nullptr, cb, ck); !st) {
        std::fprintf(stderr, "%s\n", st.error().message.c_str());
        return 1;
    }
    if (a.count("out")) {
        if (auto st = save_model(trainer->model(), a["out"]); !st) {
            std::fprintf(stderr, "%s\n", st.error().message.c_str());
            return 1;
        }
        std::printf("saved %s (hash %s)\n", a["out"].c_str(), model_hash(trainer->model()).hex().c_str());
    }
    return 0;
}
