#include "models/serialize.hpp"

#include "bbans/files.hpp"

#include "models/likelihood_kind.hpp"
#include "models/quantized.hpp"

#include <xxhash.h>

#include <cereal/archives/portable_binary.hpp>
#include <cereal/cereal.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <utility>

namespace bbans::models {

namespace {

using OArchive = cereal::PortableBinaryOutputArchive;
using IArchive = cereal::PortableBinaryInputArchive;

// Reads bytes in place (std::ispanstream is C++23): a model file is parsed without a copy of
// its payload. The get area is only ever read, so the const_cast is never written through.
class MemoryBuf : public std::streambuf {
public:
    explicit MemoryBuf(std::string_view bytes) {
        char* p = const_cast<char*>(bytes.data());
        setg(p, p, p + bytes.size());
    }
};

// A malformed payload. Thrown inside the parser only; turned into an Error at the boundary.
struct FormatError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

constexpr std::size_t kHeaderBytes = 8 + 4 + 8;
constexpr std::size_t kHashBytes = 16;
constexpr std::uint64_t kMaxDescription = 4096;

void put_le(std::string& out, std::uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
std::uint64_t get_le(std::string_view in, std::size_t at, int bytes) {
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i)
        v |= static_cast<std::uint64_t>(static_cast<unsigned char>(in[at + static_cast<std::size_t>(i)])) << (8 * i);
    return v;
}

void put_blob(OArchive& ar, std::string_view s) {
    const std::uint64_t n = s.size();
    ar(n);
    ar(cereal::binary_data(s.data(), s.size()));
}
std::string get_blob(IArchive& ar, std::uint64_t max_size, const char* what) {
    std::uint64_t n = 0;
    ar(n);
    if (n > max_size) throw FormatError(std::string(what) + " too long");
    std::string s(static_cast<std::size_t>(n), '\0');
    ar(cereal::binary_data(s.data(), s.size()));
    return s;
}
std::uint8_t get_u8_at_most(IArchive& ar, std::uint8_t max, const char* what) {
    std::uint8_t v = 0;
    ar(v);
    if (v > max) throw FormatError(std::string("invalid ") + what);
    return v;
}

// The flags byte: bit 0 autoregressive; bit 1 an extension follows the fixed fields (u32 samples
// per pixel); bit 2 a u8 colour transform follows that (models/colour.hpp). A grey model is
// written without either, so its bytes (and identity) are those of a model file from before
// colour models existed; a colour model without a transform, those of one from before transforms.
// Bit 3: a second latent layer (hierarchical, VaeConfig::latent2 > 0): u32 latent2 and u32
// latent2_hidden follow (after the colour transform, if any); a one-layer model is written
// without it, so its bytes are those of a file from before hierarchical models.
// Bit 4: the head's linear skip (VaeConfig::head_skip); no field follows (the head's last
// weight is wider, as the configuration implies). Only a model with a head may set it; a model
// without the skip is written without it, so its bytes are those of a file from before it.
// Bit 5: one head per sample of a pixel (VaeConfig::head_per_channel); no field follows (the
// parameters hold S heads, as the configuration implies). Only a model with a head and at
// least 2 samples per pixel may set it; without it, the bytes are those of a file from before.
constexpr std::uint8_t kFlagAutoregressive = 1, kFlagExtension = 2, kFlagColourTransform = 4, kFlagLatent2 = 8, kFlagHeadSkip = 16,
                       kFlagHeadPerChannel = 32;

void write_config(OArchive& ar, const VaeConfig& c) {
    const bool ext = c.image_channels != 1, transform = c.colour_transform != ColourTransform::none;
    const auto flags = static_cast<std::uint8_t>((c.autoregressive ? kFlagAutoregressive : 0) | (ext ? kFlagExtension : 0) |
                                                 (transform ? kFlagColourTransform : 0) | (c.hierarchical() ? kFlagLatent2 : 0) |
                                                 (c.head_skip ? kFlagHeadSkip : 0) | (c.head_per_channel ? kFlagHeadPerChannel : 0));
    ar(c.rows, c.cols, c.latent, c.encoder_hidden, c.encoder_layers, c.decoder_hidden, c.decoder_layers,
       static_cast<std::uint8_t>(c.likelihood), c.channels, flags, c.head_hidden, c.head_layers, c.components,
       c.prior_precision, c.posterior_precision);
    if (ext) ar(c.image_channels);
    if (transform) ar(static_cast<std::uint8_t>(c.colour_transform));
    if (c.hierarchical()) ar(c.latent2, c.latent2_hidden);
}
void read_config(IArchive& ar, VaeConfig& c) {
    ar(c.rows, c.cols, c.latent, c.encoder_hidden, c.encoder_layers, c.decoder_hidden, c.decoder_layers);
    c.likelihood = static_cast<Likelihood>(get_u8_at_most(ar, kMaxLikelihood, "likelihood"));
    ar(c.channels);
    const std::uint8_t flags = get_u8_at_most(
        ar, kFlagAutoregressive | kFlagExtension | kFlagColourTransform | kFlagLatent2 | kFlagHeadSkip | kFlagHeadPerChannel, "configuration flags");
    c.autoregressive = (flags & kFlagAutoregressive) != 0;
    c.head_skip = (flags & kFlagHeadSkip) != 0;  // (VaeConfig::validate refuses it without a head)
    c.head_per_channel = (flags & kFlagHeadPerChannel) != 0;  // (validate: only with a head and S >= 2)
    ar(c.head_hidden, c.head_layers, c.components, c.prior_precision, c.posterior_precision);
    c.image_channels = 1;
    if (flags & kFlagExtension) {
        ar(c.image_channels);
        if (c.image_channels == 1) throw FormatError("configuration extension without a reason (1 sample per pixel)");
    }
    c.colour_transform = ColourTransform::none;
    if (flags & kFlagColourTransform) {
        c.colour_transform = static_cast<ColourTransform>(get_u8_at_most(ar, kMaxColourTransform, "colour transform"));
        if (c.colour_transform == ColourTransform::none) throw FormatError("colour transform flag without a transform");
    }
    c.latent2 = 0;
    c.latent2_hidden = VaeConfig{}.latent2_hidden;
    if (flags & kFlagLatent2) {
        ar(c.latent2, c.latent2_hidden);
        if (c.latent2 == 0) throw FormatError("second latent layer flag without a second latent layer");
    }
}

// The hyper-parameters that determine the result. threads and progress_every do not, and are
// stored only in checkpoints (so a model's hash does not depend on the machine it trained on).
// Bit 7 of the schedule byte: the latent-use and augmentation settings follow the fixed fields
// (u32 kl_warmup_steps, f64 free_bits, u32 shift); written only when one is not 0, so a run
// without them has the bytes (and a model the identity) of a file from before they existed.
constexpr std::uint8_t kScheduleExtension = 0x80;
void write_train(OArchive& ar, const TrainConfig& t, bool with_runtime) {
    const bool ext = t.kl_warmup_steps != 0 || t.free_bits != 0.0 || t.shift != 0;
    ar(t.epochs, t.batch_size, t.seed, t.shards, t.learning_rate, t.final_lr_fraction, t.warmup_steps,
       static_cast<std::uint8_t>(static_cast<std::uint8_t>(t.schedule) | (ext ? kScheduleExtension : 0)), t.beta1, t.beta2,
       t.adam_epsilon, t.weight_decay, t.clip_norm, t.eval_every, t.eval_samples, t.eval_seed);
    if (with_runtime) ar(t.threads, t.progress_every);
    if (ext) ar(t.kl_warmup_steps, t.free_bits, t.shift);
}
// read_config, then the configuration's own checks (throws FormatError if they fail).
VaeConfig read_valid_config(IArchive& ar) {
    VaeConfig config;
    read_config(ar, config);
    if (auto st = config.validate(); !st) throw FormatError(st.error().message);
    return config;
}

void read_train(IArchive& ar, TrainConfig& t, bool with_runtime) {
    ar(t.epochs, t.batch_size, t.seed, t.shards, t.learning_rate, t.final_lr_fraction, t.warmup_steps);
    std::uint8_t schedule = 0;
    ar(schedule);
    const bool ext = (schedule & kScheduleExtension) != 0;
    schedule &= static_cast<std::uint8_t>(~kScheduleExtension);
    if (schedule > 2) throw FormatError("invalid learning-rate schedule");
    t.schedule = static_cast<LrSchedule>(schedule);
    ar(t.beta1, t.beta2, t.adam_epsilon, t.weight_decay, t.clip_norm, t.eval_every, t.eval_samples, t.eval_seed);
    if (with_runtime) ar(t.threads, t.progress_every);
    t.kl_warmup_steps = 0, t.free_bits = 0.0, t.shift = 0;
    if (ext) {
        ar(t.kl_warmup_steps, t.free_bits, t.shift);
        if (t.kl_warmup_steps == 0 && t.free_bits == 0.0 && t.shift == 0) throw FormatError("training extension without a reason");
        if (!(t.free_bits >= 0.0 && t.free_bits <= 64.0) || t.shift > 16) throw FormatError("invalid training extension");
    }
}

void write_info(OArchive& ar, const ModelInfo& i) {
    put_blob(ar, std::string_view(i.description).substr(0, kMaxDescription));
    write_train(ar, i.train, false);
    ar(i.epochs_trained, i.steps, i.train_images, i.train_loss_bpd, i.heldout_neg_elbo_bpd, i.train_data_hash);
}
void read_info(IArchive& ar, ModelInfo& i) {
    i.description = get_blob(ar, kMaxDescription, "description");
    read_train(ar, i.train, false);
    ar(i.epochs_trained, i.steps, i.train_images, i.train_loss_bpd, i.heldout_neg_elbo_bpd, i.train_data_hash);
}

void write_matrix(OArchive& ar, const Mat<float>& m) {
    ar(static_cast<std::uint32_t>(m.rows()), static_cast<std::uint32_t>(m.cols()));
    ar(cereal::binary_data(m.data(), static_cast<std::size_t>(m.size()) * sizeof(float)));
}
// Reads into m, which already has the shape the configuration implies.
void read_matrix(IArchive& ar, Mat<float>& m, const std::string& name) {
    std::uint32_t rows = 0, cols = 0;
    ar(rows, cols);
    if (rows != m.rows() || cols != m.cols()) throw FormatError("tensor " + name + " has the wrong shape");
    ar(cereal::binary_data(m.data(), static_cast<std::size_t>(m.size()) * sizeof(float)));
    if (!m.allFinite()) throw FormatError("tensor " + name + " has a non-finite value");
}

std::string model_payload(const Vae& vae) {
    std::ostringstream os(std::ios::binary);
    {
        OArchive ar(os, OArchive::Options::LittleEndian());
        write_config(ar, vae.config());
        write_info(ar, vae.info());
        for (const Param<float>* p : vae.params()) write_matrix(ar, p->value);
    }
    return std::move(os).str();
}

// Throws FormatError / cereal::Exception on malformed input.
Vae parse_model_payload(std::string_view payload) {
    MemoryBuf buf(payload);
    std::istream is(&buf);
    IArchive ar(is);
    const VaeConfig config = read_valid_config(ar);
    ModelInfo info;
    read_info(ar, info);
    auto made = Vae::make(config, 0);
    if (!made) throw FormatError(made.error().message);
    Vae vae = std::move(made).value();
    vae.info() = info;
    for (Param<float>* p : vae.params()) read_matrix(ar, p->value, p->name);
    if (is.peek() != std::char_traits<char>::eof()) throw FormatError("unexpected bytes after the model");
    return vae;
}

// Quantized layers, read with every size checked before anything is allocated.
constexpr std::uint64_t kMaxQuantizedLayerWeights = std::uint64_t{1} << 26;

template <class T>
void write_array(OArchive& ar, const std::vector<T>& v) {
    ar(cereal::binary_data(v.data(), v.size() * sizeof(T)));
}
template <class T>
void read_array(IArchive& ar, std::vector<T>& v, std::size_t n) {
    v.resize(n);
    ar(cereal::binary_data(v.data(), n * sizeof(T)));
}

void write_qlayers(OArchive& ar, const std::vector<QLinear>& layers) {
    ar(static_cast<std::uint32_t>(layers.size()));
    for (const QLinear& l : layers) {
        ar(static_cast<std::uint32_t>(l.in), static_cast<std::uint32_t>(l.out));
        write_array(ar, l.weight);
        write_array(ar, l.bias);
        write_array(ar, l.shift);
        write_array(ar, l.lo);
        write_array(ar, l.hi);
        write_array(ar, l.in_max);
    }
}
// empty_ok: the layers may be none (the head of a likelihood without one, likelihood_kind.hpp).
// sizes, if not empty: the stack's only possible shape {in, hidden..., out}, checked before
// anything is allocated.
std::vector<QLinear> read_qlayers(IArchive& ar, const char* what, bool empty_ok = false, std::span<const std::uint32_t> sizes = {}) {
    std::uint32_t count = 0;
    ar(count);
    if ((count == 0 && !empty_ok) || count > 64 || (!sizes.empty() && count + 1 != sizes.size()))
        throw FormatError(std::string("quantized ") + what + " has " + std::to_string(count) + " layers");
    std::vector<QLinear> layers(count);
    for (std::size_t i = 0; i < layers.size(); ++i) {
        QLinear& l = layers[i];
        std::uint32_t in = 0, out = 0;
        ar(in, out);
        if (in == 0 || out == 0 || std::uint64_t{in} * out > kMaxQuantizedLayerWeights)
            throw FormatError(std::string("quantized ") + what + " has a layer of absurd size");
        if (!sizes.empty() && (in != sizes[i] || out != sizes[i + 1]))
            throw FormatError(std::string("quantized ") + what + " has a layer of the wrong shape");
        l.in = static_cast<std::int32_t>(in);
        l.out = static_cast<std::int32_t>(out);
        read_array(ar, l.weight, std::size_t{in} * out);
        read_array(ar, l.bias, out);
        read_array(ar, l.shift, out);
        read_array(ar, l.lo, out);
        read_array(ar, l.hi, out);
        read_array(ar, l.in_max, in);
    }
    return layers;
}

template <class F>
auto guarded(const char* what, F&& f) -> decltype(f()) {
    try {
        return f();
    } catch (const FormatError& e) {
        return make_error(std::string(what) + ": " + e.what());
    } catch (const cereal::Exception&) {
        return make_error(std::string(what) + ": truncated or malformed payload");
    } catch (const std::bad_alloc&) {
        return make_error(std::string(what) + ": out of memory");
    } catch (const std::exception& e) {
        return make_error(std::string(what) + ": " + e.what());
    }
}

}  // namespace

std::string ModelHash::hex() const {
    char buf[33];
    std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(high),
                  static_cast<unsigned long long>(low));
    return std::string(buf, 32);
}

