// The whole VAE: loss gradients against finite differences (double precision), the
// autoregressive head's causality and its agreement with the per-pixel inference API, threads.
#include <catch2/catch.hpp>

#include <cmath>
#include <numbers>
#include <stdexcept>
#include <string>
#include <vector>

#include "models/adam.hpp"
#include "models/serialize.hpp"
#include "models/vae.hpp"
#include "test_util.hpp"

using namespace bbans::models;
using namespace bbans::models::test;

namespace {

VaeConfig small_config(Likelihood lik, bool ar) {
    VaeConfig c;
    c.rows = 5;
    c.cols = 6;
    c.latent = 3;
    c.encoder_hidden = 7;
    c.encoder_layers = 2;
    c.decoder_hidden = 6;
    c.decoder_layers = 1;
    c.likelihood = lik;
    c.channels = 2;
    c.autoregressive = ar;
    c.head_hidden = 5;
    c.components = 3;
    return c;
}

// The name of head h's parameters' prefix: "head" (one head), or "head0", "head1", ...
// (head_per_channel).
std::string head_name(const VaeConfig& c, std::size_t h) { return c.head_per_channel ? "head" + std::to_string(h) : "head"; }

// Head h's last weight (head.N.weight, N = head_layers): with head_skip, its last
// head_inputs() columns are the skip's.
template <class T>
Param<T>& last_head_weight(BasicVae<T>& vae, std::size_t h = 0) {
    const std::string name = head_name(vae.config(), h) + "." + std::to_string(vae.config().head_layers) + ".weight";
    for (Param<T>* p : vae.params())
        if (p->name == name) return *p;
    throw std::logic_error("no " + name);
}

// The head skip's weights at random (every head's).
template <class T>
void set_skip_weights(BasicVae<T>& vae, Rng& rng) {
    const auto F = static_cast<Index>(vae.config().head_inputs());
    for (std::size_t h = 0; h < vae.config().heads(); ++h) {
        Param<T>& w = last_head_weight(vae, h);
        w.value.rightCols(F) = random_matrix(rng, w.value.rows(), F, 0.3).template cast<T>();
    }
}

template <class T>
BasicVae<T> make_model(const VaeConfig& c, std::uint64_t seed) {
    auto m = BasicVae<T>::make(c, seed);
    REQUIRE(m.has_value());
    // Non-zero biases (and head skip weights, which start at 0) so their gradients are
    // exercised with generic values.
    Rng rng(seed + 100);
    for (Param<T>* p : m->params())
        if (!p->decay) p->value.array() += (random_matrix(rng, p->value.rows(), p->value.cols(), 0.05)).array().template cast<T>();
    if (c.head_skip) set_skip_weights(*m, rng);
    return std::move(m).value();
}

std::vector<std::uint8_t> test_images(const VaeConfig& c, std::size_t n, std::uint64_t seed) {
    auto px = bar_images(n, c.rows, c.cols * c.image_channels, seed);
    px[0] = 0;  // both edge buckets present
    px[1] = 255;
    px[2] = 255;
    return px;
}

// Checks d loss / d theta for `per_tensor` entries of every parameter tensor (all entries if
// per_tensor == 0, or only the tensors whose name starts with `prefix`).
// n framed tiles of c's shape cut from larger images at offsets that put some margins outside
// the image (0) and some inside.
std::vector<std::uint8_t> test_frames(const VaeConfig& c, std::size_t n, std::uint64_t seed) {
    const Frame f{c.rows, c.cols, c.image_channels};
    const std::size_t H = c.rows + 3, W = c.cols + 5;
    const auto big = bar_images(n, H, W * c.image_channels, seed);
    std::vector<std::uint8_t> out(n * f.size());
    for (std::size_t i = 0; i < n; ++i)
        cut_frame(big.data() + i * H * W * c.image_channels, H, W, f, static_cast<std::ptrdiff_t>(i % 4),
                          static_cast<std::ptrdiff_t>(i % 6), out.data() + i * f.size());
    return out;
}

void check_loss_gradient(const VaeConfig& c, std::size_t per_tensor, const std::string& prefix = "", bool framed = false) {
    BasicVae<double> vae = make_model<double>(c, 7);
    const Index n = 3;
    const auto images = framed ? test_frames(c, static_cast<std::size_t>(n), 8) : test_images(c, static_cast<std::size_t>(n), 8);
    Rng rng(9);
    const Mat<double> eps = random_matrix(rng, c.latent + c.latent2, n);
    const Parallelism par{2, 2};
    const LossParts lp = vae.loss_and_grad(images.data(), n, eps, par, framed);
    REQUIRE(std::isfinite(lp.loss_bpd));
    CHECK(lp.loss_bpd == Approx(lp.recon_bpd + lp.kl_bpd));
    CHECK(lp.kl_bpd == Approx(lp.kl1_bpd + lp.kl2_bpd));
    if (!c.hierarchical()) CHECK(lp.kl2_bpd == 0.0);
    auto J = [&] { return vae.loss(images.data(), n, eps, par, framed).loss_bpd; };
    CHECK(J() == lp.loss_bpd);
    std::size_t checked = 0;
    for (Param<double>* p : vae.params()) {
        if (p->name.rfind(prefix, 0) != 0) continue;
        const Index size = p->value.size();
        const Index count = per_tensor == 0 ? size : std::min<Index>(size, static_cast<Index>(per_tensor));
        for (Index s = 0; s < count; ++s) {
            const Index idx = per_tensor == 0 ? s : static_cast<Index>(rng.uniform_below(static_cast<std::uint64_t>(size)));
            double& v = p->value.data()[idx];
            const double analytic = p->grad.data()[idx];
            INFO(p->name << "[" << idx << "]");
            // Tolerance: central differences in double with h = 1e-6 on a loss of a few bits
            // give ~1e-9 absolute error; 1e-5 relative allows for curvature near ReLU kinks.
            CHECK(close(numeric_derivative(J, v), analytic, 1e-5, 1e-8));
            ++checked;
        }
    }
    CHECK(checked > 0);
}

}  // namespace

