// Finite-difference checks of every layer's backward pass, in double precision.
#include <catch2/catch.hpp>

#include "models/layers.hpp"
#include "test_util.hpp"

using namespace bbans::models;
using namespace bbans::models::test;

namespace {
// J = sum(G .* Y): dJ/dY = G, so backward(G) must give dJ/d(everything).
double weighted_sum(const Mat<double>& Y, const Mat<double>& G) { return (Y.array() * G.array()).sum(); }
}  // namespace

TEST_CASE("Linear backward matches finite differences", "[layers]") {
    Rng rng(11);
    Linear<double> lin("lin", 5, 3);
    lin.init(rng, 1.0);
    lin.bias.value = random_matrix(rng, 3, 1);
    Mat<double> X = random_matrix(rng, 5, 4);
    const Mat<double> G = random_matrix(rng, 3, 4);
    auto J = [&] {
        Mat<double> Y;
        lin.forward(X, Y);
        return weighted_sum(Y, G);
    };
    Mat<double> gW, gb, dX;
    lin.backward(X, G, gW, gb, &dX);
    REQUIRE(gW.rows() == 3);
    REQUIRE(gW.cols() == 5);
    REQUIRE(dX.rows() == 5);
    REQUIRE(dX.cols() == 4);
    for (Index i = 0; i < 3; ++i)
        for (Index j = 0; j < 5; ++j) CHECK(close(numeric_derivative(J, lin.weight.value(i, j)), gW(i, j), 1e-7, 1e-9));
    for (Index i = 0; i < 3; ++i) CHECK(close(numeric_derivative(J, lin.bias.value(i, 0)), gb(i, 0), 1e-7, 1e-9));
    for (Index i = 0; i < 5; ++i)
        for (Index j = 0; j < 4; ++j) CHECK(close(numeric_derivative(J, X(i, j)), dX(i, j), 1e-7, 1e-9));

    // Partial input gradient: the first rows of the full one.
    Mat<double> dX2;
    lin.backward(X, G, gW, gb, &dX2, 2);
    REQUIRE(dX2.rows() == 2);
    CHECK((dX2 - dX.topRows(2)).cwiseAbs().maxCoeff() < 1e-12);
}

TEST_CASE("ReLU backward matches finite differences", "[layers]") {
    Rng rng(12);
    Mat<double> Z = random_matrix(rng, 4, 6);
    // Keep inputs away from the kink at 0, where the derivative is undefined.
    Z = Z.unaryExpr([](double z) { return std::abs(z) < 0.05 ? z + 0.1 : z; });
    const Mat<double> G = random_matrix(rng, 4, 6);
    auto J = [&] {
        Mat<double> A;
        ReLU<double>::forward(Z, A);
        return weighted_sum(A, G);
    };
    Mat<double> A, dZ;
    ReLU<double>::forward(Z, A);
    CHECK(A.minCoeff() >= 0.0);
    ReLU<double>::backward(A, G, dZ);
    int active = 0;
    for (Index i = 0; i < Z.rows(); ++i)
        for (Index j = 0; j < Z.cols(); ++j) {
            CHECK(close(numeric_derivative(J, Z(i, j)), dZ(i, j), 1e-7, 1e-9));
            active += Z(i, j) > 0;
        }
    CHECK(active > 0);
    CHECK(active < Z.size());
}

namespace {
// forward and infer agree, and backward's gradients of sum(Y .* G) for every weight, bias and
// input match central differences. Returns dX.
Mat<double> check_mlp_gradients(Mlp<double>& mlp, Mat<double>& X, const Mat<double>& G) {
    auto J = [&] {
        Mat<double> Y;
        mlp.infer(X, Y);
        return weighted_sum(Y, G);
    };
    typename Mlp<double>::Tape tape;
    Mat<double> Y, Yi, dX;
    mlp.forward(X, tape, Y);
    mlp.infer(X, Yi);
    CHECK((Y - Yi).cwiseAbs().maxCoeff() == 0.0);
    std::vector<Mat<double>> grads(2 * mlp.depth());
    mlp.backward(tape, G, grads.data(), &dX);
    for (std::size_t li = 0; li < mlp.depth(); ++li) {
        auto& l = mlp.layers()[li];
        for (Index i = 0; i < l.weight.value.rows(); ++i) {
            for (Index j = 0; j < l.weight.value.cols(); ++j)
                CHECK(close(numeric_derivative(J, l.weight.value(i, j)), grads[2 * li](i, j), 1e-6, 1e-9));
            CHECK(close(numeric_derivative(J, l.bias.value(i, 0)), grads[2 * li + 1](i, 0), 1e-6, 1e-9));
        }
    }
    for (Index i = 0; i < X.rows(); ++i)
        for (Index j = 0; j < X.cols(); ++j) CHECK(close(numeric_derivative(J, X(i, j)), dX(i, j), 1e-6, 1e-9));
    return dX;
}
}  // namespace

