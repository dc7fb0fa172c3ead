// For every codec, with random parameters and random messages: pop(push(m, x)) gives back x
// and the message, bit for bit. For every symbol model: the intervals tile [0, 2^prec) with
// every frequency >= 1, and symbol(cf) is the symbol whose interval holds cf.
#include <catch2/catch.hpp>
#include <random>
#include <vector>

#include "codec/categorical.hpp"
#include "codec/codec.hpp"
#include "codec/gaussian.hpp"
#include "codec/logistic.hpp"
#include "test_util.hpp"

using namespace bbans::codec;

namespace {

template <class C, class S>
void check_round_trip(const C& codec, const S& x, std::mt19937_64& rng, std::size_t lanes = 1) {
    Message m = bbans::test::random_message(rng, lanes, static_cast<int>(rng() % 100));
    const Message before = m;
    codec.push(m, x);
    REQUIRE(m.ok());
    const S y = codec.pop(m);
    REQUIRE(m.ok());
    REQUIRE(y == x);
    REQUIRE(m == before);
    REQUIRE(m.tail().size() == before.tail().size());
    REQUIRE(m.virtual_words_drawn() == before.virtual_words_drawn());
}

// Exhaustive over symbols; cf checked at both ends of each interval and a random inside point.
template <SymbolModel M>
void check_tiling(const M& model, std::uint32_t alphabet, std::mt19937_64& rng) {
    std::uint64_t next = 0;
    for (std::uint32_t s = 0; s < alphabet; ++s) {
        const Interval iv = model.interval(s);
        REQUIRE(iv.freq >= 1);
        REQUIRE(iv.start == next);
        next += iv.freq;
        REQUIRE(model.symbol(iv.start) == s);
        REQUIRE(model.symbol(iv.start + iv.freq - 1) == s);
        REQUIRE(model.symbol(iv.start + static_cast<std::uint32_t>(rng() % iv.freq)) == s);
    }
    REQUIRE(next == (std::uint64_t{1} << model.precision()));
}

std::vector<std::uint64_t> random_weights(std::mt19937_64& rng, std::size_t n) {
    std::vector<std::uint64_t> w(n);
    for (auto& x : w) x = (rng() % 4 == 0) ? 0 : rng() >> (rng() % 64);  // zeros and wild ranges
    return w;
}

}  // namespace

TEST_CASE("codecs: Uniform", "[codec]") {
    std::mt19937_64 rng(10);
    for (unsigned prec : {1u, 5u, 16u, 31u}) {
        const auto c = primitive(Uniform(prec));
        for (int t = 0; t < 300; ++t) check_round_trip(c, static_cast<std::uint32_t>(rng() % (std::uint64_t{1} << prec)), rng);
    }
    check_tiling(Uniform(6), 64, rng);
    Message m;
    primitive(Uniform(4)).push(m, 16u);  // out of range
    REQUIRE(m.status() == MessageStatus::bad_interval);
}

TEST_CASE("codecs: frequencies_from_weights is exact and at least 1", "[codec][categorical]") {
    std::mt19937_64 rng(11);
    for (int t = 0; t < 300; ++t) {
        const std::size_t n = 1 + rng() % 300;
        const unsigned prec = 9 + static_cast<unsigned>(rng() % 23);
        const auto w = random_weights(rng, n);
        auto f = frequencies_from_weights(w, prec);
        REQUIRE(f.has_value());
        std::uint64_t sum = 0;
        for (auto x : *f) {
            REQUIRE(x >= 1);
            sum += x;
        }
        REQUIRE(sum == (std::uint64_t{1} << prec));
        // Larger weight never gets a smaller frequency.
        for (std::size_t i = 0; i + 1 < n; ++i)
            if (w[i] > w[i + 1]) REQUIRE((*f)[i] >= (*f)[i + 1]);
    }
    // A known case: weights 1:3 at 4 bits -> 1 + floor(1*14/4)=4, 1 + floor(3*14/4)=11, the
    // remaining unit goes to the larger remainder (both 2/4: tie -> lower index).
    const std::vector<std::uint64_t> w{1, 3};
    REQUIRE(*frequencies_from_weights(w, 4) == std::vector<std::uint32_t>{5, 11});
    REQUIRE_FALSE(frequencies_from_weights(std::vector<std::uint64_t>(17, 1), 4).has_value());
    REQUIRE_FALSE(frequencies_from_weights({}, 4).has_value());
}