TEST_CASE("VAE loss gradient matches finite differences with the AR logistic mixture", "[vae]") {
    check_loss_gradient(small_config(Likelihood::logistic_mixture, true), 6);
}

VaeConfig hierarchical_config() {
    VaeConfig c = small_config(Likelihood::logistic_mixture, true);
    c.latent2 = 2;
    c.latent2_hidden = 4;
    return c;
}

TEST_CASE("hierarchical VAE loss gradient matches finite differences", "[vae][hierarchical]") {
    const VaeConfig c = hierarchical_config();
    // Every entry of the second layer's networks and of the encoder; a few of the rest.
    check_loss_gradient(c, 0, "encoder2");
    check_loss_gradient(c, 0, "prior1");
    check_loss_gradient(c, 0, "encoder.");
    check_loss_gradient(c, 4);
    check_loss_gradient(c, 3, "", true);
}

TEST_CASE("hierarchical VAE: the loss is the single-sample -ELBO of both layers", "[vae][hierarchical]") {
    const VaeConfig c = hierarchical_config();
    const BasicVae<double> vae = make_model<double>(c, 31);
    const Index n = 2;
    const auto images = test_images(c, static_cast<std::size_t>(n), 32);
    Rng rng(33);
    const Mat<double> eps = random_matrix(rng, c.latent + c.latent2, n);
    const LossParts lp = vae.loss(images.data(), n, eps);
    // The same terms from the inference API, image by image.
    const auto L = static_cast<std::size_t>(c.latent), L2 = static_cast<std::size_t>(c.latent2);
    double recon = 0, kl1 = 0, kl2 = 0;
    for (Index i = 0; i < n; ++i) {
        const std::span<const std::uint8_t> x(images.data() + static_cast<std::size_t>(i) * c.samples(), c.samples());
        const Posterior<double> q1 = vae.posterior(x);
        std::vector<double> z1(L), z2(L2);
        for (std::size_t j = 0; j < L; ++j) {
            z1[j] = q1.mean[j] + std::exp(q1.log_scale[j]) * eps(static_cast<Index>(j), i);
            kl1 += -0.5 * eps(static_cast<Index>(j), i) * eps(static_cast<Index>(j), i) - q1.log_scale[j];  // log q(z1|x) + log sqrt(2 pi)
        }
        const Posterior<double> q2 = vae.posterior2(z1);
        for (std::size_t j = 0; j < L2; ++j) {
            z2[j] = q2.mean[j] + std::exp(q2.log_scale[j]) * eps(static_cast<Index>(L + j), i);
            kl2 += 0.5 * (q2.mean[j] * q2.mean[j] + std::exp(2 * q2.log_scale[j]) - 1) - q2.log_scale[j];
        }
        const Posterior<double> p1 = vae.prior1(z2);
        for (std::size_t j = 0; j < L; ++j) {
            const double u = (z1[j] - p1.mean[j]) * std::exp(-p1.log_scale[j]);
            kl1 += 0.5 * u * u + p1.log_scale[j];  // - log p(z1|z2) - log sqrt(2 pi)
        }
        recon -= vae.log_likelihood(x, z1);
    }
    const double to_bpd = 1.0 / (static_cast<double>(n) * static_cast<double>(c.samples()) * std::numbers::ln2);
    CHECK(recon * to_bpd == Approx(lp.recon_bpd).epsilon(1e-9));
    CHECK(kl1 * to_bpd == Approx(lp.kl1_bpd).epsilon(1e-9));
    CHECK(kl2 * to_bpd == Approx(lp.kl2_bpd).epsilon(1e-9));
    CHECK(lp.loss_bpd == Approx(lp.recon_bpd + lp.kl1_bpd + lp.kl2_bpd).epsilon(1e-12));
}

