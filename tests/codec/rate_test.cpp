// Coding cost against information content: 10^6 symbols from a known distribution cost at most
// -sum log2 p + 0.01% + a few words.
#include <catch2/catch.hpp>
#include <cmath>
#include <random>

#include "codec/categorical.hpp"
#include "codec/logistic.hpp"

using namespace bbans::codec;

namespace {
template <class Model>
void check_rate(const Model& model, const std::vector<std::uint32_t>& xs, std::size_t lanes) {
    const double total = std::ldexp(1.0, static_cast<int>(model.precision()));
    double info = 0;
    for (std::uint32_t x : xs) info -= std::log2(model.interval(x).freq / total);
    Message m(lanes);
    const double before = static_cast<double>(m.size_bits());
    for (std::size_t i = xs.size(); i-- > 0;) push_symbol(m, i % lanes, model, xs[i]);
    REQUIRE(m.ok());
    const double cost = static_cast<double>(m.size_bits()) - before;
    INFO("lanes " << lanes << ": information " << info << " bits, cost " << cost << " bits, overhead "
                  << 100.0 * (cost - info) / info << "%");
    CHECK(cost <= info * 1.0001 + 32.0 * 4 + 64.0 * static_cast<double>(lanes));
    // And it all decodes.
    for (std::size_t i = 0; i < xs.size(); ++i) REQUIRE(pop_symbol(m, i % lanes, model) == xs[i]);
    REQUIRE(m == Message(lanes));
}
}  // namespace

TEST_CASE("rate: a million symbols of a 256-symbol categorical at 14 bits", "[rate]") {
    std::mt19937_64 rng(20);
    std::vector<std::uint64_t> w(256);
    for (std::size_t i = 0; i < 256; ++i) w[i] = static_cast<std::uint64_t>(1e6 * std::exp(-static_cast<double>(i) / 20.0)) + 1;
    auto cat = *Categorical::from_frequencies(*frequencies_from_weights(w, 14), 14);
    std::vector<double> p(256);
    for (std::size_t i = 0; i < 256; ++i) p[i] = cat.frequencies()[i];
    std::discrete_distribution<std::uint32_t> dist(p.begin(), p.end());
    std::vector<std::uint32_t> xs(1000000);
    for (auto& x : xs) x = dist(rng);
    check_rate(cat, xs, 1);
    check_rate(cat, xs, 4);
}

TEST_CASE("rate: a million pixels from a sharp discretized logistic at 24 bits", "[rate]") {
    std::mt19937_64 rng(21);
    const std::vector<LogisticParams> c{LogisticMixture::params_from_float(30.0, 0.7)};
    auto model = *LogisticMixture::make(c, 24);
    std::vector<double> p(256);
    for (std::uint32_t v = 0; v < 256; ++v) p[v] = model.interval(v).freq;
    std::discrete_distribution<std::uint32_t> dist(p.begin(), p.end());
    std::vector<std::uint32_t> xs(1000000);
    for (auto& x : xs) x = dist(rng);
    check_rate(model, xs, 1);
}
