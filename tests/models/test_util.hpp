#pragma once
// Helpers for the models tests: finite differences and small synthetic images.
#include <cmath>
#include <cstdint>
#include <vector>

#include "models/rng.hpp"
#include "models/tensor.hpp"

namespace bbans::models::test {

// Central difference of f() w.r.t. the variable x refers to. In double precision the error is
// O(h^2 f''') truncation plus O(eps_machine |f| / h) rounding: with h = 1e-6 and |f| ~ 1 both
// are around 1e-10, so agreement to a relative 1e-6 is a strict check.
template <class F>
double numeric_derivative(F&& f, double& x, double h = 1e-6) {
    const double x0 = x;
    x = x0 + h;
    const double fp = f();
    x = x0 - h;
    const double fm = f();
    x = x0;
    return (fp - fm) / (2.0 * h);
}

inline bool close(double a, double b, double rtol, double atol) {
    return std::abs(a - b) <= atol + rtol * std::max(std::abs(a), std::abs(b));
}

inline Mat<double> random_matrix(Rng& rng, Index rows, Index cols, double scale = 1.0) {
    Mat<double> m(rows, cols);
    for (Index j = 0; j < cols; ++j)
        for (Index i = 0; i < rows; ++i) m(i, j) = scale * rng.normal();
    return m;
}

// count images of rows x cols: a dark background with one or two bright bars (horizontal or
// vertical) and a little noise; enough structure for a VAE to learn quickly.
inline std::vector<std::uint8_t> bar_images(std::size_t count, std::size_t rows, std::size_t cols, std::uint64_t seed) {
    Rng rng(seed);
    std::vector<std::uint8_t> px(count * rows * cols);
    for (std::size_t n = 0; n < count; ++n) {
        std::uint8_t* img = px.data() + n * rows * cols;
        for (std::size_t i = 0; i < rows * cols; ++i) img[i] = static_cast<std::uint8_t>(rng.uniform_below(12));
        const std::size_t bars = 1 + rng.uniform_below(2);
        for (std::size_t b = 0; b < bars; ++b) {
            const bool horizontal = rng.uniform_below(2) == 0;
            const std::size_t at = rng.uniform_below(horizontal ? rows : cols);
            const auto level = static_cast<std::uint8_t>(200 + rng.uniform_below(56));
            for (std::size_t k = 0; k < (horizontal ? cols : rows); ++k) {
                const std::size_t r = horizontal ? at : k, c = horizontal ? k : at;
                img[r * cols + c] = level;
            }
        }
    }
    return px;
}

}  // namespace bbans::models::test