TEST_CASE("Mlp backward matches finite differences for weights and inputs", "[layers]") {
    Rng rng(13);
    Mlp<double> mlp("mlp", {6, 7, 5, 3});
    mlp.init(rng, 1.0);
    for (auto& l : mlp.layers()) l.bias.value = random_matrix(rng, l.out_size(), 1, 0.1);
    Mat<double> X = random_matrix(rng, 6, 5);
    const Mat<double> G = random_matrix(rng, 3, 5);
    check_mlp_gradients(mlp, X, G);
}

TEST_CASE("Mlp with a skip: the last layer reads [h ; x]; backward matches finite differences", "[layers]") {
    Rng rng(14);
    for (const std::vector<Index>& sizes : {std::vector<Index>{6, 7, 3}, std::vector<Index>{6, 7, 5, 4}}) {
        Mlp<double> mlp("mlp", sizes, true);
        REQUIRE(mlp.skip());
        const Index in = sizes.front(), hidden = sizes[sizes.size() - 2], out = sizes.back();
        REQUIRE(mlp.layers().back().in_size() == hidden + in);
        mlp.init(rng, 1.0);
        CHECK(mlp.layers().back().weight.value.rightCols(in).isZero(0));  // the skip starts at 0
        CHECK(mlp.layers().back().weight.value.leftCols(hidden).cwiseAbs().minCoeff() > 0);
        mlp.layers().back().weight.value.rightCols(in) = random_matrix(rng, out, in, 0.5);
        for (auto& l : mlp.layers()) l.bias.value = random_matrix(rng, l.out_size(), 1, 0.1);
        Mat<double> X = random_matrix(rng, in, 5);
        const Mat<double> G = random_matrix(rng, out, 5);
        const Mat<double> dX = check_mlp_gradients(mlp, X, G);
        // The output is the skip-less MLP's (the last weight's hidden columns) plus W_x X.
        Mlp<double> plain("mlp", sizes);
        for (std::size_t i = 0; i < mlp.depth(); ++i) {
            plain.layers()[i].bias.value = mlp.layers()[i].bias.value;
            plain.layers()[i].weight.value = mlp.layers()[i].weight.value.leftCols(plain.layers()[i].in_size());
        }
        Mat<double> Y, Yp, dX2;
        mlp.infer(X, Y);
        plain.infer(X, Yp);
        const Mat<double> Wx = mlp.layers().back().weight.value.rightCols(in);
        CHECK((Y - Yp - Wx * X).cwiseAbs().maxCoeff() < 1e-12);
        typename Mlp<double>::Tape tape;
        mlp.forward(X, tape, Y);
        std::vector<Mat<double>> grads(2 * mlp.depth());
        // Only the first rows of dX (as the head asks for its decoder channels' gradient).
        mlp.backward(tape, G, grads.data(), &dX2, 2);
        REQUIRE(dX2.rows() == 2);
        CHECK((dX2 - dX.topRows(2)).cwiseAbs().maxCoeff() < 1e-12);
    }
    CHECK_THROWS_AS(Mlp<double>("mlp", {6, 3}, true), std::invalid_argument);  // nothing to skip
}

TEST_CASE("Linear init is seeded and He-scaled", "[layers]") {
    Rng r1(5), r2(5);
    Linear<float> a("a", 400, 300), b("b", 400, 300);
    a.init(r1, std::sqrt(2.0));
    b.init(r2, std::sqrt(2.0));
    CHECK(a.weight.value == b.weight.value);
    const double var = a.weight.value.cast<double>().squaredNorm() / static_cast<double>(a.weight.value.size());
    CHECK(var == Approx(2.0 / 400).epsilon(0.05));
    CHECK(a.bias.value.isZero());
    CHECK_FALSE(a.bias.decay);
    CHECK(a.weight.decay);
}
