// The discretized logistic mixture (edge buckets included), Bernoulli, KL and the
// reparameterization: values against references, normalization, and gradients against finite
// differences in double precision.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "models/likelihood.hpp"
#include "test_util.hpp"

using namespace bbans::models;
using namespace bbans::models::test;

namespace {

MixtureParams<double> random_mixture(Rng& rng, Index K, Index N, double mean_lo, double mean_hi, double ls_lo,
                                     double ls_hi) {
    MixtureParams<double> p;
    p.logits = random_matrix(rng, K, N);
    p.means.resize(K, N);
    p.log_scales.resize(K, N);
    for (Index j = 0; j < N; ++j)
        for (Index k = 0; k < K; ++k) {
            p.means(k, j) = mean_lo + (mean_hi - mean_lo) * rng.uniform01();
            p.log_scales(k, j) = ls_lo + (ls_hi - ls_lo) * rng.uniform01();
        }
    return p;
}

// Direct evaluation in long double: sum_k pi_k (F(v + 0.5) - F(v - 0.5)) with open edges.
long double naive_prob(int v, const MixtureParams<double>& p, Index col) {
    const Index K = p.logits.rows();
    long double z = 0, total = 0;
    for (Index k = 0; k < K; ++k) z += std::exp(static_cast<long double>(p.logits(k, col)));
    for (Index k = 0; k < K; ++k) {
        const long double s = std::exp(static_cast<long double>(p.log_scales(k, col)));
        auto F = [&](long double y) { return 1.0L / (1.0L + std::exp(-(y - p.means(k, col)) / s)); };
        const long double hi = v == 255 ? 1.0L : F(v + 0.5L);
        const long double lo = v == 0 ? 0.0L : F(v - 0.5L);
        total += std::exp(static_cast<long double>(p.logits(k, col))) / z * (hi - lo);
    }
    return total;
}

std::vector<double> batched_log_prob(const MixtureParams<double>& p, const std::vector<std::uint8_t>& x) {
    std::vector<double> lp(x.size());
    logistic_mixture_log_prob(p, x.data(), lp.data(), nullptr);
    return lp;
}

}  // namespace

TEST_CASE("Logistic mixture sums to one over the 256 values", "[likelihood]") {
    Rng rng(21);
    for (Index K : {1, 2, 5}) {
        // 256 columns per trial: the same random mixture repeated, evaluated at v = 0..255.
        for (int trial = 0; trial < 20; ++trial) {
            const MixtureParams<double> one = random_mixture(rng, K, 1, -40.0, 300.0, -3.0, 6.0);
            MixtureParams<double> p{one.logits.replicate(1, 256), one.means.replicate(1, 256),
                                    one.log_scales.replicate(1, 256)};
            std::vector<std::uint8_t> x(256);
            for (int v = 0; v < 256; ++v) x[static_cast<std::size_t>(v)] = static_cast<std::uint8_t>(v);
            const std::vector<double> lp = batched_log_prob(p, x);
            double total = 0.0;
            for (double l : lp) total += std::exp(l);
            CHECK(total == Approx(1.0).margin(1e-9));

            // Float path too (the one that trains): within float rounding.
            MixtureParams<float> pf{p.logits.cast<float>(), p.means.cast<float>(), p.log_scales.cast<float>()};
            std::vector<float> lpf(256);
            logistic_mixture_log_prob(pf, x.data(), lpf.data(), nullptr);
            double totalf = 0.0;
            for (float l : lpf) totalf += std::exp(static_cast<double>(l));
            CHECK(totalf == Approx(1.0).margin(2e-4));
        }
    }
}

