#pragma once
// Model and checkpoint files.
//
// Container (all integers little-endian):
//     offset  size  field
//     0       8     magic: "BBANSVAE" (model) or "BBANSCKP" (training checkpoint)
//     8       4     format version, uint32 (this code writes and reads version 1)
//     12      8     payload length P, uint64
//     20      P     payload: a cereal PortableBinary archive written little-endian (its first
//                   byte is cereal's endianness flag, 1), so the bytes are the same on every
//                   platform and a big-endian reader swaps on load
//     20+P    16    XXH3-128 of the payload: low 64 bits, then high 64 bits
// Nothing may follow. Model payload, version 1:
//     VaeConfig fields in declaration order (uint32s; likelihood and autoregressive as uint8;
//     fields behind bits of the flags byte follow, serialize.cpp: samples per pixel, colour
//     transform, and bit 3 a second latent layer's latent2 and latent2_hidden; bit 4 the
//     head's linear skip, no field; bit 5 one head per sample of a pixel, no field),
//     ModelInfo (description as uint64 length + bytes, TrainConfig fields in order except
//     threads and progress_every, which do not affect the result; counters),
//     then every parameter in Vae::params() order as rows uint32, cols uint32 and rows*cols
//     float32 values in column-major order.
// The model's identity (ModelHash) is the XXH3-128 of the model payload. Loading checks magic,
// version, length, hash, every field's range and every tensor's shape against the
// configuration, and that all weights are finite; any failure is an Error, never an exception.
// Checkpoint payload: the model payload (uint64 length + bytes), the CheckpointState (its
// TrainConfig complete, threads and progress_every last), then
// Adam's m and v for every parameter (same layout as the weights).
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "bbans/expected.hpp"
#include "models/rng.hpp"
#include "models/vae.hpp"

namespace bbans::models {

inline constexpr std::string_view kModelMagic = "BBANSVAE";
inline constexpr std::string_view kCheckpointMagic = "BBANSCKP";
inline constexpr std::uint32_t kFormatVersion = 1;
inline constexpr std::uint64_t kMaxFileBytes = std::uint64_t{1} << 30;

struct ModelHash {
    std::uint64_t low = 0;
    std::uint64_t high = 0;
    // 32 lowercase hex digits, high word first (XXH128's canonical order).
    std::string hex() const;
    bool operator==(const ModelHash&) const = default;
};

ModelHash hash128(std::string_view bytes);
std::uint64_t hash64(const void* data, std::size_t size);

// The model file as bytes, and back.
std::string serialize_model(const Vae& vae);
Expected<Vae> deserialize_model(std::string_view file_bytes);
// The hash recorded in serialize_model(vae).
ModelHash model_hash(const Vae& vae);
// The hash recorded in a model file, after checking the container (not the payload's content).
Expected<ModelHash> file_model_hash(std::string_view file_bytes);

// Files. save_* writes a temporary file next to the target and renames it over the target.
Status save_model(const Vae& vae, const std::filesystem::path& path);
Expected<Vae> load_model(const std::filesystem::path& path);

// Training state beyond the weights and Adam moments (see Trainer).
struct CheckpointState {
    TrainConfig train;
    std::uint32_t epochs_done = 0;   // completed epochs
    std::uint64_t adam_steps = 0;    // optimizer updates so far
    Rng::State rng{};                // the trainer's generator after epochs_done epochs
    std::uint64_t data_hash = 0;     // XXH3-64 of the training pixels, checked on resume
    std::uint64_t data_count = 0;
    double last_train_loss_bpd = 0.0;
    double last_heldout_bpd = 0.0;
};

struct Checkpoint {
    Vae model;  // weights and Adam moments (Param::m, Param::v)
    CheckpointState state;
};

std::string serialize_checkpoint(const Vae& vae, const CheckpointState& state);
Expected<Checkpoint> deserialize_checkpoint(std::string_view file_bytes);
Status save_checkpoint(const Vae& vae, const CheckpointState& state, const std::filesystem::path& path);
Expected<Checkpoint> load_checkpoint(const std::filesystem::path& path);

// The container alone (exposed for tests and tools): wrap a payload, or check magic, version,
// length and hash and return the payload.
std::string wrap_container(std::string_view magic, std::string_view payload);
Expected<std::string_view> unwrap_container(std::string_view magic, std::string_view file_bytes);

// Whole-file helpers over include/bbans/files.hpp: read (refusing files over kMaxFileBytes), and
// atomic write replacing path (a model file or checkpoint is meant to be replaced).
Expected<std::string> read_file_bytes(const std::filesystem::path& path);
Status write_file_atomic(const std::filesystem::path& path, std::string_view bytes);

}  // namespace bbans::models