TEST_CASE("codecs: Categorical with slot table and binary search", "[codec][categorical]") {
    std::mt19937_64 rng(12);
    for (unsigned prec : {8u, 14u, 16u, 17u, 24u, 31u}) {
        for (int t = 0; t < 20; ++t) {
            const std::size_t n = 1 + rng() % 256;
            auto cat = Categorical::from_frequencies(*frequencies_from_weights(random_weights(rng, n), prec), prec);
            REQUIRE(cat.has_value());
            check_tiling(*cat, static_cast<std::uint32_t>(n), rng);
            const auto c = primitive(*cat);
            for (int k = 0; k < 50; ++k) check_round_trip(c, static_cast<std::uint32_t>(rng() % n), rng);
        }
    }
    REQUIRE_FALSE(Categorical::from_frequencies({1, 2, 3}, 3).has_value());  // sums to 6, not 8
    // Zero-frequency symbols cannot be pushed.
    auto cat = Categorical::from_frequencies({0, 8}, 3);
    REQUIRE(cat.has_value());
    Message m;
    primitive(*cat).push(m, 0u);
    REQUIRE(m.status() == MessageStatus::bad_interval);
}

TEST_CASE("codecs: Bernoulli", "[codec]") {
    std::mt19937_64 rng(13);
    for (int t = 0; t < 200; ++t) {
        const unsigned prec = 1 + static_cast<unsigned>(rng() % 31);
        const auto one = static_cast<std::uint32_t>(rng() % (std::uint64_t{1} << prec));
        const Bernoulli b(one, prec);
        check_tiling(b, 2, rng);
        check_round_trip(primitive(b), static_cast<std::uint32_t>(rng() & 1), rng);
    }
}