TEST_CASE("hierarchical VAE: KL warm-up and free bits shape the gradient of both latent terms", "[vae][hierarchical]") {
    const VaeConfig c = hierarchical_config();
    BasicVae<double> vae = make_model<double>(c, 41);
    const Index n = 3;
    const auto images = test_images(c, static_cast<std::size_t>(n), 42);
    Rng rng(43);
    const Mat<double> eps = random_matrix(rng, c.latent + c.latent2, n);
    // The gradients of encoder2 and prior1 (which only the latent terms reach) under kl.
    auto second_layer_grads = [&](KlControl kl) {
        const LossParts lp = vae.loss_and_grad(images.data(), n, eps, {2, 1}, false, kl);
        CHECK(lp.loss_bpd == vae.loss(images.data(), n, eps).loss_bpd);  // the loss itself never changes
        std::vector<Mat<double>> g;
        for (Param<double>* p : vae.params())
            if (p->name.rfind("encoder2", 0) == 0 || p->name.rfind("prior1", 0) == 0) g.push_back(p->grad);
        return g;
    };
    const auto full = second_layer_grads({});
    const auto half = second_layer_grads({0.5, 0.0});
    const auto none = second_layer_grads({0.0, 0.0});
    const auto freed = second_layer_grads({1.0, 1e3});  // every term below the floor
    REQUIRE(full.size() == 8);
    for (std::size_t i = 0; i < full.size(); ++i) {
        CHECK(full[i].norm() > 0.0);
        CHECK((half[i] - 0.5 * full[i]).norm() <= 1e-12 * full[i].norm());
        CHECK(none[i].norm() == 0.0);
        CHECK(freed[i].norm() == 0.0);
    }
}

TEST_CASE("VAE loss gradient matches finite differences for colour and framed tiles", "[vae]") {
    for (std::uint32_t S : {2u, 3u}) {
        VaeConfig c = small_config(Likelihood::logistic_mixture, true);
        c.image_channels = S;
        check_loss_gradient(c, 4, "", false);
        check_loss_gradient(c, 4, "", true);
    }
}

TEST_CASE("A frame whose margins are 0 gives the loss of the unframed tile", "[vae]") {
    for (std::uint32_t S : {1u, 3u}) {
        VaeConfig c = small_config(Likelihood::logistic_mixture, true);
        c.image_channels = S;
        const Vae vae = make_model<float>(c, 17);
        const Index n = 4;
        const auto images = test_images(c, static_cast<std::size_t>(n), 18);
        const Frame f{c.rows, c.cols, S};
        std::vector<std::uint8_t> frames(static_cast<std::size_t>(n) * f.size());
        for (Index i = 0; i < n; ++i)
            cut_frame(images.data() + static_cast<std::size_t>(i) * c.samples(), c.rows, c.cols, f, 0, 0,
                      frames.data() + static_cast<std::size_t>(i) * f.size());
        Rng rng(19);
        const Mat<float> eps = random_matrix(rng, c.latent, n).cast<float>();
        const LossParts a = vae.loss(images.data(), n, eps), b = vae.loss(frames.data(), n, eps, {}, true);
        CHECK(a.loss_bpd == b.loss_bpd);
        CHECK(a.kl_bpd == b.kl_bpd);
        // And a margin that is not 0 changes the likelihood.
        frames[f.at(0, 0) - f.stride()] = 200;
        CHECK(vae.loss(frames.data(), n, eps, {}, true).recon_bpd != a.recon_bpd);
    }
}

