#pragma once
// Layers with hand-written backward passes (MiniDNN / tiny-dnn style, one class per layer).
//
// A layer owns its parameters (Param: value, gradient, Adam moments side by side) but not its
// activations: forward and backward take the caller's buffers. That keeps a layer usable from
// several threads at once (each thread with its own buffers and gradient outputs), which is how
// the trainer splits a minibatch over cores.
//
// All shapes: features x examples (one example per column).
#include <string>
#include <vector>

#include "models/rng.hpp"
#include "models/tensor.hpp"

namespace bbans::models {

// Y = W X + b 1^T
template <class T>
class Linear {
public:
    Linear() = default;
    Linear(std::string name, Index in, Index out);

    Index in_size() const { return weight.value.cols(); }
    Index out_size() const { return weight.value.rows(); }

    // Weights ~ N(0, gain^2 / in) (He initialization for gain = sqrt(2)), biases zero. With
    // drawn in [0, in), only the first `drawn` columns are drawn, as N(0, gain^2 / drawn), and
    // the others are 0.
    void init(Rng& rng, double gain, Index drawn = -1);

    // X: in x n  ->  Y: out x n.
    void forward(const Mat<T>& X, Mat<T>& Y) const;
    // X: in x n (the forward input), dY: out x n (d loss / d Y).
    // Writes gW = dY X^T (out x in), gb = dY 1 (out x 1) and, if dX is given, dX = W^T dY (in x n),
    // or only its first dx_rows rows if dx_rows >= 0 (dx_rows x n).
    void backward(const Mat<T>& X, const Mat<T>& dY, Mat<T>& gW, Mat<T>& gb, Mat<T>* dX, Index dx_rows = -1) const;

    Param<T> weight;  // out x in
    Param<T> bias;    // out x 1
};

// A = max(Z, 0), elementwise. Exact in integer arithmetic (the quantized model needs that).
template <class T>
struct ReLU {
    // Z: m x n  ->  A: m x n. A may alias Z.
    static void forward(const Mat<T>& Z, Mat<T>& A);
    // A: m x n (the forward OUTPUT), dA: m x n  ->  dZ = dA where A > 0, else 0. dZ may alias dA.
    static void backward(const Mat<T>& A, const Mat<T>& dA, Mat<T>& dZ);
};

// Linear -> ReLU -> Linear -> ReLU -> ... -> Linear (no activation after the last layer).
// With a skip (at least one hidden layer), the last Linear reads [h ; x]: the last hidden
// activations h, then the MLP's own input x, so Y = W_h h + W_x x + b, where W_h and W_x are the
// left and right columns of that layer's one weight (out x (hidden + in)): a linear path from the
// inputs to the outputs beside the ReLU layers.
template <class T>
class Mlp {
public:
    // The activations of one forward pass, kept for backward, plus scratch for the backward
    // pass. a[0] is the input, a[i] the ReLU output of layer i-1 (i = 1 .. layers-1).
    struct Tape {
        std::vector<Mat<T>> a;
        Mat<T> d0, d1;
    };

    Mlp() = default;
    // sizes = {in, hidden..., out}; at least one layer (two with skip).
    Mlp(const std::string& name, const std::vector<Index>& sizes, bool skip = false);

    Index in_size() const { return layers_.front().in_size(); }
    bool skip() const { return skip_; }
    Index out_size() const { return layers_.back().out_size(); }
    std::size_t depth() const { return layers_.size(); }
    // He initialization (gain sqrt 2) for layers followed by a ReLU, gain `last_gain` for the
    // last; a skip's weights start at 0 (the MLP starts as the one without the skip).
    void init(Rng& rng, double last_gain = 1.0);

    // X: in x n  ->  Y: out x n; tape keeps what backward needs.
    void forward(const Mat<T>& X, Tape& tape, Mat<T>& Y) const;
    // Inference only (no tape). Y: out x n.
    void infer(const Mat<T>& X, Mat<T>& Y) const;
    // dY: out x n. grads points at 2 * depth() matrices: (gW, gb) per layer, in layer order.
    // dX (in x n; the first dx_rows rows only if dx_rows >= 0) is computed only if given; with
    // a skip it includes the skip's part, W_x^T dY.
    void backward(Tape& tape, const Mat<T>& dY, Mat<T>* grads, Mat<T>* dX, Index dx_rows = -1) const;

    std::vector<Linear<T>>& layers() { return layers_; }
    const std::vector<Linear<T>>& layers() const { return layers_; }

private:
    // The last layer: Y = W a + b, or with the skip W_h a + W_x x + b.
    void last_forward(const Mat<T>& a, const Mat<T>& x, Mat<T>& Y) const;

    std::vector<Linear<T>> layers_;
    bool skip_ = false;
};

extern template class Linear<float>;
extern template class Linear<double>;
extern template struct ReLU<float>;
extern template struct ReLU<double>;
extern template class Mlp<float>;
extern template class Mlp<double>;

}  // namespace bbans::models