TEST_CASE("Logistic mixture matches a direct evaluation and the scalar version", "[likelihood]") {
    Rng rng(22);
    const Index K = 3, N = 300;
    MixtureParams<double> p = random_mixture(rng, K, N, 0.0, 255.0, -1.0, 4.0);
    std::vector<std::uint8_t> x(N);
    for (Index j = 0; j < N; ++j) {
        // Values near the means (where the naive formula is accurate), including both edges.
        const double m = p.means(0, j) + 3.0 * rng.normal();
        x[static_cast<std::size_t>(j)] = static_cast<std::uint8_t>(std::clamp(std::lround(m), 0L, 255L));
    }
    // Both edge buckets, with a component near each so the naive difference does not cancel.
    x[0] = 0;
    x[1] = 255;
    p.means(0, 0) = 2.0;
    p.means(0, 1) = 250.0;
    p.log_scales(0, 0) = p.log_scales(0, 1) = 1.0;
    const std::vector<double> lp = batched_log_prob(p, x);
    for (Index j = 0; j < N; ++j) {
        const int v = x[static_cast<std::size_t>(j)];
        const long double ref = naive_prob(v, p, j);
        REQUIRE(ref > 1e-12L);
        CHECK(lp[static_cast<std::size_t>(j)] == Approx(static_cast<double>(std::log(ref))).epsilon(1e-9));
        std::vector<double> lg(p.logits.col(j).data(), p.logits.col(j).data() + K);
        std::vector<double> mu(p.means.col(j).data(), p.means.col(j).data() + K);
        std::vector<double> ls(p.log_scales.col(j).data(), p.log_scales.col(j).data() + K);
        CHECK(logistic_mixture_log_prob(v, lg, mu, ls) == Approx(lp[static_cast<std::size_t>(j)]).epsilon(1e-12));
    }
}

TEST_CASE("Logistic mixture is accurate for tiny masses far in the tails", "[likelihood]") {
    // One component, scale e^-7 (the smallest allowed): pixel values far from the mean have
    // masses like e^-100000, far below any floating-point number. The exact log is known in
    // closed form there: for the interior value v above the mean,
    //     log P(v) = log(sigmoid(a) - sigmoid(b)) = -softplus(-a) - softplus(b) + log(1 - e^-(a-b))
    // and for a, b >> 1 that is -b + log(1 - e^-d) + O(e^-a) with b = (v - 0.5 - mu) / s, d = 1/s.
    MixtureParams<double> p;
    p.logits = Mat<double>::Zero(1, 4);
    p.means = Mat<double>::Constant(1, 4, 10.0);
    p.log_scales = Mat<double>::Constant(1, 4, -7.0);
    const std::vector<std::uint8_t> x{200, 255, 0, 11};
    const std::vector<double> lp = batched_log_prob(p, x);
    const double d = std::exp(7.0);
    CHECK(lp[0] == Approx(-(200 - 0.5 - 10.0) * d + std::log1p(-std::exp(-d))).epsilon(1e-12));
    CHECK(lp[1] == Approx(-(255 - 0.5 - 10.0) * d).epsilon(1e-12));  // right tail: -softplus(b) ~ -b
    CHECK(lp[3] == Approx(-(11 - 0.5 - 10.0) * d).epsilon(1e-9));    // 0.5 d = 548 nats down
    // The left edge (v = 0) holds everything below 0.5, i.e. mass ~ e^-(9.5 d): log ~ -9.5 d.
    CHECK(lp[2] == Approx(-(10.0 - 0.5) * d).epsilon(1e-12));
    for (double l : lp) CHECK(std::isfinite(l));

    // In float as well, without -inf or NaN.
    MixtureParams<float> pf{p.logits.cast<float>(), p.means.cast<float>(), p.log_scales.cast<float>()};
    std::vector<float> lpf(4);
    MixtureParams<float> gf;
    logistic_mixture_log_prob(pf, x.data(), lpf.data(), &gf);
    for (std::size_t j = 0; j < 4; ++j) {
        CHECK(std::isfinite(lpf[j]));
        CHECK(static_cast<double>(lpf[j]) == Approx(lp[j]).epsilon(1e-5));
    }
    CHECK(gf.means.allFinite());
    CHECK(gf.log_scales.allFinite());
    CHECK(gf.logits.allFinite());
}

