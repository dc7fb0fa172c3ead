#include "models/vae.hpp"

#include <algorithm>
#include <cmath>
#include <exception>
#include <numbers>

#include "models/likelihood_kind.hpp"
#include "models/rng.hpp"

namespace bbans::models {

// ---------------------------------------------------------------------------------------------
// Configuration checks

std::size_t VaeConfig::head_inputs() const {
    return decoder_channels() + (autoregressive ? head_context_size(image_channels) : 0);
}
std::size_t VaeConfig::decoder_channels() const { return likelihood_kind(*this).decoder_channels(*this); }

namespace {
std::uint64_t mlp_params(const std::vector<std::uint64_t>& sizes) {
    std::uint64_t n = 0;
    for (std::size_t i = 0; i + 1 < sizes.size(); ++i) n += sizes[i] * sizes[i + 1] + sizes[i + 1];
    return n;
}
constexpr std::uint64_t kMaxParams = std::uint64_t{1} << 27;  // 512 MB of float32
}  // namespace

Status VaeConfig::validate() const {
    auto bad = [](const std::string& what) { return Status(make_error("invalid model configuration: " + what)); };
    if (rows < 1 || rows > 1024 || cols < 1 || cols > 1024) return bad("image size must be 1..1024 per side");
    if (image_channels < 1 || image_channels > kMaxImageChannels) return bad("samples per pixel must be 1..4");
    if (static_cast<std::uint8_t>(colour_transform) > kMaxColourTransform) return bad("unknown colour transform");
    if (colour_transform != ColourTransform::none && image_channels < 3)
        return bad("a colour transform needs at least 3 samples per pixel");
    if (latent < 1 || latent > 4096) return bad("latent size must be 1..4096");
    if (encoder_hidden < 1 || encoder_hidden > 16384 || decoder_hidden < 1 || decoder_hidden > 16384)
        return bad("hidden widths must be 1..16384");
    if (encoder_layers > 8 || decoder_layers > 8) return bad("at most 8 hidden layers");
    if (static_cast<std::uint8_t>(likelihood) > kMaxLikelihood) return bad("unknown likelihood");
    const LikelihoodKind& kind = likelihood_kind(*this);
    if (auto st = kind.validate(*this); !st) return st;
    if (prior_precision < 1 || prior_precision > 16) return bad("prior precision must be 1..16");
    if (posterior_precision <= prior_precision || posterior_precision > 31)
        return bad("posterior precision must exceed the prior precision and be at most 31");
    const std::uint64_t d = std::uint64_t{rows} * cols * image_channels;
    std::vector<std::uint64_t> enc{d}, dec{latent};
    for (std::uint32_t i = 0; i < encoder_layers; ++i) enc.push_back(encoder_hidden);
    for (std::uint32_t i = 0; i < decoder_layers; ++i) dec.push_back(decoder_hidden);
    enc.push_back(2ULL * latent);
    dec.push_back(d * decoder_channels());
    std::uint64_t total = mlp_params(enc) + mlp_params(dec);
    if (head_per_channel && image_channels < 2)
        return bad("per-channel heads need at least 2 samples per pixel (a grey model has one head)");
    if (kind.has_head(*this)) {
        std::vector<std::uint64_t> head{head_inputs()};
        for (std::uint32_t i = 0; i < head_layers; ++i) head.push_back(head_hidden);
        head.push_back(kind.head_outputs(*this));
        total += heads() * (mlp_params(head) + (head_skip ? head_inputs() * kind.head_outputs(*this) : 0));
    } else if (head_skip) {
        return bad("a head skip needs a head (the " + std::string(kind.name()) + " likelihood has none)");
    } else if (head_per_channel) {
        return bad("per-channel heads need a head (the " + std::string(kind.name()) + " likelihood has none)");
    }
    if (latent2 > 4096) return bad("second latent size must be 0..4096");
    if (latent2 > 0) {
        if (latent2_hidden < 1 || latent2_hidden > 16384) return bad("second latent hidden width must be 1..16384");
        total += mlp_params({latent, latent2_hidden, 2ULL * latent2}) + mlp_params({latent2, latent2_hidden, 2ULL * latent});
    }
    if (total > kMaxParams) return bad("too many parameters");
    return Ok{};
}

Status TrainConfig::validate() const {
    auto bad = [](const std::string& what) { return Status(make_error("invalid training configuration: " + what)); };
    if (epochs < 1) return bad("epochs must be at least 1");
    if (batch_size < 1 || batch_size > 65536) return bad("batch size must be 1..65536");
    if (shards < 1 || shards > 256) return bad("shards must be 1..256");
    if (threads < 1 || threads > 256) return bad("threads must be 1..256");
    if (!(learning_rate > 0.0) || !std::isfinite(learning_rate)) return bad("learning rate must be positive");
    if (!(final_lr_fraction > 0.0) || final_lr_fraction > 1.0) return bad("final lr fraction must be in (0, 1]");
    if (schedule != LrSchedule::constant && schedule != LrSchedule::cosine && schedule != LrSchedule::exponential)
        return bad("unknown learning-rate schedule");
    if (!(beta1 >= 0.0 && beta1 < 1.0) || !(beta2 >= 0.0 && beta2 < 1.0)) return bad("Adam betas must be in [0, 1)");
    if (!(adam_epsilon > 0.0)) return bad("Adam epsilon must be positive");
    if (!(weight_decay >= 0.0) || !std::isfinite(weight_decay)) return bad("weight decay must be >= 0");
    if (!(clip_norm >= 0.0) || !std::isfinite(clip_norm)) return bad("clip norm must be >= 0");
    if (eval_samples < 1 || eval_samples > 1024) return bad("eval samples must be 1..1024");
    if (!(free_bits >= 0.0) || free_bits > 64.0) return bad("free bits must be 0..64 per latent dimension");
    if (shift > 16) return bad("shift must be 0..16 pixels");
    return Ok{};
}

// ---------------------------------------------------------------------------------------------
// The model

template <class T>
struct BasicVae<T>::Workspace {
    std::vector<std::uint8_t> frames;  // n frames, when the input is unframed (margins 0)
    std::vector<std::uint8_t> tiles;   // D*S x n bytes, when the input is framed
    Mat<T> x;          // D*S x n, samples / 255
    Mat<T> enc_out;    // 2L x n
    Mat<T> mean;       // L x n
    Mat<T> log_scale;  // L x n (clamped)
    Mat<T> eps;        // L x n
    Mat<T> z;          // L x n
    Mat<T> dec_out;    // D*S*C x n (C = decoder_channels())
    Mat<T> head_in;    // F x D*S*n, F = C (+ context)
    Mat<T> head_out;   // P x D*S*n: every sample's likelihood parameters (the head's outputs, or C = P channels)
    // head_per_channel: head s's inputs (F x D*n), outputs and their gradients (P x D*n), the
    // columns q with q % S == s of head_in, head_out and d_head_out.
    Mat<T> group_in, group_out, group_d_out;
    typename Mlp<T>::Tape enc_tape, dec_tape;
    std::vector<typename Mlp<T>::Tape> head_tapes;  // one per head
    LikelihoodScratch<T> lik;
    std::vector<T> logp;  // D*n: log p of every sample
    std::vector<T> kl;    // n
    Mat<T> d_head_out, d_head_in, d_dec_out, dz, g_mean, g_log_scale, d_enc_out;
    // The second latent layer (hierarchical models).
    Mat<T> enc2_out, mean2, log_scale2, eps2, z2, prior_out, pmean, plog_scale, u, term1;  // term1: z1's L x n terms
    std::vector<T> kl2;  // n: KL(q(z2|z1) || N(0, I))
    Mat<T> g_mean2, g_log_scale2, d_enc2_out, d_prior_out, dz2, dz1, dz1_enc2;
    typename Mlp<T>::Tape enc2_tape, prior_tape;
    std::vector<Mat<T>> grads;  // parallel to params()
};

template <class T>
BasicVae<T>::BasicVae(const BasicVae& o)
    : config_(o.config_), info_(o.info_), encoder_(o.encoder_), decoder_(o.decoder_), encoder2_(o.encoder2_), prior1_(o.prior1_),
      heads_(o.heads_) {}

template <class T>
BasicVae<T>& BasicVae<T>::operator=(const BasicVae& o) {
    if (this != &o) {
        config_ = o.config_;
        info_ = o.info_;
        encoder_ = o.encoder_;
        decoder_ = o.decoder_;
        heads_ = o.heads_;
        encoder2_ = o.encoder2_;
        prior1_ = o.prior1_;
        scratch_.clear();
        shard_grads_.clear();
    }
    return *this;
}

template <class T>
BasicVae<T>::BasicVae(BasicVae&&) noexcept = default;
template <class T>
BasicVae<T>& BasicVae<T>::operator=(BasicVae&&) noexcept = default;
template <class T>
BasicVae<T>::~BasicVae() = default;

template <class T>
void BasicVae<T>::build() {
    const auto d = static_cast<Index>(config_.samples());
    std::vector<Index> enc{d}, dec{static_cast<Index>(config_.latent)};
    for (std::uint32_t i = 0; i < config_.encoder_layers; ++i) enc.push_back(config_.encoder_hidden);
    for (std::uint32_t i = 0; i < config_.decoder_layers; ++i) dec.push_back(config_.decoder_hidden);
    enc.push_back(2 * static_cast<Index>(config_.latent));
    dec.push_back(d * static_cast<Index>(config_.decoder_channels()));
    encoder_ = Mlp<T>("encoder", enc);
    decoder_ = Mlp<T>("decoder", dec);
    const LikelihoodKind& kind = likelihood_kind(config_);
    if (kind.has_head(config_)) {
        std::vector<Index> head{static_cast<Index>(config_.head_inputs())};
        for (std::uint32_t i = 0; i < config_.head_layers; ++i) head.push_back(config_.head_hidden);
        head.push_back(static_cast<Index>(kind.head_outputs(config_)));
        heads_.clear();
        for (std::size_t h = 0; h < config_.heads(); ++h)
            heads_.emplace_back(config_.head_per_channel ? "head" + std::to_string(h) : std::string("head"), head, config_.head_skip);
    } else {
        heads_.assign(1, Mlp<T>());
    }
    if (config_.hierarchical()) {
        const auto L = static_cast<Index>(config_.latent), L2 = static_cast<Index>(config_.latent2);
        const auto H2 = static_cast<Index>(config_.latent2_hidden);
        encoder2_ = Mlp<T>("encoder2", {L, H2, 2 * L2});
        prior1_ = Mlp<T>("prior1", {L2, H2, 2 * L});
    } else {
        encoder2_ = Mlp<T>();
        prior1_ = Mlp<T>();
    }
}

template <class T>
Expected<BasicVae<T>> BasicVae<T>::make(const VaeConfig& config, std::uint64_t seed) {
    if (auto st = config.validate(); !st) return st.error();
    BasicVae vae;
    vae.config_ = config;
    vae.build();
    Rng rng(mix_seed(seed, 1));
    vae.encoder_.init(rng, 1.0);
    vae.decoder_.init(rng, 1.0);
    if (const LikelihoodKind& kind = likelihood_kind(config); kind.has_head(config)) {
        // Head 0, then head 1, ...: each drawn on its own, one after another.
        for (Mlp<T>& head : vae.heads_) {
            head.init(rng, 1.0);
            kind.init_head_bias(config, head.layers().back().bias.value);
        }
    }
    if (config.hierarchical()) {
        // Drawn after every single-layer weight, so those do not depend on latent2. A small last
        // layer starts q(z2|z1) and p(z1|z2) near N(0, I): the model starts as a one-layer one.
        vae.encoder2_.init(rng, 0.1);
        vae.prior1_.init(rng, 0.1);
    }
    return vae;
}

namespace {
// The weight and bias of every layer of the encoder, the decoder, each head in turn, encoder2
// and prior1 (params(), const or not).
template <class Mlps, class Out>
void collect_params(Mlps& encoder, Mlps& decoder, std::span<Mlps> heads, Mlps& encoder2, Mlps& prior1, Out& out) {
    const auto add = [&out](Mlps& m) {
        for (auto& l : m.layers()) {
            out.push_back(&l.weight);
            out.push_back(&l.bias);
        }
    };
    add(encoder);
    add(decoder);
    for (Mlps& head : heads) add(head);
    add(encoder2);
    add(prior1);
}
}  // namespace

template <class T>
std::vector<Param<T>*> BasicVae<T>::params() {
    std::vector<Param<T>*> out;
    collect_params(encoder_, decoder_, std::span<Mlp<T>>(heads_), encoder2_, prior1_, out);
    return out;
}

template <class T>
std::vector<const Param<T>*> BasicVae<T>::params() const {
    std::vector<const Param<T>*> out;
    collect_params(encoder_, decoder_, std::span<const Mlp<T>>(heads_), encoder2_, prior1_, out);
    return out;
}

template <class T>
std::size_t BasicVae<T>::parameter_count() const {
    std::size_t n = 0;
    for (const Param<T>* p : params()) n += static_cast<std::size_t>(p->size());
    return n;
}

namespace {
template <class T>
using Arr = Eigen::Array<T, Eigen::Dynamic, Eigen::Dynamic>;

// A Gaussian from an MLP's 2L x n outputs: rows [0, L) the means, rows [L, 2L) the log-scales
// clamped to the integer codec's range.
template <class T>
void split_gaussian(const Mat<T>& out, Index L, Mat<T>& mean, Mat<T>& log_scale) {
    mean = out.topRows(L);
    log_scale = out.bottomRows(L).cwiseMax(T(kMinPosteriorLogScale)).cwiseMin(T(kMaxPosteriorLogScale));
}
// Its backward: d out from d mean and d log-scale; a clamped log-scale passes no gradient.
template <class T>
void split_gaussian_backward(const Mat<T>& out, const Mat<T>& g_mean, const Mat<T>& g_log_scale, Mat<T>& d_out) {
    const Index L = g_mean.rows();
    const auto raw = out.bottomRows(L).array();
    d_out.resize(2 * L, out.cols());
    d_out.topRows(L) = g_mean;
    d_out.bottomRows(L) =
        (raw > T(kMinPosteriorLogScale) && raw < T(kMaxPosteriorLogScale)).select(g_log_scale.array(), T(0)).matrix();
}

// Columns g, g + G, g + 2G, ... of the rows x n matrix at data (n a multiple of G): the samples
// of channel g, in the batch layout of run_shard, as a rows x n/G matrix.
template <class T>
Eigen::Map<Mat<T>, 0, Eigen::OuterStride<>> head_columns(T* data, Index rows, Index n, Index g, Index G) {
    return {data + g * rows, rows, n / G, Eigen::OuterStride<>(rows * G)};
}
}  // namespace

template <class T>
void BasicVae<T>::latent2_forward(Workspace& ws, const T* eps, Index n) const {
    const auto L = static_cast<Index>(config_.latent), L2 = static_cast<Index>(config_.latent2);
    encoder2_.forward(ws.z, ws.enc2_tape, ws.enc2_out);
    split_gaussian(ws.enc2_out, L2, ws.mean2, ws.log_scale2);
    ws.eps2 = Eigen::Map<const Mat<T>>(eps, L + L2, n).bottomRows(L2);
    reparameterize(ws.mean2, ws.log_scale2, ws.eps2, ws.z2);
    prior1_.forward(ws.z2, ws.prior_tape, ws.prior_out);
    split_gaussian(ws.prior_out, L, ws.pmean, ws.plog_scale);
    // z1's terms, log q(z1|x) - log p(z1|z2) per dimension (the log 2 pi terms cancel; at the
    // reparameterized z1, (z1 - mean) / scale = eps1).
    ws.u = ((ws.z - ws.pmean).array() * (-ws.plog_scale.array()).exp()).matrix();
    ws.term1 = (T(0.5) * (ws.u.array().square() - ws.eps.array().square()) + ws.plog_scale.array() - ws.log_scale.array()).matrix();
    ws.kl2.resize(static_cast<std::size_t>(n));
    gaussian_kl(ws.mean2, ws.log_scale2, ws.kl2.data(), nullptr, nullptr);
    for (Index i = 0; i < n; ++i) ws.kl[static_cast<std::size_t>(i)] = ws.term1.col(i).sum() + ws.kl2[static_cast<std::size_t>(i)];
}

template <class T>
void BasicVae<T>::latent2_backward(Workspace& ws, T weight, double free_nats, Mat<T>* g_enc2, Mat<T>* g_prior1) const {
    const auto L = static_cast<Index>(config_.latent), n = ws.z.cols();
    // z1's term of dimension j: d/dz1 = u / pscale, d/dpmean = -u / pscale, d/dplog_scale = 1 - u^2,
    // and d/dlog_scale1 = -1 directly (eps1 is fixed). Free bits: a term below the floor passes none.
    Arr<T> f = Arr<T>::Constant(L, n, weight);
    if (free_nats > 0.0) f = (ws.term1.array() < static_cast<T>(free_nats)).select(T(0), f);
    ws.dz1 = (f * ws.u.array() * (-ws.plog_scale.array()).exp()).matrix();
    split_gaussian_backward(ws.prior_out, Mat<T>(-ws.dz1), Mat<T>((f * (T(1) - ws.u.array().square())).matrix()), ws.d_prior_out);
    prior1_.backward(ws.prior_tape, ws.d_prior_out, g_prior1, &ws.dz2);
    // z2's analytic KL (gaussian_kl), free bits per dimension as for one latent layer, then the
    // reparameterization of z2 and encoder2 back to z1.
    gaussian_kl(ws.mean2, ws.log_scale2, nullptr, &ws.g_mean2, &ws.g_log_scale2);
    if (free_nats > 0.0) {
        const Arr<T> kl_j = T(0.5) * (ws.mean2.array().square() + (T(2) * ws.log_scale2.array()).exp() - T(1)) - ws.log_scale2.array();
        ws.g_mean2 = (kl_j < static_cast<T>(free_nats)).select(T(0), ws.g_mean2.array()).matrix();
        ws.g_log_scale2 = (kl_j < static_cast<T>(free_nats)).select(T(0), ws.g_log_scale2.array()).matrix();
    }
    ws.g_mean2 *= weight;
    ws.g_log_scale2 *= weight;
    reparameterize_backward(ws.log_scale2, ws.eps2, ws.dz2, ws.g_mean2, ws.g_log_scale2);
    split_gaussian_backward(ws.enc2_out, ws.g_mean2, ws.g_log_scale2, ws.d_enc2_out);
    encoder2_.backward(ws.enc2_tape, ws.d_enc2_out, g_enc2, &ws.dz1_enc2);
    ws.dz += ws.dz1 + ws.dz1_enc2;
    // z1's posterior: no analytic KL; its term's direct gradient w.r.t. the log-scale.
    ws.g_mean.setZero(L, n);
    ws.g_log_scale = (-f).matrix();
}

template <class T>
void BasicVae<T>::run_shard(Workspace& ws, const std::uint8_t* input, Index n, bool framed, const T* eps, bool grads,
                            T scale, KlControl klc, double* recon, double* kl, double* kl2) const {
    const auto D = static_cast<Index>(config_.samples());  // samples per tile, D*S
    const auto L = static_cast<Index>(config_.latent);
    const auto L2 = static_cast<Index>(config_.latent2);
    const bool hier = config_.hierarchical();
    const Frame fr{config_.rows, config_.cols, config_.image_channels};
    const std::size_t row_bytes = std::size_t{config_.cols} * config_.image_channels;
    // Both layouts: `images` the tiles (D*S bytes each), `frames` their frames.
    const std::uint8_t* images = input;
    const std::uint8_t* frames = input;
    if (framed) {
        ws.tiles.resize(static_cast<std::size_t>(n * D));
        for (Index i = 0; i < n; ++i)
            for (std::size_t r = 0; r < config_.rows; ++r)
                std::copy_n(input + static_cast<std::size_t>(i) * fr.size() + fr.at(r, 0), row_bytes,
                            ws.tiles.data() + static_cast<std::size_t>(i * D) + r * row_bytes);
        images = ws.tiles.data();
    } else if (likelihood_kind(config_).reads_context(config_)) {
        ws.frames.assign(static_cast<std::size_t>(n) * fr.size(), 0);
        for (Index i = 0; i < n; ++i)
            for (std::size_t r = 0; r < config_.rows; ++r)
                std::copy_n(input + static_cast<std::size_t>(i * D) + r * row_bytes, row_bytes,
                            ws.frames.data() + static_cast<std::size_t>(i) * fr.size() + fr.at(r, 0));
        frames = ws.frames.data();
    }
    const std::size_t head_depth = heads_.front().depth();  // every head's (one shape)
    const auto G = static_cast<Index>(heads_.size());
    if (grads) ws.grads.resize(2 * (encoder_.depth() + decoder_.depth() + heads_.size() * head_depth + encoder2_.depth() + prior1_.depth()));
    Mat<T>* g_enc = ws.grads.data();
    Mat<T>* g_dec = g_enc + 2 * encoder_.depth();
    Mat<T>* g_head = g_dec + 2 * decoder_.depth();  // head g's at g_head + 2 * head_depth * g
    Mat<T>* g_enc2 = g_head + 2 * heads_.size() * head_depth;
    Mat<T>* g_prior1 = g_enc2 + 2 * encoder2_.depth();

    // Encoder and posterior.
    ws.x = Eigen::Map<const Eigen::Matrix<std::uint8_t, Eigen::Dynamic, Eigen::Dynamic>>(images, D, n).template cast<T>() /
           T(255);
    encoder_.forward(ws.x, ws.enc_tape, ws.enc_out);
    split_gaussian(ws.enc_out, L, ws.mean, ws.log_scale);
    ws.eps = Eigen::Map<const Mat<T>>(eps, L + L2, n).topRows(L);
    reparameterize(ws.mean, ws.log_scale, ws.eps, ws.z);
    ws.kl.resize(static_cast<std::size_t>(n));
    if (hier) latent2_forward(ws, eps, n);
    else gaussian_kl(ws.mean, ws.log_scale, ws.kl.data(), grads ? &ws.g_mean : nullptr, grads ? &ws.g_log_scale : nullptr);

    // Decoder, then every sample's likelihood parameters: the head's outputs from the sample's C
    // decoder channels (and its context), or the C channels themselves for a kind without a head.
    decoder_.forward(ws.z, ws.dec_tape, ws.dec_out);
    const LikelihoodKind& kind = likelihood_kind(config_);
    const auto C = static_cast<Index>(config_.decoder_channels());
    const Index N = D * n;
    // dec_out (D*C x n, sample-major per column) is, in memory, the C x (D*n) matrix whose
    // column i*D + q holds the channels of sample q of image i.
    const Eigen::Map<const Mat<T>> channels(ws.dec_out.data(), C, N);
    const bool head = kind.has_head(config_);
    if (head) {
        const auto F = static_cast<Index>(config_.head_inputs());
        ws.head_in.resize(F, N);
        ws.head_in.topRows(C) = channels;
        if (kind.reads_context(config_)) {
            const std::size_t S = config_.image_channels;
            for (Index i = 0; i < n; ++i) {
                const std::uint8_t* f = frames + static_cast<std::size_t>(i) * fr.size();
                for (std::size_t r = 0; r < config_.rows; ++r)
                    for (std::size_t c = 0; c < config_.cols; ++c)
                        for (std::size_t s = 0; s < S; ++s) {
                            const Index col = i * D + static_cast<Index>((r * config_.cols + c) * S + s);
                            frame_context(fr, f + fr.at(r, c) + s, s, T(255), ws.head_in.col(col).data() + C);
                        }
            }
        }
        ws.head_tapes.resize(heads_.size());
        if (G == 1) {
            heads_[0].forward(ws.head_in, ws.head_tapes[0], ws.head_out);
        } else {
            // head_per_channel: head s on the samples of channel s, the columns i*D + p*S + s
            // (D is a multiple of S): columns s, s + S, s + 2S, ...
            const auto P = static_cast<Index>(kind.head_outputs(config_));
            ws.head_out.resize(P, N);
            for (Index g = 0; g < G; ++g) {
                ws.group_in = head_columns(ws.head_in.data(), F, N, g, G);
                heads_[static_cast<std::size_t>(g)].forward(ws.group_in, ws.head_tapes[static_cast<std::size_t>(g)], ws.group_out);
                head_columns(ws.head_out.data(), P, N, g, G) = ws.group_out;
            }
        }
    } else {
        ws.head_out = channels;
    }
    ws.logp.resize(static_cast<std::size_t>(N));
    kind.log_prob(config_, ws.head_out, images, ws.logp.data(), grads ? &ws.d_head_out : nullptr, -scale, ws.lik);
    for (Index i = 0; i < n; ++i) {
        double s = 0.0;
        for (Index p = 0; p < D; ++p) s += static_cast<double>(ws.logp[static_cast<std::size_t>(i * D + p)]);
        recon[i] = -s;
    }
    if (grads) {
        ws.d_dec_out.resize(D * C, n);
        if (head) {
            // Only the decoder channels (the first C inputs) need a gradient; the context is data.
            if (G == 1) {
                heads_[0].backward(ws.head_tapes[0], ws.d_head_out, g_head, &ws.d_head_in, C);
                Eigen::Map<Mat<T>>(ws.d_dec_out.data(), C, N) = ws.d_head_in;
            } else {
                for (Index g = 0; g < G; ++g) {
                    const auto h = static_cast<std::size_t>(g);
                    ws.group_d_out = head_columns(ws.d_head_out.data(), ws.d_head_out.rows(), N, g, G);
                    heads_[h].backward(ws.head_tapes[h], ws.group_d_out, g_head + 2 * head_depth * h, &ws.d_head_in, C);
                    head_columns(ws.d_dec_out.data(), C, N, g, G) = ws.d_head_in;
                }
            }
        } else {
            Eigen::Map<Mat<T>>(ws.d_dec_out.data(), C, N) = ws.d_head_out;
        }
    }
    for (Index i = 0; i < n; ++i) {
        kl[i] = static_cast<double>(ws.kl[static_cast<std::size_t>(i)]);
        kl2[i] = hier ? static_cast<double>(ws.kl2[static_cast<std::size_t>(i)]) : 0.0;
    }
    if (!grads) return;

    decoder_.backward(ws.dec_tape, ws.d_dec_out, g_dec, &ws.dz);
    if (hier) {
        latent2_backward(ws, scale * static_cast<T>(klc.weight), klc.free_nats, g_enc2, g_prior1);
        reparameterize_backward(ws.log_scale, ws.eps, ws.dz, ws.g_mean, ws.g_log_scale);
        split_gaussian_backward(ws.enc_out, ws.g_mean, ws.g_log_scale, ws.d_enc_out);
        encoder_.backward(ws.enc_tape, ws.d_enc_out, g_enc, nullptr);
        return;
    }
    // KL terms: d KL_ji / d mean_ji = mean_ji, d KL_ji / d log_scale_ji = var_ji - 1 (gaussian_kl),
    // where KL_ji = (mean^2 + var - 1) / 2 - log_scale is dimension j's KL for image i (nats).
    if (klc.free_nats > 0.0) {
        const T floor = static_cast<T>(klc.free_nats);
        for (Index i = 0; i < n; ++i)
            for (Index j = 0; j < L; ++j) {
                const T m = ws.mean(j, i), ls = ws.log_scale(j, i);
                const T kl_ji = T(0.5) * (m * m + std::exp(T(2) * ls) - T(1)) - ls;
                if (kl_ji < floor) ws.g_mean(j, i) = T(0), ws.g_log_scale(j, i) = T(0);
            }
    }
    ws.g_mean *= scale * static_cast<T>(klc.weight);
    ws.g_log_scale *= scale * static_cast<T>(klc.weight);
    reparameterize_backward(ws.log_scale, ws.eps, ws.dz, ws.g_mean, ws.g_log_scale);
    split_gaussian_backward(ws.enc_out, ws.g_mean, ws.g_log_scale, ws.d_enc_out);
    encoder_.backward(ws.enc_tape, ws.d_enc_out, g_enc, nullptr);
}

template <class T>
LossParts BasicVae<T>::run_batch(const std::uint8_t* batch, Index n, const Mat<T>& eps, Parallelism par, bool grads,
                                 std::vector<std::unique_ptr<Workspace>>& pool, bool framed, KlControl klc) const {
    const auto D = static_cast<Index>(config_.samples());
    const auto stride = static_cast<Index>(framed ? Frame{config_.rows, config_.cols, config_.image_channels}.size()
                                                  : config_.samples());
    const auto E = static_cast<Index>(config_.latent + config_.latent2);  // noise rows per image
    if (n < 1) return {};
    if (eps.rows() != E || eps.cols() != n) throw std::invalid_argument("eps must be (latent + latent2) x batch");
    const auto shards = static_cast<unsigned>(std::min<Index>(std::max(1U, par.shards), n));
    if (pool.size() < shards) pool.resize(shards);
    for (auto& w : pool)
        if (!w) w = std::make_unique<Workspace>();
    const T scale = T(1.0 / (static_cast<double>(n) * static_cast<double>(D) * std::numbers::ln2));
    std::vector<double> recon(static_cast<std::size_t>(n)), kl(static_cast<std::size_t>(n)), kl2(static_cast<std::size_t>(n));
    const bool shared = par.exchange != nullptr && par.exchange->ranks() > 1;
    const ShardRange mine = shared ? shards_of_rank(shards, par.exchange->rank(), par.exchange->ranks()) : ShardRange{0, shards};
    for_each_shard(mine.end - mine.begin, par.threads, [&](unsigned k) {
        const unsigned s = mine.begin + k;
        const Index i0 = n * s / shards, i1 = n * (s + 1) / shards;
        run_shard(*pool[s], batch + i0 * stride, i1 - i0, framed, eps.data() + i0 * E, grads, scale, klc, recon.data() + i0,
                  kl.data() + i0, kl2.data() + i0);
    });
    if (shared) {
        // Every rank's images (contiguous runs, in rank order) to every rank, then summed below
        // in image order as by one process.
        std::vector<std::size_t> counts(par.exchange->ranks());
        for (unsigned r = 0; r < par.exchange->ranks(); ++r) {
            const ShardRange theirs = shards_of_rank(shards, r, par.exchange->ranks());
            counts[r] = static_cast<std::size_t>(n * theirs.end / shards - n * theirs.begin / shards);
        }
        par.exchange->all_gather(std::span<double>(recon), counts);
        par.exchange->all_gather(std::span<double>(kl), counts);
        if (config_.hierarchical()) par.exchange->all_gather(std::span<double>(kl2), counts);
    }
    double r = 0.0, k = 0.0, k2 = 0.0;
    for (Index i = 0; i < n; ++i) {
        r += recon[static_cast<std::size_t>(i)];
        k += kl[static_cast<std::size_t>(i)];
        k2 += kl2[static_cast<std::size_t>(i)];
    }
    const double to_bpd = 1.0 / (static_cast<double>(n) * static_cast<double>(D) * std::numbers::ln2);
    return {(r + k) * to_bpd, r * to_bpd, k * to_bpd, (k - k2) * to_bpd, k2 * to_bpd};
}

template <class T>
LossParts BasicVae<T>::loss_and_grad(const std::uint8_t* batch, Index n, const Mat<T>& eps, Parallelism par, bool framed,
                                     KlControl kl) {
    const LossParts out = run_batch(batch, n, eps, par, true, scratch_, framed, kl);
    const auto ps = params();
    const auto shards = static_cast<std::size_t>(std::min<Index>(std::max(1U, par.shards), n));
    std::vector<Index> sizes;
    for (Param<T>* p : ps) {
        p->grad.resize(p->value.rows(), p->value.cols());
        sizes.push_back(p->value.size());
    }
    // Sum the shards' gradients in shard order, element by element: the same bits whatever the
    // thread count (the chunks only decide who does the work).
    const std::vector<TensorChunk> chunks = tensor_chunks(sizes);
    const bool shared = par.exchange != nullptr && par.exchange->ranks() > 1;
    if (!shared) {
        for_each_shard(static_cast<unsigned>(chunks.size()), par.threads, [&](unsigned c) {
            const TensorChunk& ch = chunks[c];
            Eigen::Map<Vec<T>> dst(ps[ch.tensor]->grad.data() + ch.offset, ch.size);
            dst = Eigen::Map<const Vec<T>>(scratch_[0]->grads[ch.tensor].data() + ch.offset, ch.size);
            for (std::size_t s = 1; s < shards; ++s)
                dst += Eigen::Map<const Vec<T>>(scratch_[s]->grads[ch.tensor].data() + ch.offset, ch.size);
        });
        return out;
    }
    // Several ranks: this rank's shards' gradients go into shard_grads_ (shard s at s * P, the
    // tensors in params() order), the exchange fills in the other ranks' shards, and the sum is
    // the same one as above, read from shard_grads_.
    std::vector<std::size_t> offsets(ps.size() + 1, 0);
    for (std::size_t t = 0; t < ps.size(); ++t) offsets[t + 1] = offsets[t] + static_cast<std::size_t>(sizes[t]);
    const std::size_t P = offsets.back();
    shard_grads_.resize(shards * P);
    const unsigned ranks = par.exchange->ranks();
    const ShardRange mine = shards_of_rank(static_cast<unsigned>(shards), par.exchange->rank(), ranks);
    for_each_shard(mine.end - mine.begin, par.threads, [&](unsigned k) {
        const std::size_t s = mine.begin + k;
        for (std::size_t t = 0; t < ps.size(); ++t)
            std::copy_n(scratch_[s]->grads[t].data(), sizes[t], shard_grads_.data() + s * P + offsets[t]);
    });
    std::vector<std::size_t> counts(ranks);
    for (unsigned r = 0; r < ranks; ++r) {
        const ShardRange theirs = shards_of_rank(static_cast<unsigned>(shards), r, ranks);
        counts[r] = (theirs.end - theirs.begin) * P;
    }
    par.exchange->all_gather(std::span<T>(shard_grads_), counts);
    for_each_shard(static_cast<unsigned>(chunks.size()), par.threads, [&](unsigned c) {
        const TensorChunk& ch = chunks[c];
        const std::size_t at = offsets[ch.tensor] + static_cast<std::size_t>(ch.offset);
        Eigen::Map<Vec<T>> dst(ps[ch.tensor]->grad.data() + ch.offset, ch.size);
        dst = Eigen::Map<const Vec<T>>(shard_grads_.data() + at, ch.size);
        for (std::size_t s = 1; s < shards; ++s) dst += Eigen::Map<const Vec<T>>(shard_grads_.data() + s * P + at, ch.size);
    });
    return out;
}

template <class T>
LossParts BasicVae<T>::loss(const std::uint8_t* batch, Index n, const Mat<T>& eps, Parallelism par, bool framed) const {
    std::vector<std::unique_ptr<Workspace>> pool;
    return run_batch(batch, n, eps, par, false, pool, framed);
}

template <class T>
EvalResult BasicVae<T>::evaluate(const ImageSet& images, std::uint32_t samples, std::uint64_t seed,
                                 Parallelism par) const {
    EvalResult res;
    res.images = images.count;
    res.samples = std::max(1U, samples);
    if (images.count == 0) return res;
    const auto E = static_cast<Index>(config_.latent + config_.latent2);  // noise per image
    const double D = static_cast<double>(config_.samples());
    constexpr Index kBatch = 256;
    Rng rng(seed);
    std::vector<std::unique_ptr<Workspace>> pool;
    double recon_sum = 0.0, kl_sum = 0.0, kl2_sum = 0.0;
    Mat<T> eps;
    for (std::size_t b0 = 0; b0 < images.count; b0 += kBatch) {
        const Index n = std::min<Index>(kBatch, static_cast<Index>(images.count - b0));
        for (std::uint32_t s = 0; s < res.samples; ++s) {
            eps.resize(E, n);
            for (Index j = 0; j < n; ++j)
                for (Index i = 0; i < E; ++i) eps(i, j) = static_cast<T>(rng.normal());
            const LossParts lp = run_batch(images.image(b0), n, eps, par, false, pool, images.framed);
            const double to_nats = static_cast<double>(n) * D * std::numbers::ln2;
            recon_sum += lp.recon_bpd * to_nats / res.samples;
            // One layer: the KL is analytic, the same for every sample. Two: both latent terms
            // depend on the sample, and are averaged like the likelihood.
            if (config_.hierarchical()) {
                kl_sum += lp.kl_bpd * to_nats / res.samples;
                kl2_sum += lp.kl2_bpd * to_nats / res.samples;
            } else if (s == 0) {
                kl_sum += lp.kl_bpd * to_nats;
            }
        }
    }
    const double denom = static_cast<double>(images.count) * D * std::numbers::ln2;
    res.recon_bpd = recon_sum / denom;
    res.kl_bpd = kl_sum / denom;
    res.kl2_bpd = kl2_sum / denom;
    res.kl1_bpd = (kl_sum - kl2_sum) / denom;
    res.neg_elbo_bpd = res.recon_bpd + res.kl_bpd;
    return res;
}

// ---------------------------------------------------------------------------------------------
// Inference API

template <class T>
Posterior<T> BasicVae<T>::posterior(std::span<const std::uint8_t> image) const {
    const auto D = static_cast<Index>(config_.samples());
    const auto L = static_cast<Index>(config_.latent);
    if (static_cast<Index>(image.size()) != D) throw std::invalid_argument("posterior: wrong image size");
    Mat<T> x(D, 1), out;
    for (Index p = 0; p < D; ++p) x(p, 0) = static_cast<T>(image[static_cast<std::size_t>(p)]) / T(255);
    encoder_.infer(x, out);
    Posterior<T> post;
    post.mean.resize(static_cast<std::size_t>(L));
    post.log_scale.resize(static_cast<std::size_t>(L));
    for (Index i = 0; i < L; ++i) {
        post.mean[static_cast<std::size_t>(i)] = out(i, 0);
        post.log_scale[static_cast<std::size_t>(i)] =
            std::clamp(out(L + i, 0), T(kMinPosteriorLogScale), T(kMaxPosteriorLogScale));
    }
    return post;
}

namespace {
// A Gaussian over n_out latent dims from an MLP on one latent vector (posterior2, prior1).
template <class T>
Posterior<T> latent_gaussian(const Mlp<T>& mlp, std::span<const T> z, Index n_out) {
    Mat<T> in = Eigen::Map<const Mat<T>>(z.data(), static_cast<Index>(z.size()), 1), out, mean, log_scale;
    mlp.infer(in, out);
    split_gaussian(out, n_out, mean, log_scale);
    return {std::vector<T>(mean.data(), mean.data() + n_out), std::vector<T>(log_scale.data(), log_scale.data() + n_out)};
}
}  // namespace

template <class T>
Posterior<T> BasicVae<T>::posterior2(std::span<const T> z1) const {
    if (!config_.hierarchical() || z1.size() != config_.latent) throw std::invalid_argument("posterior2: not hierarchical, or not L values");
    return latent_gaussian(encoder2_, z1, static_cast<Index>(config_.latent2));
}

template <class T>
Posterior<T> BasicVae<T>::prior1(std::span<const T> z2) const {
    if (!config_.hierarchical() || z2.size() != config_.latent2) throw std::invalid_argument("prior1: not hierarchical, or not L2 values");
    return latent_gaussian(prior1_, z2, static_cast<Index>(config_.latent));
}

template <class T>
std::vector<T> BasicVae<T>::decoder_channels(std::span<const T> z) const {
    const auto L = static_cast<Index>(config_.latent);
    if (static_cast<Index>(z.size()) != L) throw std::invalid_argument("decoder_channels: wrong latent size");
    Mat<T> zm = Eigen::Map<const Mat<T>>(z.data(), L, 1), out;
    decoder_.infer(zm, out);
    return std::vector<T>(out.data(), out.data() + out.size());
}

template <class T>
PixelMixture<T> BasicVae<T>::pixel_params(std::span<const T> channels, std::span<const T> neighbours, std::size_t s) const {
    if (config_.likelihood != Likelihood::logistic_mixture) throw std::logic_error("pixel_params: not a mixture model");  // PixelMixture is the mixture's
    const auto C = static_cast<Index>(config_.channels);
    const auto K = static_cast<std::size_t>(config_.components);
    if (static_cast<Index>(channels.size()) != C) throw std::invalid_argument("pixel_params: wrong channel count");
    if (s >= config_.image_channels) throw std::invalid_argument("pixel_params: no such channel");
    Mat<T> f(static_cast<Index>(config_.head_inputs()), 1), raw;
    for (Index i = 0; i < C; ++i) f(i, 0) = channels[static_cast<std::size_t>(i)];
    if (config_.autoregressive) {
        const std::size_t n = head_context_size(config_.image_channels);
        if (neighbours.size() != n) throw std::invalid_argument("pixel_params: wrong context size");
        for (std::size_t k = 0; k < n; ++k) f(C + static_cast<Index>(k), 0) = neighbours[k];
    }
    head(s).infer(f, raw);
    PixelMixture<T> px;
    px.logits.resize(K);
    px.means.resize(K);
    px.log_scales.resize(K);
    for (std::size_t k = 0; k < K; ++k) {
        const auto i = static_cast<Index>(k);
        const auto ki = static_cast<Index>(K);
        px.logits[k] = raw(i, 0);
        px.means[k] = T(kMeanScale) * raw(ki + i, 0);
        px.log_scales[k] = std::clamp(raw(2 * ki + i, 0), T(kMinLogScale), T(kMaxLogScale));
    }
    return px;
}

template <class T>
double BasicVae<T>::log_likelihood(std::span<const std::uint8_t> image, std::span<const T> z) const {
    const std::size_t D = config_.samples();
    if (image.size() != D) throw std::invalid_argument("log_likelihood: wrong image size");
    const LikelihoodKind& kind = likelihood_kind(config_);
    const std::vector<T> ch = decoder_channels(z);
    const std::size_t C = config_.decoder_channels(), S = config_.image_channels, P = kind.parameters(config_);
    const Frame fr{config_.rows, config_.cols, S};
    std::vector<std::uint8_t> frame(fr.size());
    cut_frame(image.data(), config_.rows, config_.cols, fr, 0, 0, frame.data());
    const bool has_head = kind.has_head(config_), context = kind.reads_context(config_);
    const std::size_t F = has_head ? config_.head_inputs() : C;
    Mat<T> f(static_cast<Index>(F), 1), raw;
    std::vector<double> params(P);
    double total = 0.0;
    for (std::size_t r = 0; r < config_.rows; ++r)
        for (std::size_t c = 0; c < config_.cols; ++c)
            for (std::size_t s = 0; s < S; ++s) {
                const std::size_t q = (r * config_.cols + c) * S + s;
                for (std::size_t k = 0; k < C; ++k) f(static_cast<Index>(k), 0) = ch[q * C + k];
                if (context) frame_context(fr, frame.data() + fr.at(r, c) + s, s, T(255), f.data() + C);
                if (has_head) head(s).infer(f, raw);
                const Mat<T>& out = has_head ? raw : f;
                for (std::size_t k = 0; k < P; ++k) params[k] = static_cast<double>(out(static_cast<Index>(k), 0));
                total += kind.log_prob(config_, image[q], params);
            }
    return total;
}

template class BasicVae<float>;
template class BasicVae<double>;

}  // namespace bbans::models