TEST_CASE("VAE loss gradient matches finite differences without autoregression", "[vae]") {
    check_loss_gradient(small_config(Likelihood::logistic_mixture, false), 6);
}

TEST_CASE("VAE loss gradient matches finite differences with the Bernoulli likelihood", "[vae]") {
    check_loss_gradient(small_config(Likelihood::bernoulli, false), 8);
}

TEST_CASE("AR head gradient matches finite differences for every head parameter", "[vae]") {
    check_loss_gradient(small_config(Likelihood::logistic_mixture, true), 0, "head.");
    VaeConfig deep = small_config(Likelihood::logistic_mixture, true);
    deep.head_layers = 2;
    check_loss_gradient(deep, 0, "head.");
}

TEST_CASE("Head skip: the gradient matches finite differences for every head parameter", "[vae][head_skip]") {
    VaeConfig c = small_config(Likelihood::logistic_mixture, true);
    c.head_skip = true;
    check_loss_gradient(c, 0, "head.");  // the skip's columns of head.1.weight among them
    check_loss_gradient(c, 4);           // and through the skip's input gradient, the decoder and encoder
    VaeConfig deep = c;
    deep.head_layers = 2;
    check_loss_gradient(deep, 0, "head.");
    VaeConfig plain = c;  // the skip without the context: from the decoder's channels only
    plain.autoregressive = false;
    check_loss_gradient(plain, 0, "head.");
    check_loss_gradient(plain, 0, "decoder.0");
    VaeConfig colour = c;
    colour.image_channels = 3;
    check_loss_gradient(colour, 0, "head.", true);
    check_loss_gradient(colour, 3, "", true);
    VaeConfig hier = hierarchical_config();
    hier.head_skip = true;
    check_loss_gradient(hier, 3);
}

TEST_CASE("Head skip: a new model is the one without the skip, its skip at 0, until the skip learns", "[vae][head_skip]") {
    for (std::uint32_t S : {1u, 3u}) {
        CAPTURE(S);
        VaeConfig c = small_config(Likelihood::logistic_mixture, true);
        c.image_channels = S;
        c.latent2 = 2;  // the second layer's weights are drawn after the head's: the same too
        c.latent2_hidden = 4;
        c.head_skip = true;
        VaeConfig pc = c;
        pc.head_skip = false;
        Vae vae = *Vae::make(c, 61);
        const Vae plain = *Vae::make(pc, 61);
        // The same tensors, the same values; the head's last weight has F more columns, all 0.
        const auto ps = vae.params();
        const auto pp = plain.params();
        REQUIRE(ps.size() == pp.size());
        const auto F = static_cast<Index>(c.head_inputs());
        for (std::size_t i = 0; i < ps.size(); ++i) {
            INFO(ps[i]->name);
            CHECK(ps[i]->name == pp[i]->name);
            if (ps[i]->name != "head.1.weight") {
                CHECK(ps[i]->value == pp[i]->value);
            } else {
                REQUIRE(ps[i]->value.cols() == pp[i]->value.cols() + F);
                CHECK(ps[i]->value.leftCols(pp[i]->value.cols()) == pp[i]->value);
                CHECK(ps[i]->value.rightCols(F).isZero(0));
            }
        }
        CHECK(vae.parameter_count() == plain.parameter_count() + static_cast<std::size_t>(F) * 3 * c.components);
        const Index n = 3;
        const auto images = test_images(c, static_cast<std::size_t>(n), 62);
        Rng rng(63);
        const Mat<float> eps = random_matrix(rng, c.latent + c.latent2, n).cast<float>();
        const LossParts a = vae.loss(images.data(), n, eps), b = plain.loss(images.data(), n, eps);
        CHECK(a.recon_bpd == Approx(b.recon_bpd).epsilon(1e-6));
        CHECK(a.kl_bpd == b.kl_bpd);
        // The skip's weights get a gradient at 0, and once they move the likelihood changes.
        vae.loss_and_grad(images.data(), n, eps);
        CHECK(last_head_weight(vae).grad.rightCols(F).norm() > 0);
        set_skip_weights(vae, rng);
        CHECK(vae.loss(images.data(), n, eps).recon_bpd != a.recon_bpd);
    }
}