TEST_CASE("Logistic mixture gradient matches finite differences including edge buckets", "[likelihood]") {
    Rng rng(23);
    const Index K = 3;
    const std::vector<std::uint8_t> x{0, 0, 1, 2, 60, 127, 128, 200, 253, 254, 255, 255, 30, 240};
    const auto N = static_cast<Index>(x.size());
    // Means spread widely so that tails (including a tiny scale far away) are exercised.
    MixtureParams<double> p = random_mixture(rng, K, N, -30.0, 290.0, -2.5, 5.0);
    p.log_scales(0, 12) = -6.5;  // sharp component far from x = 30 in some columns
    p.means(0, 12) = 80.0;
    MixtureParams<double> g;
    std::vector<double> lp(x.size());
    logistic_mixture_log_prob(p, x.data(), lp.data(), &g);
    for (Index j = 0; j < N; ++j) {
        // logp of column j depends only on column j's parameters.
        auto f = [&] {
            std::vector<double> out(x.size());
            logistic_mixture_log_prob(p, x.data(), out.data(), nullptr);
            return out[static_cast<std::size_t>(j)];
        };
        for (Index k = 0; k < K; ++k) {
            INFO("x = " << int(x[static_cast<std::size_t>(j)]) << ", component " << k);
            CHECK(close(numeric_derivative(f, p.logits(k, j)), g.logits(k, j), 1e-6, 1e-9));
            CHECK(close(numeric_derivative(f, p.means(k, j)), g.means(k, j), 1e-6, 1e-9));
            CHECK(close(numeric_derivative(f, p.log_scales(k, j)), g.log_scales(k, j), 1e-6, 1e-9));
        }
    }
    // The float implementation computes the same gradient (to float precision).
    MixtureParams<float> pf{p.logits.cast<float>(), p.means.cast<float>(), p.log_scales.cast<float>()}, gf;
    std::vector<float> lpf(x.size());
    logistic_mixture_log_prob(pf, x.data(), lpf.data(), &gf);
    CHECK((gf.logits.cast<double>() - g.logits).cwiseAbs().maxCoeff() < 1e-4);
    CHECK((gf.means.cast<double>() - g.means).cwiseAbs().maxCoeff() < 1e-3 * (1.0 + g.means.cwiseAbs().maxCoeff()));
    CHECK((gf.log_scales.cast<double>() - g.log_scales).cwiseAbs().maxCoeff() <
          1e-3 * (1.0 + g.log_scales.cwiseAbs().maxCoeff()));
}

TEST_CASE("Head output transform and its gradient including the clamp", "[likelihood]") {
    Rng rng(24);
    const Index K = 2, N = 6;
    Mat<double> raw = random_matrix(rng, 3 * K, N);
    raw(2 * K, 0) = 9.0;    // clamped high: no gradient
    raw(2 * K + 1, 1) = -8.0;  // clamped low: no gradient
    MixtureParams<double> p;
    mixture_from_raw(raw, K, p);
    CHECK(p.log_scales(0, 0) == kMaxLogScale);
    CHECK(p.log_scales(1, 1) == kMinLogScale);
    CHECK(p.means(0, 2) == Approx(kMeanScale * raw(K, 2)));
    const std::vector<std::uint8_t> x{0, 255, 3, 100, 180, 250};
    // J = sum_j log P(x_j): through the transform.
    auto J = [&] {
        MixtureParams<double> q;
        mixture_from_raw(raw, K, q);
        std::vector<double> lp(x.size());
        logistic_mixture_log_prob(q, x.data(), lp.data(), nullptr);
        double s = 0;
        for (double l : lp) s += l;
        return s;
    };
    MixtureParams<double> g;
    std::vector<double> lp(x.size());
    logistic_mixture_log_prob(p, x.data(), lp.data(), &g);
    Mat<double> d_raw;
    mixture_grad_to_raw(raw, g, d_raw);
    CHECK(d_raw(2 * K, 0) == 0.0);
    CHECK(d_raw(2 * K + 1, 1) == 0.0);
    for (Index i = 0; i < 3 * K; ++i)
        for (Index j = 0; j < N; ++j) {
            INFO("row " << i << " col " << j << " raw " << raw(i, j));
            const double num = numeric_derivative(J, raw(i, j));
            INFO("numeric " << num << " analytic " << d_raw(i, j));
            // |J| is a few hundred nats here, so the difference quotient carries a rounding error
            // of about 1e-16 * |J| / h ~ 5e-8: hence the absolute tolerance.
            CHECK(close(num, d_raw(i, j), 1e-6, 2e-7));
        }
}