TEST_CASE("codecs: discretized logistic and logistic mixture", "[codec][logistic]") {
    std::mt19937_64 rng(14);
    std::uniform_real_distribution<double> mean(-40.0, 300.0), log_scale(-6.0, 6.0);
    for (int t = 0; t < 200; ++t) {
        const std::size_t k = 1 + rng() % LogisticMixture::kMaxComponents;
        std::vector<LogisticParams> comps;
        for (std::size_t j = 0; j < k; ++j)
            comps.push_back(LogisticMixture::params_from_float(mean(rng), std::exp(log_scale(rng)),
                                                               static_cast<std::uint32_t>(1 + rng() % 60000)));
        const unsigned prec = 9 + static_cast<unsigned>(rng() % 23);
        auto model = LogisticMixture::make(comps, prec);
        REQUIRE(model.has_value());
        check_tiling(*model, 256, rng);
        for (int s = 0; s < 20; ++s) check_round_trip(primitive(*model), static_cast<std::uint32_t>(rng() % 256), rng);
        // lookup(cf): the symbol whose interval holds cf, with that interval, as interval() has it.
        for (int s = 0; s < 50; ++s) {
            const auto cf = static_cast<std::uint32_t>(rng() % (std::uint64_t{1} << prec));
            const auto found = model->lookup(cf);
            REQUIRE(found.interval == model->interval(found.symbol));
            REQUIRE(found.interval.start <= cf);
            REQUIRE(cf - found.interval.start < found.interval.freq);
        }
    }
    SECTION("lookup finds every cf of mixtures that defeat its first guess") {
        // Every cf of low-precision mixtures whose heaviest component is not where most cf
        // values fall (far-apart modes, a broad component under a narrow one, tails at both
        // edges): the Newton step, the gallop both ways and the interpolation search all run.
        const std::vector<std::vector<LogisticParams>> mixtures{
            {LogisticMixture::params_from_float(10, 0.3, 1000), LogisticMixture::params_from_float(240, 0.3, 999),
             LogisticMixture::params_from_float(128, 60, 998)},
            {LogisticMixture::params_from_float(128, 0.05, 5000), LogisticMixture::params_from_float(128, 200, 4000)},
            {LogisticMixture::params_from_float(-30, 2, 10), LogisticMixture::params_from_float(290, 2, 9),
             LogisticMixture::params_from_float(0, 0.01, 8), LogisticMixture::params_from_float(255, 0.01, 7)},
            {LogisticMixture::params_from_float(60, 4, 3), LogisticMixture::params_from_float(70, 1, 2),
             LogisticMixture::params_from_float(200, 30, 2), LogisticMixture::params_from_float(201, 0.5, 2),
             LogisticMixture::params_from_float(100, 9, 1)}};
        for (const auto& comps : mixtures)
            for (const unsigned prec : {9u, 12u, 15u}) {
                auto model = LogisticMixture::make(comps, prec);
                REQUIRE(model.has_value());
                std::uint32_t symbol = 0;
                for (std::uint32_t cf = 0; cf < (1u << prec); ++cf) {
                    while (model->cdf(symbol + 1) <= cf) ++symbol;  // the reference: a linear scan
                    const auto found = model->lookup(cf);
                    REQUIRE(found.symbol == symbol);
                    REQUIRE(found.interval == model->interval(symbol));
                }
            }
    }
    SECTION("bad parameters") {
        const std::vector<LogisticParams> none;
        REQUIRE_FALSE(LogisticMixture::make(none, 16).has_value());
        const std::vector<LogisticParams> zero{{0, 0, 0}};
        REQUIRE_FALSE(LogisticMixture::make(zero, 16).has_value());
        const std::vector<LogisticParams> one{{0, 0, 1}};
        REQUIRE_FALSE(LogisticMixture::make(one, 8).has_value());
        auto m = LogisticMixture::make(one, 16);
        REQUIRE(m->interval(256).freq == 0);
    }
    SECTION("probabilities follow the float logistic") {
        const std::vector<LogisticParams> one{LogisticMixture::params_from_float(100.3, 3.0)};
        auto m = LogisticMixture::make(one, 24);
        auto sig = [](double y) { return 1.0 / (1.0 + std::exp(-(y - 100.3) / 3.0)); };
        for (std::uint32_t v : {0u, 90u, 100u, 101u, 110u, 255u}) {
            const double lo = v == 0 ? 0.0 : sig(v - 0.5), hi = v == 255 ? 1.0 : sig(v + 0.5);
            const double p = static_cast<double>(m->interval(v).freq) / (1 << 24);
            // scale and mean are rounded to Q8 (0.4% and 1/256 px): a few % relative, plus the floor
            REQUIRE(p == Approx(hi - lo).epsilon(0.03).margin(2e-6));
        }
    }
}

TEST_CASE("codecs: Gaussian over equal-mass buckets and the uniform bucket prior", "[codec][gaussian]") {
    std::mt19937_64 rng(15);
    std::uniform_real_distribution<double> mean(-3.0, 3.0), log_scale(-4.0, 0.5);
    for (unsigned pp : {1u, 4u, 8u, 12u}) {
        auto grid = BucketGrid::make(pp);
        REQUIRE(grid.has_value());
        for (std::uint32_t k = 2; k < grid->buckets(); ++k) REQUIRE(grid->edge_q16(k) > grid->edge_q16(k - 1));
        for (int t = 0; t < 40; ++t) {
            const unsigned prec = pp + 1 + static_cast<unsigned>(rng() % (31 - pp));
            auto q = GaussianBuckets::make(*grid, GaussianBuckets::params_from_float(mean(rng), std::exp(log_scale(rng))), prec);
            REQUIRE(q.has_value());
            if (pp <= 12) check_tiling(*q, grid->buckets(), rng);
            for (int s = 0; s < 10; ++s) {
                const auto k = static_cast<std::uint32_t>(rng() % grid->buckets());
                check_round_trip(primitive(*q), k, rng);
                check_round_trip(primitive(Uniform(pp)), k, rng);
            }
        }
    }
    auto grid = BucketGrid::make(8);
    REQUIRE_FALSE(GaussianBuckets::make(*grid, {0, 0}, 8).has_value());
    REQUIRE_FALSE(BucketGrid::make(0).has_value());
    REQUIRE_FALSE(BucketGrid::make(17).has_value());
}