TEST_CASE("Per-channel heads: the gradient matches finite differences for every head parameter", "[vae][per_channel]") {
    for (std::uint32_t S : {2u, 3u}) {
        CAPTURE(S);
        VaeConfig c = small_config(Likelihood::logistic_mixture, true);
        c.image_channels = S;
        c.head_per_channel = true;
        check_loss_gradient(c, 0, "head");          // head0.*, head1.*, ...: each head on its channel's samples
        check_loss_gradient(c, 3);                  // and the decoder and encoder through every head
        check_loss_gradient(c, 0, "head", true);    // framed tiles
        VaeConfig deep = c;
        deep.head_layers = 2;
        deep.head_skip = true;
        check_loss_gradient(deep, 0, "head");
        check_loss_gradient(deep, 0, "decoder.1", true);
    }
    VaeConfig plain = small_config(Likelihood::logistic_mixture, false);  // without the context
    plain.image_channels = 3;
    plain.head_per_channel = true;
    check_loss_gradient(plain, 0, "head");
    VaeConfig hier = hierarchical_config();
    hier.image_channels = 3;
    hier.head_per_channel = true;
    check_loss_gradient(hier, 3);
}

TEST_CASE("Per-channel heads: S heads drawn in turn from the seed, head 0 the shared head's draw", "[vae][per_channel]") {
    VaeConfig c = small_config(Likelihood::logistic_mixture, true);
    c.image_channels = 3;
    c.head_per_channel = true;
    VaeConfig shared = c;
    shared.head_per_channel = false;
    const Vae a = *Vae::make(c, 71), b = *Vae::make(c, 71), plain = *Vae::make(shared, 71);
    // Deterministic: the same seed, the same weights.
    const auto pa = a.params(), pb = b.params(), pp = plain.params();
    REQUIRE(pa.size() == pb.size());
    for (std::size_t i = 0; i < pa.size(); ++i) CHECK(pa[i]->value == pb[i]->value);
    // The parameters: encoder, decoder, head0's layers, head1's, head2's (weight then bias per
    // layer), in that order; head 0 and everything before it are the shared model's.
    const std::size_t per_head = 2 * (c.head_layers + 1);
    REQUIRE(pa.size() == pp.size() + 2 * per_head);
    const std::size_t first_head = pp.size() - per_head;
    for (std::size_t i = 0; i < pa.size(); ++i) {
        INFO(i << " " << pa[i]->name);
        if (i < first_head) {
            CHECK(pa[i]->name == pp[i]->name);
            CHECK(pa[i]->value == pp[i]->value);
        } else {
            const std::size_t h = (i - first_head) / per_head, k = (i - first_head) % per_head;
            CHECK(pa[i]->name == "head" + std::to_string(h) + pp[first_head + k]->name.substr(4));
            if (h == 0) CHECK(pa[i]->value == pp[first_head + k]->value);
            if (h > 0 && k % 2 == 0) CHECK(pa[i]->value != pa[first_head + k]->value);  // drawn on their own
            if (k % 2 == 1) CHECK(pa[i]->value == pa[first_head + k]->value);  // biases: the kind's initial ones
        }
    }
    const std::size_t F = c.head_inputs(), P = c.head_hidden, K3 = 3 * c.components;
    CHECK(a.parameter_count() == plain.parameter_count() + 2 * (F * P + P + P * K3 + K3));
}

