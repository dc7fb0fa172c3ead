// bb_ans on a toy latent-variable model with a known marginal: z in {0, 1} uniform, x | z one
// of two distributions over 256 values, and the exact (quantized) posterior p(z | x). With
// the exact posterior, bits-back coding costs -log2 p(x) per symbol.
#include <catch2/catch.hpp>
#include <cmath>
#include <random>

#include "codec/categorical.hpp"
#include "codec/codec.hpp"
#include "codec/gaussian.hpp"
#include "codec/logistic.hpp"

using namespace bbans::codec;

TEST_CASE("bb_ans: two-component mixture with exact posterior codes at the marginal", "[bb_ans]") {
    constexpr unsigned kPrec = 16;
    std::vector<std::uint64_t> w0(256), w1(256);
    for (int v = 0; v < 256; ++v) {
        w0[v] = static_cast<std::uint64_t>(1e9 * std::exp(-std::pow((v - 60) / 15.0, 2))) + 1;
        w1[v] = static_cast<std::uint64_t>(1e9 * std::exp(-std::pow((v - 170) / 25.0, 2))) + 1;
    }
    const Categorical lik[2] = {*Categorical::from_frequencies(*frequencies_from_weights(w0, kPrec), kPrec),
                                *Categorical::from_frequencies(*frequencies_from_weights(w1, kPrec), kPrec)};
    // Posterior q(z | x) proportional to p(x | z) (the prior is uniform), in integers.
    std::vector<Categorical> post;
    for (std::uint32_t v = 0; v < 256; ++v) {
        const std::vector<std::uint64_t> w{lik[0].frequencies()[v], lik[1].frequencies()[v]};
        post.push_back(*Categorical::from_frequencies(*frequencies_from_weights(w, kPrec), kPrec));
    }
    const auto codec = bb_ans(primitive(Uniform(1)), [&](std::uint32_t z) { return primitive(lik[z]); },
                              [&](std::uint32_t x) { return primitive(post[x]); });

    std::mt19937_64 rng(30);
    std::vector<std::uint32_t> xs(10000);
    double info = 0;
    for (auto& x : xs) {
        const std::uint32_t z = rng() & 1;
        std::discrete_distribution<std::uint32_t> d(lik[z].frequencies().begin(), lik[z].frequencies().end());
        x = d(rng);
        const double px = 0.5 * (lik[0].frequencies()[x] + lik[1].frequencies()[x]) / 65536.0;
        info -= std::log2(px);
    }
    Message m;
    // Encode in reverse so that decoding gives the symbols in order.
    std::vector<double> cost_after(xs.size());
    for (std::size_t i = xs.size(); i-- > 0;) codec.push(m, xs[i]);
    REQUIRE(m.ok());
    const double net = m.content_bits() - static_cast<double>(m.initial_bits());
    INFO("information " << info / xs.size() << " bits/symbol, net cost " << net / xs.size() << ", initial bits "
                        << m.initial_bits());
    CHECK(std::abs(net - info) / info < 0.01);
    CHECK(m.initial_bits() <= 64);  // only the first symbol needs words it cannot get back

    Message copy = m;
    for (std::size_t i = 0; i < xs.size(); ++i) REQUIRE(codec.pop(copy) == xs[i]);
    REQUIRE(copy.ok());
    REQUIRE(copy == Message());  // decoding gives back every drawn word: the empty message
}

TEST_CASE("bb_ans: continuous latent over equal-mass buckets round-trips", "[bb_ans][gaussian]") {
    // x = round(128 + 40 z + noise): prior N(0,1) on 2^8 buckets, likelihood a logistic around
    // the bucket centre, posterior a rough Gaussian guess (any posterior must round-trip).
    auto grid = *BucketGrid::make(8);
    auto likelihood = [&](std::uint32_t k) {
        const double z = grid.centre_q16(k) / 65536.0;
        return primitive(*LogisticMixture::make(std::vector{LogisticMixture::params_from_float(128 + 40 * z, 4.0)}, 16));
    };
    auto posterior = [&](std::uint32_t x) {
        return primitive(*GaussianBuckets::make(grid, GaussianBuckets::params_from_float((x - 128.0) / 40.0, 0.1), 20));
    };
    const auto codec = bb_ans(primitive(Uniform(8)), likelihood, posterior);
    std::mt19937_64 rng(31);
    std::normal_distribution<double> n01;
    std::vector<std::uint32_t> xs(2000);
    for (auto& x : xs) x = static_cast<std::uint32_t>(std::clamp(std::lround(128 + 40 * n01(rng) + 2 * n01(rng)), 0L, 255L));
    Message m(2);
    for (std::size_t i = xs.size(); i-- > 0;) codec.push(m, xs[i]);
    REQUIRE(m.ok());
    // Bits-back must beat coding x with the marginal's support uniformly (8 bits per symbol).
    CHECK(m.content_bits() / xs.size() < 8.0);
    for (std::size_t i = 0; i < xs.size(); ++i) REQUIRE(codec.pop(m) == xs[i]);
    REQUIRE(m == Message(2));
}
