#include "models/likelihood.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

namespace bbans::models {

namespace {
template <class T>
using Arr = Eigen::Array<T, Eigen::Dynamic, Eigen::Dynamic>;
template <class T>
using Row = Eigen::Array<T, 1, Eigen::Dynamic>;

// Columns per chunk: keeps the K x chunk temporaries in L1/L2 cache.
constexpr Index kChunk = 256;

double softplus(double t) { return std::max(t, 0.0) + std::log1p(std::exp(-std::abs(t))); }
double log1mexp(double d) {  // log(1 - e^-d), d > 0
    return d < std::numbers::ln2 ? std::log(-std::expm1(-d)) : std::log1p(-std::exp(-d));
}
}  // namespace

template <class T>
void logistic_mixture_log_prob(const MixtureParams<T>& p, const std::uint8_t* x, T* logp, NoDeduce<MixtureParams<T>>* grad) {
    // Works on chunks of w pixels transposed to w x K arrays, one component at a time: every
    // operation below is then an elementwise one on contiguous columns (vectorized by Eigen), and
    // the reductions over the K components are elementwise max / sum of columns.
    using Col = Eigen::Array<T, Eigen::Dynamic, 1>;
    const Index K = p.logits.rows();
    const Index N = p.logits.cols();
    if (grad != nullptr) {
        grad->logits.resize(K, N);
        grad->means.resize(K, N);
        grad->log_scales.resize(K, N);
    }
    const T half(0.5), one(1), zero(0), ln2 = std::numbers::ln2_v<T>;
    Col xv, has_a, has_b, inner, lmax, lse, tmax, sum, lp;
    Arr<T> lg, mu, ls, inv_s, a, b, ea, eb, wd, md, t;  // w x K
    Arr<T> g_lg, g_mu, g_ls;                            // w x K
    for (Index j0 = 0; j0 < N; j0 += kChunk) {
        const Index w = std::min(kChunk, N - j0);
        xv.resize(w);
        has_a.resize(w);  // 1 unless x = 255 (the a-term, the upper bucket edge, exists)
        has_b.resize(w);  // 1 unless x = 0 (the b-term, the lower bucket edge, exists)
        for (Index j = 0; j < w; ++j) {
            const std::uint8_t v = x[j0 + j];
            xv(j) = static_cast<T>(v);
            has_a(j) = v < 255 ? one : zero;
            has_b(j) = v > 0 ? one : zero;
        }
        inner = has_a * has_b;
        lg = p.logits.middleCols(j0, w).transpose().array();
        mu = p.means.middleCols(j0, w).transpose().array();
        ls = p.log_scales.middleCols(j0, w).transpose().array();
        for (auto* m : {&inv_s, &a, &b, &ea, &eb, &wd, &md, &t}) m->resize(w, K);

        lmax = lg.col(0);
        for (Index k = 1; k < K; ++k) lmax = lmax.max(lg.col(k));
        sum = (lg.col(0) - lmax).exp();
        for (Index k = 1; k < K; ++k) sum += (lg.col(k) - lmax).exp();
        lse = lmax + sum.log();  // log sum_k exp(logit_k)

        for (Index k = 0; k < K; ++k) {
            auto d = inv_s.col(k);
            d = (-ls.col(k)).exp();  // d = a - b = 1 / s
            a.col(k) = (xv - mu.col(k) + half) * d;  // upper bucket edge, standardized
            b.col(k) = a.col(k) - d;                 // lower bucket edge, standardized
            ea.col(k) = (-a.col(k).abs()).exp();
            eb.col(k) = (-b.col(k).abs()).exp();
            // md = 1 - e^-d without cancellation: for d < ln 2 Kahan's form (wd - 1) d / log(wd)
            // with wd = e^-d (the rounding error of wd cancels), else 1 - wd directly.
            wd.col(k) = (-d).exp();
            md.col(k) = (d < ln2).select((wd.col(k) == one).select(d, (wd.col(k) - one) * d / wd.col(k).log()),
                                         one - wd.col(k));
            // t_k = log pi_k + log P_k, log P_k = -softplus(-a) [x < 255] - softplus(b) [x > 0]
            //                                     + log(1 - e^-d) [0 < x < 255]
            t.col(k) = lg.col(k) - lse - has_a * ((-a.col(k)).max(zero) + ea.col(k).log1p()) -
                       has_b * (b.col(k).max(zero) + eb.col(k).log1p()) + inner * md.col(k).log();
        }
        tmax = t.col(0);
        for (Index k = 1; k < K; ++k) tmax = tmax.max(t.col(k));
        sum = (t.col(0) - tmax).exp();
        for (Index k = 1; k < K; ++k) sum += (t.col(k) - tmax).exp();
        lp = tmax + sum.log();
        for (Index j = 0; j < w; ++j) logp[j0 + j] = lp(j);
        if (grad == nullptr) continue;

        g_lg.resize(w, K);
        g_mu.resize(w, K);
        g_ls.resize(w, K);
        for (Index k = 0; k < K; ++k) {
            // Responsibility r_k: d logp / d log P_k = r_k, d logp / d logit_k = r_k - pi_k.
            const Col r = (t.col(k) - lp).exp();
            g_lg.col(k) = r - (lg.col(k) - lse).exp();
            // d log P_k / d a = sigmoid(-a) (if the a-term exists), d / d b = -sigmoid(b).
            const Col ga = has_a * (a.col(k) >= zero).select(ea.col(k) / (one + ea.col(k)), (one + ea.col(k)).inverse());
            const Col gb = -has_b * (b.col(k) >= zero).select((one + eb.col(k)).inverse(), eb.col(k) / (one + eb.col(k)));
            // a, b depend on mu through -d and on ls through -a, -b; log(1 - e^-d) depends on ls
            // through -d e^-d / (1 - e^-d) = -d wd / md.
            g_mu.col(k) = -r * inv_s.col(k) * (ga + gb);
            g_ls.col(k) = r * (-a.col(k) * ga - b.col(k) * gb - inner * inv_s.col(k) * wd.col(k) / md.col(k));
        }
        grad->logits.middleCols(j0, w) = g_lg.matrix().transpose();
        grad->means.middleCols(j0, w) = g_mu.matrix().transpose();
        grad->log_scales.middleCols(j0, w) = g_ls.matrix().transpose();
    }
}

double logistic_mixture_log_prob(int v, std::span<const double> logits, std::span<const double> means,
                                 std::span<const double> log_scales) {
    const std::size_t K = logits.size();
    double lmax = -INFINITY;
    for (double l : logits) lmax = std::max(lmax, l);
    double s = 0.0;
    for (double l : logits) s += std::exp(l - lmax);
    const double lse = lmax + std::log(s);
    std::vector<double> t(K);
    double tmax = -INFINITY;
    for (std::size_t k = 0; k < K; ++k) {
        const double ls = std::clamp(log_scales[k], kMinLogScale, kMaxLogScale);
        const double inv_s = std::exp(-ls);
        const double a = (v + 0.5 - means[k]) * inv_s;
        const double b = (v - 0.5 - means[k]) * inv_s;
        double comp = 0.0;
        if (v < 255) comp -= softplus(-a);
        if (v > 0) comp -= softplus(b);
        if (v > 0 && v < 255) comp += log1mexp(inv_s);
        t[k] = logits[k] - lse + comp;
        tmax = std::max(tmax, t[k]);
    }
    double sum = 0.0;
    for (double tk : t) sum += std::exp(tk - tmax);
    return tmax + std::log(sum);
}

template <class T>
void mixture_from_raw(const Mat<T>& raw, Index k, MixtureParams<T>& p) {
    p.logits = raw.topRows(k);
    p.means = T(kMeanScale) * raw.middleRows(k, k);
    p.log_scales = raw.bottomRows(k).cwiseMax(T(kMinLogScale)).cwiseMin(T(kMaxLogScale));
}

template <class T>
void mixture_grad_to_raw(const Mat<T>& raw, const MixtureParams<T>& g, Mat<T>& d_raw) {
    const Index k = g.logits.rows();
    d_raw.resize(3 * k, g.logits.cols());
    d_raw.topRows(k) = g.logits;
    d_raw.middleRows(k, k) = T(kMeanScale) * g.means;
    const auto r = raw.bottomRows(k).array();
    d_raw.bottomRows(k).array() = (r > T(kMinLogScale) && r < T(kMaxLogScale)).select(g.log_scales.array(), T(0));
}

template <class T>
void bernoulli_log_prob(const Mat<T>& logits, const std::uint8_t* x, NoDeduce<T>* logp_col, NoDeduce<Mat<T>>* grad) {
    const Index m = logits.rows(), n = logits.cols();
    if (grad != nullptr) grad->resize(m, n);
    for (Index j = 0; j < n; ++j) {
        double sum = 0.0;
        for (Index i = 0; i < m; ++i) {
            const bool bit = x[j * m + i] > 127;
            const T l = logits(i, j);
            const T s = bit ? -l : l;
            sum -= static_cast<double>(std::max(s, T(0)) + std::log1p(std::exp(-std::abs(s))));
            if (grad != nullptr) {
                const T sig = l >= T(0) ? T(1) / (T(1) + std::exp(-l)) : std::exp(l) / (T(1) + std::exp(l));
                (*grad)(i, j) = (bit ? T(1) : T(0)) - sig;
            }
        }
        if (logp_col != nullptr) logp_col[j] = static_cast<T>(sum);
    }
}

template <class T>
void gaussian_kl(const Mat<T>& mean, const Mat<T>& log_scale, NoDeduce<T>* kl_col, NoDeduce<Mat<T>>* g_mean,
                 NoDeduce<Mat<T>>* g_log_scale) {
    const Arr<T> var = (T(2) * log_scale.array()).exp();
    if (kl_col != nullptr) {
        const Row<T> kl =
            (T(0.5) * (mean.array().square() + var - T(1)) - log_scale.array()).colwise().sum();
        for (Index j = 0; j < kl.size(); ++j) kl_col[j] = kl(j);
    }
    if (g_mean != nullptr) *g_mean = mean;
    if (g_log_scale != nullptr) *g_log_scale = (var - T(1)).matrix();
}

template <class T>
void reparameterize(const Mat<T>& mean, const Mat<T>& log_scale, const Mat<T>& eps, Mat<T>& z) {
    z = (mean.array() + log_scale.array().exp() * eps.array()).matrix();
}

template <class T>
void reparameterize_backward(const Mat<T>& log_scale, const Mat<T>& eps, const Mat<T>& dz, Mat<T>& g_mean,
                             Mat<T>& g_log_scale) {
    g_mean += dz;
    g_log_scale.array() += dz.array() * eps.array() * log_scale.array().exp();
}

#define BBANS_INSTANTIATE(T)                                                                                 \
    template void logistic_mixture_log_prob<T>(const MixtureParams<T>&, const std::uint8_t*, T*,            \
                                               NoDeduce<MixtureParams<T>>*);                                           \
    template void mixture_from_raw<T>(const Mat<T>&, Index, MixtureParams<T>&);                              \
    template void mixture_grad_to_raw<T>(const Mat<T>&, const MixtureParams<T>&, Mat<T>&);                   \
    template void bernoulli_log_prob<T>(const Mat<T>&, const std::uint8_t*, NoDeduce<T>*, NoDeduce<Mat<T>>*);                    \
    template void gaussian_kl<T>(const Mat<T>&, const Mat<T>&, NoDeduce<T>*, NoDeduce<Mat<T>>*, NoDeduce<Mat<T>>*);                        \
    template void reparameterize<T>(const Mat<T>&, const Mat<T>&, const Mat<T>&, Mat<T>&);                   \
    template void reparameterize_backward<T>(const Mat<T>&, const Mat<T>&, const Mat<T>&, Mat<T>&, Mat<T>&);
BBANS_INSTANTIATE(float)
BBANS_INSTANTIATE(double)
#undef BBANS_INSTANTIATE

}  // namespace bbans::models