TEST_CASE("Per-channel heads are separate parameters: heads set equal drift apart in training", "[vae][per_channel]") {
    VaeConfig c = small_config(Likelihood::logistic_mixture, true);
    c.image_channels = 3;
    c.head_per_channel = true;
    Vae vae = make_model<float>(c, 81);
    // Head 1 and head 2 start as copies of head 0.
    const auto ps = vae.params();
    const std::size_t per_head = 2 * (c.head_layers + 1), first = ps.size() - 3 * per_head;
    REQUIRE(ps[first]->name == "head0.0.weight");
    for (std::size_t h = 1; h < 3; ++h)
        for (std::size_t k = 0; k < per_head; ++k) ps[first + h * per_head + k]->value = ps[first + k]->value;
    // Colour samples whose channels look nothing alike: bars, their negative, a dim constant.
    const Index n = 8;
    auto images = test_images(c, static_cast<std::size_t>(n), 82);
    for (std::size_t q = 0; q < images.size(); q += 3) {
        images[q + 1] = static_cast<std::uint8_t>(255 - images[q]);
        images[q + 2] = static_cast<std::uint8_t>(40 + q % 3);
    }
    TrainConfig tc;
    tc.warmup_steps = 0;
    tc.learning_rate = 1e-2;
    Adam<float> adam(tc);
    Rng rng(83);
    for (int step = 0; step < 5; ++step) {
        const Mat<float> eps = random_matrix(rng, c.latent, n).cast<float>();
        vae.loss_and_grad(images.data(), n, eps, {2, 1});
        if (step == 0)  // the same weights, but each head's gradient from its own channel's samples
            for (std::size_t h = 1; h < 3; ++h) CHECK(ps[first + h * per_head]->grad != ps[first]->grad);
        adam.step(ps, tc.learning_rate);
    }
    for (std::size_t h = 0; h < 3; ++h)
        for (std::size_t g = h + 1; g < 3; ++g)
            for (std::size_t k = 0; k < per_head; ++k) {
                INFO(ps[first + h * per_head + k]->name << " vs " << ps[first + g * per_head + k]->name);
                CHECK((ps[first + h * per_head + k]->value - ps[first + g * per_head + k]->value).cwiseAbs().maxCoeff() > 1e-4f);
            }
}

TEST_CASE("Encoder gradient through KL and reparameterization matches finite differences", "[vae]") {
    check_loss_gradient(small_config(Likelihood::logistic_mixture, true), 0, "encoder.2");
}

TEST_CASE("Neighbourhood reads only earlier pixels and pads with black", "[vae]") {
    const std::size_t rows = 5, cols = 6;
    Rng rng(31);
    std::vector<std::uint8_t> img(rows * cols);
    for (auto& v : img) v = static_cast<std::uint8_t>(1 + rng.uniform_below(255));
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t c = 0; c < cols; ++c) {
            double nb[kNeighbours], nb2[kNeighbours];
            neighbourhood(img.data(), rows, cols, r, c, nb);
            // Scramble the pixel itself and everything after it in raster order.
            std::vector<std::uint8_t> other = img;
            for (std::size_t i = r * cols + c; i < rows * cols; ++i) other[i] = static_cast<std::uint8_t>(rng.uniform_below(256));
            neighbourhood(other.data(), rows, cols, r, c, nb2);
            for (std::size_t k = 0; k < kNeighbours; ++k) {
                CHECK(nb[k] == nb2[k]);
                const long rr = static_cast<long>(r) + kNeighbourOffsets[k].dr;
                const long cc = static_cast<long>(c) + kNeighbourOffsets[k].dc;
                const bool inside = rr >= 0 && cc >= 0 && rr < static_cast<long>(rows) && cc < static_cast<long>(cols);
                CHECK(inside == (nb[k] > 0.0));  // every pixel is >= 1, so 0 means padding
                if (inside) CHECK(nb[k] == img[static_cast<std::size_t>(rr) * cols + static_cast<std::size_t>(cc)] / 255.0);
            }
        }
    for (const auto& o : kNeighbourOffsets) CHECK((o.dr < 0 || (o.dr == 0 && o.dc < 0)));
}