ModelHash hash128(std::string_view bytes) {
    const XXH128_hash_t h = XXH3_128bits(bytes.data(), bytes.size());
    return {h.low64, h.high64};
}

std::uint64_t hash64(const void* data, std::size_t size) { return XXH3_64bits(data, size); }

std::string wrap_container(std::string_view magic, std::string_view payload) {
    std::string out;
    out.reserve(kHeaderBytes + payload.size() + kHashBytes);
    out.append(magic.substr(0, 8));
    put_le(out, kFormatVersion, 4);
    put_le(out, payload.size(), 8);
    out.append(payload);
    const ModelHash h = hash128(payload);
    put_le(out, h.low, 8);
    put_le(out, h.high, 8);
    return out;
}

namespace {
// What a file with this magic is, for messages that name a file of the wrong kind.
const char* kind_of_magic(std::string_view magic) {
    if (magic == kCheckpointMagic) return "a training checkpoint";
    if (magic == kModelMagic) return "a float model file";
    if (magic == kCodingModelMagic) return "a bbans coding model file";
    return nullptr;
}
}  // namespace

Expected<std::string_view> unwrap_container(std::string_view magic, std::string_view bytes) {
    // Everything but a checkpoint is a model file (float or coding).
    const std::string kind = magic == kCheckpointMagic ? "checkpoint" : "model file";
    if (bytes.empty()) return make_error("empty file, not a bbans " + kind);
    if (bytes.size() < kHeaderBytes + kHashBytes) {
        const std::size_t n = std::min(bytes.size(), magic.size());
        if (bytes.substr(0, n) == magic.substr(0, n))
            return make_error(kind + " is truncated (" + std::to_string(bytes.size()) + " bytes, shorter than its header)");
        return make_error("not a bbans " + kind + " (too short)");
    }
    if (bytes.substr(0, 8) != magic) {
        if (const char* other = kind_of_magic(bytes.substr(0, 8)))
            return make_error("not a bbans " + kind + " (wrong magic: this is " + other + ")");
        return make_error("not a bbans " + kind + " (bad magic)");
    }
    const std::uint64_t version = get_le(bytes, 8, 4);
    if (version != kFormatVersion)
        return make_error("unsupported " + kind + " format version " + std::to_string(version));
    const std::uint64_t size = get_le(bytes, 12, 8);
    const std::uint64_t available = bytes.size() - kHeaderBytes - kHashBytes;
    if (size > kMaxFileBytes)
        return make_error(kind + " has an impossible payload length (" + std::to_string(size) + " bytes)");
    if (size > available)
        return make_error(kind + " is truncated (payload length " + std::to_string(size) + " bytes, " + std::to_string(available) +
                          " present)");
    if (size < available)
        return make_error(kind + " has trailing bytes (" + std::to_string(available - size) + " after the content hash)");
    const std::string_view payload = bytes.substr(kHeaderBytes, static_cast<std::size_t>(size));
    const ModelHash stored{get_le(bytes, kHeaderBytes + payload.size(), 8),
                           get_le(bytes, kHeaderBytes + payload.size() + 8, 8)};
    if (hash128(payload) != stored) return make_error(kind + " is corrupt (content hash mismatch)");
    return payload;
}

