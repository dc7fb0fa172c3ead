#pragma once
// Adam with bias correction, decoupled weight decay (AdamW), global gradient-norm clipping and
// a warm-up + decay learning-rate schedule. The moments live in each Param (m, v).
#include <cstdint>
#include <span>

#include "models/config.hpp"
#include "models/tensor.hpp"

namespace bbans::models {

// The learning rate of step `step` (0-based) of a run of `total_steps` steps:
// linear warm-up over warmup_steps, then constant / cosine / exponential decay down to
// learning_rate * final_lr_fraction at the last step.
double scheduled_learning_rate(const TrainConfig& cfg, std::uint64_t step, std::uint64_t total_steps);

template <class T>
class Adam {
public:
    explicit Adam(const TrainConfig& cfg) : cfg_(cfg) {}

    // Global L2 norm of all gradients (accumulated in double over fixed chunks, in order).
    static double grad_norm(std::span<Param<T>* const> params, unsigned threads = 1);
    // One update with learning rate lr from each Param's grad: clips the gradients to
    // cfg.clip_norm (if > 0), updates m and v, applies the bias-corrected step and the decoupled
    // weight decay (Params with decay set). Returns the gradient norm before clipping. The
    // result does not depend on `threads`.
    double step(std::span<Param<T>* const> params, double lr, unsigned threads = 1);

    std::uint64_t steps() const { return steps_; }
    void set_steps(std::uint64_t s) { steps_ = s; }

private:
    TrainConfig cfg_;
    std::uint64_t steps_ = 0;  // updates done so far (Adam's t)
};

extern template class Adam<float>;
extern template class Adam<double>;

}  // namespace bbans::models