TEST_CASE("Batched training path equals the pixel-by-pixel inference path", "[vae]") {
  for (const bool skip : {false, true})  // without and with the head's linear skip
  for (const bool per_channel : {false, true})  // one head, or one per channel (colour only)
  for (std::uint32_t S : {1u, 3u}) {
    if (per_channel && S == 1) continue;
    CAPTURE(skip, per_channel, S);
    VaeConfig c = small_config(Likelihood::logistic_mixture, true);
    c.image_channels = S;
    c.head_skip = skip;
    c.head_per_channel = per_channel;
    c.rows = 7;
    c.encoder_hidden = 16;
    c.decoder_hidden = 16;
    const Vae vae = make_model<float>(c, 41);
    const Index n = 4;
    const auto images = test_images(c, static_cast<std::size_t>(n), 42);
    Rng rng(43);
    const Mat<float> eps = random_matrix(rng, c.latent, n).cast<float>();
    const LossParts lp = vae.loss(images.data(), n, eps);
    const double D = static_cast<double>(c.samples());
    double recon = 0.0, kl = 0.0;
    for (Index i = 0; i < n; ++i) {
        const std::span<const std::uint8_t> img(images.data() + i * c.samples(), c.samples());
        const Posterior<float> post = vae.posterior(img);
        REQUIRE(post.mean.size() == c.latent);
        std::vector<float> z(c.latent);
        for (std::size_t l = 0; l < c.latent; ++l) {
            z[l] = post.mean[l] + std::exp(post.log_scale[l]) * eps(static_cast<Index>(l), i);
            const double s2 = std::exp(2.0 * post.log_scale[l]);
            kl += 0.5 * (post.mean[l] * post.mean[l] + s2 - 1.0) - post.log_scale[l];
        }
        recon -= vae.log_likelihood(img, std::span<const float>(z));
    }
    const double to_bpd = 1.0 / (static_cast<double>(n) * D * std::numbers::ln2);
    CHECK(recon * to_bpd == Approx(lp.recon_bpd).epsilon(1e-4));
    CHECK(kl * to_bpd == Approx(lp.kl_bpd).epsilon(1e-4).margin(1e-6));

    const std::vector<float> ch = vae.decoder_channels(std::vector<float>(c.latent, 0.5f));
    CHECK(ch.size() == c.samples() * c.channels);
    for (std::size_t s = 0; s < S; ++s) {  // sample s of pixel 0, with its own head if per_channel
        const PixelMixture<float> px = vae.pixel_params(std::span<const float>(ch.data() + s * c.channels, c.channels),
                                                        std::vector<float>(head_context_size(S), 0.25f), s);
        REQUIRE(px.logits.size() == c.components);
        for (float ls : px.log_scales) CHECK((ls >= kMinLogScale && ls <= kMaxLogScale));
    }
  }
}

TEST_CASE("Bernoulli model batched path equals the inference path", "[vae]") {
    const VaeConfig c = small_config(Likelihood::bernoulli, false);
    const Vae vae = make_model<float>(c, 44);
    const auto images = test_images(c, 1, 45);
    const Mat<float> eps = Mat<float>::Zero(c.latent, 1);
    const LossParts lp = vae.loss(images.data(), 1, eps);
    const Posterior<float> post = vae.posterior(std::span<const std::uint8_t>(images.data(), c.pixels()));
    const double ll = vae.log_likelihood(std::span<const std::uint8_t>(images.data(), c.pixels()), std::span<const float>(post.mean));
    CHECK(-ll / (static_cast<double>(c.pixels()) * std::numbers::ln2) == Approx(lp.recon_bpd).epsilon(1e-4));
}

TEST_CASE("Gradients do not depend on the thread count", "[vae]") {
    const VaeConfig c = small_config(Likelihood::logistic_mixture, true);
    Vae a = make_model<float>(c, 51), b = a;
    const Index n = 5;
    const auto images = test_images(c, static_cast<std::size_t>(n), 52);
    Rng rng(53);
    const Mat<float> eps = random_matrix(rng, c.latent, n).cast<float>();
    const LossParts la = a.loss_and_grad(images.data(), n, eps, {3, 1});
    const LossParts lb = b.loss_and_grad(images.data(), n, eps, {3, 2});
    CHECK(la.loss_bpd == lb.loss_bpd);
    const auto pa = a.params(), pb = b.params();
    for (std::size_t i = 0; i < pa.size(); ++i) CHECK(pa[i]->grad == pb[i]->grad);
    // A different split gives the same gradient up to rounding.
    Vae d = a;
    d.loss_and_grad(images.data(), n, eps, {1, 1});
    const auto pd = d.params();
    for (std::size_t i = 0; i < pa.size(); ++i)
        CHECK((pa[i]->grad - pd[i]->grad).cwiseAbs().maxCoeff() <= 1e-5f * (1.0f + pa[i]->grad.cwiseAbs().maxCoeff()));
}