std::string serialize_model(const Vae& vae) { return wrap_container(kModelMagic, model_payload(vae)); }

ModelHash model_hash(const Vae& vae) { return hash128(model_payload(vae)); }

Expected<ModelHash> file_model_hash(std::string_view file_bytes) {
    auto payload = unwrap_container(kModelMagic, file_bytes);
    if (!payload) return payload.error();
    return hash128(*payload);
}

Expected<Vae> deserialize_model(std::string_view file_bytes) {
    auto payload = unwrap_container(kModelMagic, file_bytes);
    if (!payload) return payload.error();
    return guarded("invalid model file", [&]() -> Expected<Vae> { return parse_model_payload(*payload); });
}

std::string serialize_checkpoint(const Vae& vae, const CheckpointState& s) {
    std::ostringstream os(std::ios::binary);
    {
        OArchive ar(os, OArchive::Options::LittleEndian());
        put_blob(ar, model_payload(vae));
        write_train(ar, s.train, true);
        ar(s.epochs_done, s.adam_steps, s.rng[0], s.rng[1], s.rng[2], s.rng[3], s.data_hash, s.data_count,
           s.last_train_loss_bpd, s.last_heldout_bpd);
        for (const Param<float>* p : vae.params()) {
            write_matrix(ar, p->m);
            write_matrix(ar, p->v);
        }
    }
    return wrap_container(kCheckpointMagic, std::move(os).str());
}

