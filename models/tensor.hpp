#pragma once
// Matrix types and the trainable parameter of bbans_models.
//
// Layout convention used everywhere in models/: one example (or one pixel) per COLUMN. A
// minibatch of n images is a D x n matrix; Eigen matrices are column-major, so an image is a
// contiguous column. Shapes are stated in comments as rows x cols.
#include <Eigen/Core>
#include <cstddef>
#include <string>

namespace bbans::models {

using Index = Eigen::Index;
template <class T>
using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;  // column-major
template <class T>
using Vec = Eigen::Matrix<T, Eigen::Dynamic, 1>;

// A trainable tensor with everything the optimizer needs right beside it: the value, the
// gradient of the current minibatch, and Adam's first and second moments (all the same shape).
template <class T>
struct Param {
    std::string name;  // e.g. "encoder.0.weight"; stable, used in error messages
    Mat<T> value;
    Mat<T> grad;
    Mat<T> m;       // Adam: running mean of the gradient
    Mat<T> v;       // Adam: running mean of the squared gradient
    bool decay = true;  // weight decay applies (weights) or not (biases)

    void resize(Index rows, Index cols) {
        value.setZero(rows, cols);
        grad.setZero(rows, cols);
        m.setZero(rows, cols);
        v.setZero(rows, cols);
    }
    Index size() const { return value.size(); }
};

}  // namespace bbans::models
