#pragma once
// Likelihoods and the Gaussian latent terms of the VAE loss, each with its gradient.
//
// Discretized logistic mixture with open edge buckets (the semantics of codec/logistic.hpp):
// pixel value v owns (v - 0.5, v + 0.5]; 0 owns (-inf, 0.5] and 255 owns (254.5, +inf).
//     P(v) = sum_k pi_k [ sigmoid((v + 0.5 - mu_k) / s_k) - sigmoid((v - 0.5 - mu_k) / s_k) ]
// pi = softmax(logits), mu in pixel units, s = exp(log_scale).
//
// Stable log of one component. With a = (v + 0.5 - mu) / s, b = (v - 0.5 - mu) / s, a - b = 1/s:
//     sigmoid(a) - sigmoid(b) = sigmoid(a) * (1 - sigmoid(b)) * (1 - exp(-(a - b)))
// (multiply out: both sides equal (e^a - e^b) / ((1 + e^a)(1 + e^b))), so
//     log P_k(v) = -softplus(-a) - softplus(b) + log1mexp(1/s)        0 < v < 255
//     log P_k(0) = -softplus(-a)                                       (the left tail)
//     log P_k(255) = -softplus(b)                                      (the right tail)
// with log1mexp(d) = log(1 - e^-d). Every term is computed without cancellation, so even
// masses far below float's smallest normal number come out as accurate (negative) logs; no
// midpoint-density fallback (as in PixelCNN++) is needed. The mixture is a log-sum-exp.
#include <cstdint>
#include <span>
#include <type_traits>

#include "models/tensor.hpp"

namespace bbans::models {

// Output pointers are not used for template deduction, so nullptr can be passed for them.
template <class T>
using NoDeduce = std::type_identity_t<T>;

// The likelihood head's raw outputs -> mixture parameters (see Vae): rows [0, K) are the logits,
// [K, 2K) the means as mean = kMeanScale * raw, [2K, 3K) the log-scales, clamped.
inline constexpr double kMeanScale = 255.0;
inline constexpr double kMinLogScale = -7.0;  // natural log, pixel units
inline constexpr double kMaxLogScale = 7.0;
// The encoder's log-scale (natural log of the posterior standard deviation) is clamped to the
// range the integer Gaussian codec accepts.
inline constexpr double kMinPosteriorLogScale = -8.0;
inline constexpr double kMaxPosteriorLogScale = 8.0;

// K x N each: one mixture per column.
template <class T>
struct MixtureParams {
    Mat<T> logits;
    Mat<T> means;       // pixel units
    Mat<T> log_scales;  // natural log, pixel units (already clamped)
};

// log P(x_j) for every column j into logp[j] (natural log). If grad is given, its matrices are
// set to d logp_j / d (logits, means, log_scales) (K x N each; column j only depends on x_j).
template <class T>
void logistic_mixture_log_prob(const MixtureParams<T>& p, const std::uint8_t* x, T* logp, NoDeduce<MixtureParams<T>>* grad);

// One pixel, double precision, the same formula (inference, tests and reports).
double logistic_mixture_log_prob(int v, std::span<const double> logits, std::span<const double> means,
                                 std::span<const double> log_scales);

// raw: 3K x N head outputs -> p (K x N each; log-scales clamped to [kMinLogScale, kMaxLogScale]).
template <class T>
void mixture_from_raw(const Mat<T>& raw, Index k, MixtureParams<T>& p);
// Chain rule back through mixture_from_raw: g (d/d params) -> d_raw (3K x N). The clamp passes
// no gradient where it is active.
template <class T>
void mixture_grad_to_raw(const Mat<T>& raw, const MixtureParams<T>& g, Mat<T>& d_raw);

// Bernoulli on binarized pixels (bit = x > 127) with logits l: log p = -softplus(bit ? -l : l).
// logits: m x n, x: m*n bytes in the same (column-major) order; logp_col[j] = sum over the
// column (if logp_col is given); grad = d (sum of log p) / d logits = bit - sigmoid(l).
template <class T>
void bernoulli_log_prob(const Mat<T>& logits, const std::uint8_t* x, NoDeduce<T>* logp_col, NoDeduce<Mat<T>>* grad);

// KL( N(mean, exp(log_scale)^2) || N(0, 1) ), summed over rows, per column (nats):
//     KL = sum_i 0.5 (mean_i^2 + exp(2 log_scale_i) - 1) - log_scale_i
// mean, log_scale: L x n. If given: g_mean = mean, g_log_scale = exp(2 log_scale) - 1.
template <class T>
void gaussian_kl(const Mat<T>& mean, const Mat<T>& log_scale, NoDeduce<T>* kl_col, NoDeduce<Mat<T>>* g_mean,
                 NoDeduce<Mat<T>>* g_log_scale);

// z = mean + exp(log_scale) * eps (L x n each).
template <class T>
void reparameterize(const Mat<T>& mean, const Mat<T>& log_scale, const Mat<T>& eps, Mat<T>& z);
// Backward of reparameterize: g_mean += dz, g_log_scale += dz * eps * exp(log_scale).
template <class T>
void reparameterize_backward(const Mat<T>& log_scale, const Mat<T>& eps, const Mat<T>& dz, Mat<T>& g_mean,
                             Mat<T>& g_log_scale);

}  // namespace bbans::models
