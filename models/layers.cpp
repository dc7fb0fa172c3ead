#include "models/layers.hpp"

#include <cmath>
#include <stdexcept>
#include <utility>

namespace bbans::models {

template <class T>
Linear<T>::Linear(std::string name, Index in, Index out) {
    weight.name = name + ".weight";
    bias.name = std::move(name) + ".bias";
    weight.resize(out, in);
    bias.resize(out, 1);
    bias.decay = false;
}

template <class T>
void Linear<T>::init(Rng& rng, double gain, Index drawn) {
    if (drawn < 0 || drawn > in_size()) drawn = in_size();
    const double std = gain / std::sqrt(static_cast<double>(drawn));
    // Column-major fill order: a fixed, documented order so a seed means the same weights.
    weight.value.setZero();
    for (Index j = 0; j < drawn; ++j)
        for (Index i = 0; i < weight.value.rows(); ++i) weight.value(i, j) = static_cast<T>(std * rng.normal());
    bias.value.setZero();
}

template <class T>
void Linear<T>::forward(const Mat<T>& X, Mat<T>& Y) const {
    Y.noalias() = weight.value * X;
    Y.colwise() += bias.value.col(0);
}

template <class T>
void Linear<T>::backward(const Mat<T>& X, const Mat<T>& dY, Mat<T>& gW, Mat<T>& gb, Mat<T>* dX,
                         Index dx_rows) const {
    gW.noalias() = dY * X.transpose();
    gb = dY.rowwise().sum();
    if (dX == nullptr) return;
    if (dx_rows < 0 || dx_rows >= in_size()) {
        dX->noalias() = weight.value.transpose() * dY;
    } else {
        dX->noalias() = weight.value.leftCols(dx_rows).transpose() * dY;
    }
}

template <class T>
void ReLU<T>::forward(const Mat<T>& Z, Mat<T>& A) {
    A = Z.cwiseMax(T(0));
}

template <class T>
void ReLU<T>::backward(const Mat<T>& A, const Mat<T>& dA, Mat<T>& dZ) {
    dZ = (A.array() > T(0)).select(dA, T(0));
}

template <class T>
Mlp<T>::Mlp(const std::string& name, const std::vector<Index>& sizes, bool skip) : skip_(skip) {
    if (sizes.size() < (skip ? 3U : 2U)) throw std::invalid_argument(skip ? "an Mlp with a skip needs a hidden layer" : "Mlp needs at least one layer");
    for (std::size_t i = 0; i + 1 < sizes.size(); ++i) {
        const bool last = i + 2 == sizes.size();
        layers_.emplace_back(name + "." + std::to_string(i), sizes[i] + (last && skip ? sizes[0] : 0), sizes[i + 1]);
    }
}

template <class T>
void Mlp<T>::init(Rng& rng, double last_gain) {
    // The skip's columns start at 0 and draw nothing: with a skip, an MLP starts as the one
    // without it from the same generator (the same weights, the same draws after it).
    for (std::size_t i = 0; i < layers_.size(); ++i) {
        const bool last = i + 1 == layers_.size();
        layers_[i].init(rng, last ? last_gain : std::sqrt(2.0), last && skip_ ? layers_[i].in_size() - in_size() : -1);
    }
}

template <class T>
void Mlp<T>::forward(const Mat<T>& X, Tape& tape, Mat<T>& Y) const {
    const std::size_t depth = layers_.size();
    tape.a.resize(depth);
    tape.a[0] = X;
    for (std::size_t i = 0; i + 1 < depth; ++i) {
        layers_[i].forward(tape.a[i], tape.a[i + 1]);
        ReLU<T>::forward(tape.a[i + 1], tape.a[i + 1]);
    }
    last_forward(tape.a[depth - 1], tape.a[0], Y);
}

template <class T>
void Mlp<T>::infer(const Mat<T>& X, Mat<T>& Y) const {
    Mat<T> cur = X, next;
    for (std::size_t i = 0; i + 1 < layers_.size(); ++i) {
        layers_[i].forward(cur, next);
        ReLU<T>::forward(next, next);
        std::swap(cur, next);
    }
    last_forward(cur, X, Y);
}

template <class T>
void Mlp<T>::last_forward(const Mat<T>& a, const Mat<T>& x, Mat<T>& Y) const {
    const Linear<T>& l = layers_.back();
    if (!skip_) {
        l.forward(a, Y);
        return;
    }
    Y.noalias() = l.weight.value.leftCols(a.rows()) * a;
    Y.noalias() += l.weight.value.rightCols(x.rows()) * x;
    Y.colwise() += l.bias.value.col(0);
}

template <class T>
void Mlp<T>::backward(Tape& tape, const Mat<T>& dY, Mat<T>* grads, Mat<T>* dX, Index dx_rows) const {
    const std::size_t depth = layers_.size();
    const Mat<T>* d = &dY;  // gradient w.r.t. the output of layer i
    for (std::size_t i = depth; i-- > 0;) {
        Mat<T>& gW = grads[2 * i];
        Mat<T>& gb = grads[2 * i + 1];
        if (i == 0) {
            layers_[0].backward(tape.a[0], *d, gW, gb, dX, dx_rows);
        } else if (skip_ && i + 1 == depth) {
            // The last layer reads [a ; x]: W_h's gradient from a, W_x's from x (a[0]); a's
            // gradient goes on down, x's is added to dX at the end.
            const Mat<T>& W = layers_[i].weight.value;
            const Index h = tape.a[i].rows(), in = tape.a[0].rows();
            gW.resize(W.rows(), W.cols());
            gW.leftCols(h).noalias() = dY * tape.a[i].transpose();
            gW.rightCols(in).noalias() = dY * tape.a[0].transpose();
            gb = dY.rowwise().sum();
            Mat<T>& out = tape.d0;
            out.noalias() = W.leftCols(h).transpose() * dY;
            ReLU<T>::backward(tape.a[i], out, out);
            d = &out;
        } else {
            Mat<T>& out = (d == &tape.d0) ? tape.d1 : tape.d0;
            layers_[i].backward(tape.a[i], *d, gW, gb, &out);
            ReLU<T>::backward(tape.a[i], out, out);  // through the ReLU that produced a[i]
            d = &out;
        }
    }
    if (skip_ && dX != nullptr) {
        const Mat<T>& W = layers_.back().weight.value;
        dX->noalias() += W.rightCols(in_size()).leftCols(dX->rows()).transpose() * dY;
    }
}

template class Linear<float>;
template class Linear<double>;
template struct ReLU<float>;
template struct ReLU<double>;
template class Mlp<float>;
template class Mlp<double>;

}  // namespace bbans::models
