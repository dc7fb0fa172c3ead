#pragma once
// Coding models: what `bbans train` writes and `bbans compress` loads. A coding model is the
// quantized VAE (integer weights only: it is what codes) with its configuration and its
// provenance, in a file whose XXH3-128 payload hash is the model identity stored in every
// .bbx file it makes. A markdown card beside each model file says where it came from and what
// it measures.
#include <filesystem>
#include <string>
#include <vector>

#include "bbans/expected.hpp"
#include "models/quantized.hpp"
#include "models/serialize.hpp"
#include "src/container/bbx.hpp"
#include "src/io/images.hpp"

namespace bbans::coding {

struct CodingModel {
    models::CodingModelFile file;  // config, provenance, quantized layers, identity
    static Expected<CodingModel> from_trained(const models::Vae& vae, const models::ImageSet& calibration);
    container::ModelId identity() const;
    std::string identity_hex() const { return file.hash.hex(); }
    const models::QuantizedVae& quantized() const { return file.quantized; }
};

Expected<CodingModel> load_model(const std::filesystem::path& path);
Expected<CodingModel> parse_model(std::span<const std::uint8_t> bytes);

// How the integer model does on images, measured with exactly the frequencies coding uses.
struct Evaluation {
    double neg_elbo_bpd = 0;  // single-sample estimate per image, latents drawn with a fixed seed
    std::size_t images = 0;
    double latent_bpd = 0;    // of neg_elbo_bpd, the latents' part (-log2 p(z) + log2 q(z|x), the KL as coded)
    double latent2_bpd = 0;   // of latent_bpd, a hierarchical model's z2 part (-log2 p(z2) + log2 q(z2|z1))
};
// planes: 0, or the images' channels for a grey model coding them as planes (TiledCoder::make).
Expected<Evaluation> evaluate(const CodingModel& model, const io::ImageSet& images, std::uint64_t seed, std::size_t planes = 0);
// The same on framed tiles (models::ImageSet with framed = true): each tile coded with the
// context its frame gives, as a tile of a larger image is.
Expected<Evaluation> evaluate_frames(const CodingModel& model, const models::ImageSet& frames, std::uint64_t seed);

// What the card records about the training run.
struct TrainingRecord {
    std::string corpus, test;
    std::size_t train_images = 0, test_images = 0;
    double seconds = 0;
    double float_neg_elbo_bpd = 0;    // held-out, float model, as bbans train measured it
    double integer_neg_elbo_bpd = 0;  // held-out, the quantized model as it codes
    std::size_t evaluated_images = 0;
    double float_kl_bpd = 0;          // held-out, float model: the KL part of the -ELBO (what the latent carries)
    double float_kl2_bpd = 0;         // of it, a hierarchical model's z2 part
    // --validation: the epoch was chosen on a validation split cut from the training corpus.
    std::size_t validation_images = 0;  // 0: no validation split (the model is the last epoch's)
    double validation_neg_elbo_bpd = 0;  // of the chosen epoch, float
    std::uint32_t epochs_run = 0;        // epochs trained before the choice (or the early stop)
    std::string corpus_note = {};        // how the corpus was used beyond its images (--planes, --mirror)
};

std::string card_path(const std::string& model_path);  // MODEL.md beside MODEL
std::string card_markdown(const CodingModel& model, const TrainingRecord& record);
// Writes the model file and its card, each atomically; refuses to overwrite unless asked.
Status save(const CodingModel& model, const TrainingRecord& record, const std::string& path, bool overwrite);

}  // namespace bbans::coding
