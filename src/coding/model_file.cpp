#include "src/coding/model_file.hpp"

#include "src/coding/tiled_coder.hpp"

#include <cmath>
#include <cstdio>
#include <random>
#include <sstream>

#include "models/likelihood_kind.hpp"
#include "src/coding/vae_coder.hpp"
#include "src/io/files.hpp"

namespace bbans::coding {

Expected<CodingModel> CodingModel::from_trained(const models::Vae& vae, const models::ImageSet& calibration) {
    auto q = models::QuantizedVae::from_float(vae, calibration);
    if (!q) return q.error();
    const std::string bytes = models::serialize_coding_model(vae.info(), *q);
    auto file = models::deserialize_coding_model(bytes);  // also validates what we made
    if (!file) return file.error();
    return CodingModel{std::move(*file)};
}

container::ModelId CodingModel::identity() const {
    container::ModelId id{};
    for (int i = 0; i < 8; ++i) {
        id[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(file.hash.high >> (56 - 8 * i));
        id[static_cast<std::size_t>(8 + i)] = static_cast<std::uint8_t>(file.hash.low >> (56 - 8 * i));
    }
    return id;  // to_hex(identity()) == identity_hex()
}

Expected<CodingModel> parse_model(std::span<const std::uint8_t> bytes) {
    auto file = models::deserialize_coding_model(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
    if (!file) return file.error();
    return CodingModel{std::move(*file)};
}

Expected<CodingModel> load_model(const std::filesystem::path& path) {
    auto bytes = io::read_file(path);
    if (!bytes) return bytes.error();
    auto m = parse_model(*bytes);
    if (!m) return make_error(path.string() + ": " + m.error().message);
    return m;
}

Expected<Evaluation> evaluate(const CodingModel& model, const io::ImageSet& images, std::uint64_t seed, std::size_t planes) {
    auto coder = TiledCoder::make(model.quantized(), {}, planes);
    if (!coder) return coder.error();
    if (images.channels != coder->channels()) return make_error("the images do not have the model's channels");
    if (images.count == 0) return make_error("no images to evaluate");
    std::mt19937_64 draw(seed);
    double bits = 0, latent = 0, latent2 = 0;
    for (std::size_t i = 0; i < images.count; ++i)
        bits += coder->neg_elbo_bits(images.image(i), images.rows, images.cols, draw, 0, &latent, &latent2);
    const auto samples = static_cast<double>(images.count * images.samples_per_image());
    return Evaluation{bits / samples, images.count, latent / samples, latent2 / samples};
}

std::string card_path(const std::string& model_path) { return model_path + ".md"; }

std::string card_markdown(const CodingModel& model, const TrainingRecord& r) {
    const auto& c = model.file.config();
    const auto& info = model.file.info;
    const auto& t = info.train;
    std::ostringstream s;
    char buf[256];
    s << "# bbans model card\n\n";
    s << "| | |\n| --- | --- |\n";
    s << "| identity (XXH3-128 of the payload) | `" << model.identity_hex() << "` |\n";
    s << "| description | " << info.description << " |\n";
    s << "| training corpus | `" << r.corpus << "` (" << r.train_images << " images" << (r.corpus_note.empty() ? "" : "; " + r.corpus_note)
      << ") |\n";
    s << "| held-out corpus | `" << r.test << "` (" << r.test_images << " images, never trained on) |\n";
    s << "| image shape | " << c.rows << "x" << c.cols;
    if (c.image_channels != 1) s << "x" << c.image_channels;
    s << " (a tile: the model codes any size) |\n";
    if (c.colour_transform != models::ColourTransform::none)
        s << "| colour space | " << models::colour_transform_name(c.colour_transform)
          << " (models/colour.hpp: applied before coding, inverted after decoding) |\n";
    s << "| architecture | encoder " << c.samples() << " -> " << c.encoder_layers << "x" << c.encoder_hidden << " -> 2x" << c.latent
      << "; decoder " << c.latent << " -> " << c.decoder_layers << "x" << c.decoder_hidden << " -> " << c.samples() << "x" << c.decoder_channels()
      << " channels; ";
    if (c.hierarchical())
        s << "second latent layer z2 of " << c.latent2 << " (Bit-Swap): q(z2|z1) " << c.latent << " -> " << c.latent2_hidden << " -> 2x"
          << c.latent2 << ", p(z1|z2) " << c.latent2 << " -> " << c.latent2_hidden << " -> 2x" << c.latent << ", p(z2) = N(0, I); ";
    if (const models::LikelihoodKind& kind = models::likelihood_kind(c); !kind.has_head(c))
        s << "likelihood " << kind.name() << " (one decoder output per sample, " << kind.codable() << ") |\n";
    else
        s << (c.head_per_channel ? std::to_string(c.heads()) + " per-channel heads, each " : std::string("per-sample head "))
          << c.head_inputs() << " -> " << (c.head_layers > 1 ? std::to_string(c.head_layers) + "x" : std::string()) << c.head_hidden << " -> " << kind.head_outputs(c) << " (" << c.components
          << " logistics" << (c.autoregressive ? ", 12 causal neighbours" : "")
          << (c.autoregressive && c.image_channels != 1 ? " and the pixel's earlier channels" : "")
          << (c.head_skip ? "; + a linear skip from the " + std::to_string(c.head_inputs()) + " inputs to the outputs" : std::string()) << ") |\n";
    s << "| latent discretization | 2^" << c.prior_precision << " equal-mass buckets per dimension, posterior at "
      << c.posterior_precision << " bits |\n";
    std::snprintf(buf, sizeof buf, "| training | %u epochs, batch %u, Adam lr %g (schedule %d, final fraction %g, warm-up %u), weight decay %g, clip %g, seed %llu |\n",
                  info.epochs_trained, t.batch_size, t.learning_rate, static_cast<int>(t.schedule), t.final_lr_fraction, t.warmup_steps,
                  t.weight_decay, t.clip_norm, static_cast<unsigned long long>(t.seed));
    s << buf;
    if (t.kl_warmup_steps != 0 || t.free_bits != 0.0 || t.shift != 0) {
        std::snprintf(buf, sizeof buf, "| latent use and augmentation | KL warm-up %u steps, free bits %g per latent dimension, shifts of up to %u pixels |\n",
                      t.kl_warmup_steps, t.free_bits, t.shift);
        s << buf;
    }
    if (r.validation_images > 0) {
        std::snprintf(buf, sizeof buf,
                      "| epoch chosen on validation | epoch %u of %u run, validation -ELBO %.4f bits/dim on %zu images cut from the training corpus (not trained on) |\n",
                      info.epochs_trained, r.epochs_run, r.validation_neg_elbo_bpd, r.validation_images);
        s << buf;
    }
    if (r.seconds > 0)
        std::snprintf(buf, sizeof buf, "| wall time | %.0f s (%.1f h) on this machine's cores |\n", r.seconds, r.seconds / 3600);
    else  // a run resumed after its last epoch only writes the model: its training time is in its log
        std::snprintf(buf, sizeof buf, "| wall time | not measured by this run (resumed after its last epoch; see the training log) |\n");
    s << buf;
    std::snprintf(buf, sizeof buf, "| last training loss | %.4f bits/dim |\n", info.train_loss_bpd);
    s << buf;
    std::snprintf(buf, sizeof buf, "| held-out negative ELBO, float model | %.4f bits/dim |\n", r.float_neg_elbo_bpd);
    s << buf;
    std::snprintf(buf, sizeof buf, "| held-out negative ELBO, integer model as it codes | %.4f bits/dim (%+.2f%% vs float; %zu images, one latent sample each) |\n",
                  r.integer_neg_elbo_bpd, 100.0 * (r.integer_neg_elbo_bpd / r.float_neg_elbo_bpd - 1.0), r.evaluated_images);
    s << buf;
    if (r.float_neg_elbo_bpd > 0) {
        std::snprintf(buf, sizeof buf, "| held-out split, float model | likelihood %.4f + latent (KL) %.4f bits/dim: the latent carries %.1f%% of the bits (%.1f bits per %ux%u image) |\n",
                      r.float_neg_elbo_bpd - r.float_kl_bpd, r.float_kl_bpd, 100.0 * r.float_kl_bpd / r.float_neg_elbo_bpd,
                      r.float_kl_bpd * static_cast<double>(c.samples()), c.rows, c.cols);
        s << buf;
        if (c.hierarchical()) {
            std::snprintf(buf, sizeof buf, "| held-out latent split, float model | z1 %.4f + z2 %.4f bits/dim (%.1f + %.1f bits per %ux%u image) |\n",
                          r.float_kl_bpd - r.float_kl2_bpd, r.float_kl2_bpd, (r.float_kl_bpd - r.float_kl2_bpd) * static_cast<double>(c.samples()),
                          r.float_kl2_bpd * static_cast<double>(c.samples()), c.rows, c.cols);
            s << buf;
        }
    }
    return s.str();
}

Status save(const CodingModel& model, const TrainingRecord& record, const std::string& path, bool overwrite) {
    const std::string bytes = models::serialize_coding_model(model.file.info, model.file.quantized);
    const std::string card = card_markdown(model, record);
    if (auto ok = io::write_file_atomic(path, std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()), overwrite); !ok)
        return ok;
    return io::write_file_atomic(card_path(path), std::span(reinterpret_cast<const std::uint8_t*>(card.data()), card.size()), overwrite);
}

Expected<Evaluation> evaluate_frames(const CodingModel& model, const models::ImageSet& frames, std::uint64_t seed) {
    auto coder = TiledCoder::make(model.quantized());
    if (!coder) return coder.error();
    const auto& cfg = coder->config();
    if (!frames.framed || frames.rows != cfg.rows || frames.cols != cfg.cols || frames.channels != cfg.image_channels)
        return make_error("the tiles do not have the model's shape");
    if (frames.count == 0) return make_error("no tiles to evaluate");
    std::mt19937_64 draw(seed);
    double bits = 0, latent = 0, latent2 = 0;
    for (std::size_t i = 0; i < frames.count; ++i)
        bits += coder->frame_neg_elbo_bits(std::span(frames.image(i), frames.image_size()), cfg.rows, cfg.cols, draw, &latent, &latent2);
    const auto samples = static_cast<double>(frames.count * cfg.samples());
    return Evaluation{bits / samples, frames.count, latent / samples, latent2 / samples};
}

}  // namespace bbans::coding