Expected<Checkpoint> deserialize_checkpoint(std::string_view file_bytes) {
    auto payload = unwrap_container(kCheckpointMagic, file_bytes);
    if (!payload) return payload.error();
    return guarded("invalid checkpoint", [&]() -> Expected<Checkpoint> {
        MemoryBuf buf(*payload);
        std::istream is(&buf);
        IArchive ar(is);
        const std::string model = get_blob(ar, payload->size(), "model");
        Checkpoint ck{parse_model_payload(model), {}};
        CheckpointState& s = ck.state;
        read_train(ar, s.train, true);
        if (auto st = s.train.validate(); !st) throw FormatError(st.error().message);
        ar(s.epochs_done, s.adam_steps, s.rng[0], s.rng[1], s.rng[2], s.rng[3], s.data_hash, s.data_count,
           s.last_train_loss_bpd, s.last_heldout_bpd);
        for (Param<float>* p : ck.model.params()) {
            read_matrix(ar, p->m, p->name + " (Adam m)");
            read_matrix(ar, p->v, p->name + " (Adam v)");
            if ((p->v.array() < 0.0f).any()) throw FormatError("negative Adam second moment in " + p->name);
        }
        if (is.peek() != std::char_traits<char>::eof()) throw FormatError("unexpected bytes after the checkpoint");
        return ck;
    });
}