TEST_CASE("Bernoulli log-likelihood normalizes and its gradient matches finite differences", "[likelihood]") {
    Rng rng(25);
    Mat<double> logits = random_matrix(rng, 4, 3, 3.0);
    logits(0, 0) = 40.0;  // saturated
    logits(1, 0) = -40.0;
    const std::vector<std::uint8_t> x{255, 0, 128, 127, 0, 255, 200, 10, 130, 126, 90, 250};
    Mat<double> g;
    std::vector<double> lp(3);
    bernoulli_log_prob(logits, x.data(), lp.data(), &g);
    // p(1) + p(0) = 1 for every logit.
    const std::vector<std::uint8_t> ones(12, 255), zeros(12, 0);
    std::vector<double> l1(3), l0(3);
    for (Index i = 0; i < 4; ++i)
        for (Index j = 0; j < 3; ++j) {
            Mat<double> one_logit = Mat<double>::Constant(1, 1, logits(i, j));
            double a = 0, b = 0;
            bernoulli_log_prob(one_logit, ones.data(), &a, nullptr);
            bernoulli_log_prob(one_logit, zeros.data(), &b, nullptr);
            CHECK(std::exp(a) + std::exp(b) == Approx(1.0).margin(1e-12));
        }
    for (Index j = 0; j < 3; ++j) {
        auto f = [&] {
            std::vector<double> out(3);
            bernoulli_log_prob(logits, x.data(), out.data(), nullptr);
            return out[static_cast<std::size_t>(j)];
        };
        for (Index i = 0; i < 4; ++i) CHECK(close(numeric_derivative(f, logits(i, j)), g(i, j), 1e-6, 1e-9));
    }
    CHECK(std::isfinite(lp[0]));
}

TEST_CASE("Gaussian KL value and gradient", "[likelihood]") {
    Rng rng(26);
    Mat<double> mean = random_matrix(rng, 5, 3), ls = random_matrix(rng, 5, 3, 0.7);
    Mat<double> zero = Mat<double>::Zero(5, 1);
    double kl0 = -1;
    gaussian_kl(zero, zero, &kl0, nullptr, nullptr);
    CHECK(kl0 == 0.0);  // q = p
    std::vector<double> kl(3);
    Mat<double> gm, gl;
    gaussian_kl(mean, ls, kl.data(), &gm, &gl);
    for (Index j = 0; j < 3; ++j) {
        CHECK(kl[static_cast<std::size_t>(j)] > 0.0);
        // Against the textbook form 0.5 (mu^2 + sigma^2 - 1 - log sigma^2).
        double ref = 0;
        for (Index i = 0; i < 5; ++i) {
            const double s2 = std::exp(2 * ls(i, j));
            ref += 0.5 * (mean(i, j) * mean(i, j) + s2 - 1.0 - std::log(s2));
        }
        CHECK(kl[static_cast<std::size_t>(j)] == Approx(ref).epsilon(1e-12));
        auto f = [&] {
            std::vector<double> out(3);
            gaussian_kl(mean, ls, out.data(), nullptr, nullptr);
            return out[static_cast<std::size_t>(j)];
        };
        for (Index i = 0; i < 5; ++i) {
            CHECK(close(numeric_derivative(f, mean(i, j)), gm(i, j), 1e-6, 1e-9));
            CHECK(close(numeric_derivative(f, ls(i, j)), gl(i, j), 1e-6, 1e-9));
        }
    }
}

TEST_CASE("Reparameterization gradient matches finite differences", "[likelihood]") {
    Rng rng(27);
    Mat<double> mean = random_matrix(rng, 4, 3), ls = random_matrix(rng, 4, 3, 0.5);
    const Mat<double> eps = random_matrix(rng, 4, 3), G = random_matrix(rng, 4, 3);
    // J = sum(G .* z) + sum(z^2): a nonlinear use of z.
    auto J = [&] {
        Mat<double> z;
        reparameterize(mean, ls, eps, z);
        return (z.array() * G.array()).sum() + z.squaredNorm();
    };
    Mat<double> z;
    reparameterize(mean, ls, eps, z);
    CHECK(z(1, 2) == Approx(mean(1, 2) + std::exp(ls(1, 2)) * eps(1, 2)));
    const Mat<double> dz = G + 2.0 * z;
    Mat<double> gm = Mat<double>::Zero(4, 3), gl = Mat<double>::Zero(4, 3);
    reparameterize_backward(ls, eps, dz, gm, gl);
    for (Index i = 0; i < 4; ++i)
        for (Index j = 0; j < 3; ++j) {
            CHECK(close(numeric_derivative(J, mean(i, j)), gm(i, j), 1e-6, 1e-9));
            CHECK(close(numeric_derivative(J, ls(i, j)), gl(i, j), 1e-6, 1e-9));
        }
}