TEST_CASE("codecs: combinators repeat and interleave and sequence", "[codec][combinators]") {
    std::mt19937_64 rng(16);
    auto cat = *Categorical::from_frequencies(*frequencies_from_weights(random_weights(rng, 50), 12), 12);
    for (int t = 0; t < 100; ++t) {
        const std::size_t n = rng() % 40;
        std::vector<std::uint32_t> xs(n);
        for (auto& x : xs) x = static_cast<std::uint32_t>(rng() % 50);
        check_round_trip(repeat(primitive(cat), n), xs, rng);
        // Interleaved over lanes, each element with its own model.
        std::vector<LogisticParams> comps(n);
        for (auto& c : comps) c = LogisticMixture::params_from_float(static_cast<double>(rng() % 256), 1.0 + static_cast<double>(rng() % 20));
        auto model_at = [&](std::size_t i) { return *LogisticMixture::make(std::span(&comps[i], 1), 16); };
        std::vector<std::uint32_t> px(n);
        for (auto& p : px) p = static_cast<std::uint32_t>(rng() % 256);
        for (std::size_t lanes : {1u, 2u, 5u}) check_round_trip(interleave(n, model_at), px, rng, lanes);
        check_round_trip(sequence(primitive(Uniform(7)), repeat(primitive(cat), n)),
                         std::pair<std::uint32_t, std::vector<std::uint32_t>>{static_cast<std::uint32_t>(rng() % 128), xs}, rng);
    }
    Message m;
    repeat(primitive(cat), 3).push(m, std::vector<std::uint32_t>{1, 2});  // wrong length
    REQUIRE_FALSE(m.ok());
}

namespace {
// A model whose decode side disagrees with its encode side (as a decoder computing a
// different table would): symbol(cf) is one too high.
struct OffByOne {
    using symbol_type = std::uint32_t;
    unsigned precision() const { return 8; }
    Interval interval(std::uint32_t s) const { return {s, 1}; }
    std::uint32_t symbol(std::uint32_t cf) const { return cf + 1; }
};
}  // namespace

TEST_CASE("codecs: pop catches a symbol whose interval does not hold cf", "[codec]") {
    Message m;
    primitive(OffByOne{}).push(m, 7u);
    (void)primitive(OffByOne{}).pop(m);
    REQUIRE(m.status() == MessageStatus::mismatch);
}

TEST_CASE("codecs: decoding with other parameters does not give the symbols back", "[codec]") {
    std::mt19937_64 rng(17);
    const std::vector<LogisticParams> a{LogisticMixture::params_from_float(100, 2)};
    const std::vector<LogisticParams> b{LogisticMixture::params_from_float(160, 2)};
    auto ma = *LogisticMixture::make(a, 16);
    auto mb = *LogisticMixture::make(b, 16);
    for (int t = 0; t < 50; ++t) {
        Message m = bbans::test::random_message(rng, 1, 50);
        std::vector<std::uint32_t> xs(20);
        for (auto& x : xs) x = 95 + static_cast<std::uint32_t>(rng() % 10);
        repeat(primitive(ma), xs.size()).push(m, xs);
        REQUIRE(repeat(primitive(mb), xs.size()).pop(m) != xs);
    }
}