Expected<std::string> read_file_bytes(const std::filesystem::path& path) {
    auto bytes = files::read_file(path, kMaxFileBytes);
    if (!bytes) return bytes.error();
    try {
        return std::string(bytes->begin(), bytes->end());
    } catch (const std::bad_alloc&) {
        return make_error("not enough memory to read " + path.string());
    }
}

Status write_file_atomic(const std::filesystem::path& path, std::string_view bytes) {
    return files::write_file_atomic(path, std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()), true);
}

Status save_model(const Vae& vae, const std::filesystem::path& path) {
    return write_file_atomic(path, serialize_model(vae));
}

Expected<Vae> load_model(const std::filesystem::path& path) {
    auto bytes = read_file_bytes(path);
    if (!bytes) return bytes.error();
    auto vae = deserialize_model(*bytes);
    if (!vae) return make_error(path.string() + ": " + vae.error().message);
    return vae;
}

Status save_checkpoint(const Vae& vae, const CheckpointState& state, const std::filesystem::path& path) {
    return write_file_atomic(path, serialize_checkpoint(vae, state));
}

Expected<Checkpoint> load_checkpoint(const std::filesystem::path& path) {
    auto bytes = read_file_bytes(path);
    if (!bytes) return bytes.error();
    auto ck = deserialize_checkpoint(*bytes);
    if (!ck) return make_error(path.string() + ": " + ck.error().message);
    return ck;
}

