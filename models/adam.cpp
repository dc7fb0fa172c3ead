#include "models/adam.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include "models/parallel.hpp"

namespace bbans::models {

double scheduled_learning_rate(const TrainConfig& cfg, std::uint64_t step, std::uint64_t total_steps) {
    const double lr = cfg.learning_rate;
    if (step < cfg.warmup_steps) return lr * static_cast<double>(step + 1) / static_cast<double>(cfg.warmup_steps);
    const std::uint64_t decay_steps = total_steps > cfg.warmup_steps + 1 ? total_steps - cfg.warmup_steps - 1 : 1;
    const double progress =
        std::clamp(static_cast<double>(step - cfg.warmup_steps) / static_cast<double>(decay_steps), 0.0, 1.0);
    const double f = cfg.final_lr_fraction;
    switch (cfg.schedule) {
        case LrSchedule::cosine:
            return lr * (f + (1.0 - f) * 0.5 * (1.0 + std::cos(std::numbers::pi * progress)));
        case LrSchedule::exponential:
            return lr * std::pow(f, progress);
        case LrSchedule::constant:
            break;
    }
    return lr;
}

namespace {
template <class T>
std::vector<TensorChunk> chunks_of(std::span<Param<T>* const> params) {
    std::vector<Index> sizes;
    for (const Param<T>* p : params) sizes.push_back(p->value.size());
    return tensor_chunks(sizes);
}
}  // namespace

template <class T>
double Adam<T>::grad_norm(std::span<Param<T>* const> params, unsigned threads) {
    const std::vector<TensorChunk> chunks = chunks_of(params);
    std::vector<double> sq(chunks.size());
    for_each_shard(static_cast<unsigned>(chunks.size()), threads, [&](unsigned c) {
        const TensorChunk& ch = chunks[c];
        sq[c] = static_cast<double>(
            Eigen::Map<const Vec<T>>(params[ch.tensor]->grad.data() + ch.offset, ch.size).squaredNorm());
    });
    double total = 0.0;
    for (double v : sq) total += v;
    return std::sqrt(total);
}

template <class T>
double Adam<T>::step(std::span<Param<T>* const> params, double lr, unsigned threads) {
    const double norm = grad_norm(params, threads);
    double clip = 1.0;
    if (cfg_.clip_norm > 0.0 && norm > cfg_.clip_norm) clip = cfg_.clip_norm / norm;
    ++steps_;
    const double t = static_cast<double>(steps_);
    const T b1 = static_cast<T>(cfg_.beta1), b2 = static_cast<T>(cfg_.beta2);
    const T bc1 = static_cast<T>(1.0 - std::pow(cfg_.beta1, t));
    const T bc2 = static_cast<T>(1.0 - std::pow(cfg_.beta2, t));
    const T eps = static_cast<T>(cfg_.adam_epsilon);
    const T step_lr = static_cast<T>(lr);
    const T decay = static_cast<T>(lr * cfg_.weight_decay);
    const T c = static_cast<T>(clip);
    const std::vector<TensorChunk> chunks = chunks_of(params);
    for_each_shard(static_cast<unsigned>(chunks.size()), threads, [&](unsigned ci) {
        const TensorChunk& ch = chunks[ci];
        Param<T>* p = params[ch.tensor];
        auto seg = [&](Mat<T>& m) { return Eigen::Map<Vec<T>>(m.data() + ch.offset, ch.size).array(); };
        auto value = seg(p->value);
        auto m = seg(p->m);
        auto v = seg(p->v);
        const auto g = seg(p->grad) * c;
        m = b1 * m + (T(1) - b1) * g;
        v = b2 * v + (T(1) - b2) * g.square();
        if (p->decay && decay > T(0)) value -= decay * value;
        value -= step_lr * (m / bc1) / ((v / bc2).sqrt() + eps);
    });
    return norm;
}

template class Adam<float>;
template class Adam<double>;

}  // namespace bbans::models