TEST_CASE("Default architecture size and model file under 8 MB", "[vae]") {
    const VaeConfig c;
    auto vae = Vae::make(c, 1);
    REQUIRE(vae.has_value());
    const std::size_t D = 784, H = 384, L = 32, C = 4, P = 32, K = 5;
    const std::size_t expected = (D * H + H) + (H * H + H) + (H * 2 * L + 2 * L)   // encoder
                                 + (L * H + H) + (H * H + H) + (H * D * C + D * C)  // decoder
                                 + ((C + 12) * P + P) + (P * 3 * K + 3 * K);        // head
    CHECK(vae->parameter_count() == expected);
    const std::size_t bytes = serialize_model(*vae).size();
    CHECK(bytes < 8'000'000);
    CHECK(bytes > 4 * expected);
}

TEST_CASE("Invalid configurations are rejected", "[vae]") {
    auto bad = [](auto&& edit) {
        VaeConfig c;
        edit(c);
        return !c.validate().has_value() && !Vae::make(c, 1).has_value();
    };
    CHECK(VaeConfig{}.validate().has_value());
    CHECK(bad([](VaeConfig& c) { c.latent = 0; }));
    CHECK(bad([](VaeConfig& c) { c.components = 9; }));
    CHECK(bad([](VaeConfig& c) { c.rows = 0; }));
    CHECK(bad([](VaeConfig& c) { c.posterior_precision = c.prior_precision; }));
    CHECK(bad([](VaeConfig& c) { c.prior_precision = 17; }));
    CHECK(bad([](VaeConfig& c) { c.encoder_hidden = 16000; c.decoder_hidden = 16000; }));  // too many parameters
    CHECK(bad([](VaeConfig& c) { c.likelihood = static_cast<Likelihood>(7); }));
    CHECK(bad([](VaeConfig& c) { c.likelihood = Likelihood::bernoulli, c.autoregressive = false, c.head_skip = true; }));  // no head
    // Per-channel heads need S >= 2 (grey models and their files keep one head), said plainly.
    CHECK(bad([](VaeConfig& c) { c.head_per_channel = true; }));
    VaeConfig grey;
    grey.head_per_channel = true;
    CHECK_THAT(grey.validate().error().message, Catch::Contains("per-channel heads need at least 2 samples per pixel"));
    VaeConfig rgb = grey;
    rgb.image_channels = 3;
    CHECK(rgb.validate().has_value());
}

TEST_CASE("KL warm-up and free bits shape only the encoder's KL gradient, never the loss", "[vae]") {
    const VaeConfig c = small_config(Likelihood::logistic_mixture, true);
    const Index n = 3;
    const auto images = test_images(c, static_cast<std::size_t>(n), 8);
    Rng rng(9);
    const Mat<double> eps = random_matrix(rng, c.latent, n);
    auto grads = [&](KlControl kl, LossParts* lp) {
        BasicVae<double> vae = make_model<double>(c, 7);
        *lp = vae.loss_and_grad(images.data(), n, eps, {2, 2}, false, kl);
        std::vector<Mat<double>> g;
        std::vector<std::string> names;
        for (const Param<double>* p : vae.params()) g.push_back(p->grad), names.push_back(p->name);
        return std::pair{g, names};
    };
    LossParts full{}, none{}, freed{}, half{};
    const auto [g_full, names] = grads({}, &full);
    const auto g_none = grads({0.0, 0.0}, &none).first;   // KL weight 0: reconstruction only
    const auto g_free = grads({1.0, 1e6}, &freed).first;  // every dimension below its free bits
    const auto g_half = grads({0.5, 0.0}, &half).first;
    // The loss is the true -ELBO whatever the control.
    CHECK(none.loss_bpd == full.loss_bpd);
    CHECK(freed.loss_bpd == full.loss_bpd);
    bool encoder_differs = false;
    for (std::size_t t = 0; t < names.size(); ++t) {
        INFO(names[t]);
        const bool encoder = names[t].rfind("encoder.", 0) == 0;
        if (!encoder) {
            // Decoder and head do not see the KL term: the same gradients.
            CHECK(g_none[t] == g_full[t]);
            CHECK(g_half[t] == g_full[t]);
        } else {
            encoder_differs = encoder_differs || g_none[t] != g_full[t];
            // Linear in the KL weight: half-way between none and full.
            CHECK(((g_none[t] + g_full[t]) / 2 - g_half[t]).cwiseAbs().maxCoeff() < 1e-12);
        }
        CHECK(g_free[t] == g_none[t]);  // free bits above every dimension's KL = no KL gradient
    }
    CHECK(encoder_differs);
}