std::string serialize_coding_model(const ModelInfo& info, const QuantizedVae& q) {
    std::ostringstream os(std::ios::binary);
    {
        OArchive ar(os, OArchive::Options::LittleEndian());
        write_config(ar, q.config());
        write_info(ar, info);
        write_qlayers(ar, q.encoder());
        write_qlayers(ar, q.decoder());
        write_qlayers(ar, q.head());
        ar(q.channel_frac());
        if (q.config().hierarchical()) {
            write_qlayers(ar, q.encoder2());
            write_qlayers(ar, q.prior1());
        }
    }
    return wrap_container(kCodingModelMagic, std::move(os).str());
}

Expected<VaeConfig> peek_coding_config(std::string_view file_prefix) {
    if (file_prefix.size() < kHeaderBytes || file_prefix.substr(0, kCodingModelMagic.size()) != kCodingModelMagic)
        return make_error("not the start of a bbans coding model file");
    if (get_le(file_prefix, 8, 4) != kFormatVersion) return make_error("unsupported model file format version");
    return guarded("invalid model file", [&]() -> Expected<VaeConfig> {
        MemoryBuf buf(file_prefix.substr(kHeaderBytes));
        std::istream is(&buf);
        IArchive ar(is);
        const VaeConfig config = read_valid_config(ar);
        return config;
    });
}

Expected<CodingModelFile> deserialize_coding_model(std::string_view file_bytes) {
    if (file_bytes.size() >= kModelMagic.size() && file_bytes.substr(0, kModelMagic.size()) == kModelMagic)
        return make_error("not a bbans coding model file (this is a float model file, which cannot code; `bbans train` writes coding model files)");
    auto payload = unwrap_container(kCodingModelMagic, file_bytes);
    if (!payload) return payload.error();
    return guarded("invalid model file", [&]() -> Expected<CodingModelFile> {
        MemoryBuf buf(*payload);
        std::istream is(&buf);
        IArchive ar(is);
        const VaeConfig config = read_valid_config(ar);
        CodingModelFile f;
        read_info(ar, f.info);
        auto enc = read_qlayers(ar, "encoder");
        auto dec = read_qlayers(ar, "decoder");
        const LikelihoodKind& kind = likelihood_kind(config);
        auto head = read_qlayers(ar, "head", !kind.has_head(config));
        std::int32_t channel_frac = 0;
        ar(channel_frac);
        std::vector<QLinear> enc2, prior1;
        if (config.hierarchical()) {
            const std::uint32_t L = config.latent, L2 = config.latent2, H2 = config.latent2_hidden;
            const std::uint32_t enc2_sizes[] = {L, H2, 2 * L2}, prior1_sizes[] = {L2, H2, 2 * L};
            enc2 = read_qlayers(ar, "encoder2", false, enc2_sizes);
            prior1 = read_qlayers(ar, "prior1", false, prior1_sizes);
        }
        if (is.peek() != std::char_traits<char>::eof()) throw FormatError("unexpected bytes after the model");
        f.quantized = QuantizedVae(config, std::move(enc), std::move(dec), std::move(head), channel_frac, std::move(enc2), std::move(prior1));
        if (auto st = f.quantized.validate(); !st) throw FormatError(st.error().message);
        f.hash = hash128(*payload);
        return f;
    });
}

}  // namespace bbans::models
