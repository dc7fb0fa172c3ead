// Throughput of the rANS message with a static 256-symbol table at 14-bit precision:
// push (encode) and pop (decode) of 8-bit symbols, 1 lane and interleaved lanes.
// Prints MB/s (bytes_per_second, one symbol = one byte), s/symbol (SI prefix: n = ns), and the
// measured overhead of the coded size over the information content -sum log2 p (ppm).
// A program that prints figures, not a test: nothing here fails on a time.
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>
#include <vector>

#include "codec/categorical.hpp"
#include "codec/codec.hpp"

using namespace bbans::codec;

namespace {
constexpr std::size_t kSymbols = 1 << 20;
constexpr unsigned kPrec = 14;

struct Fixture {
    Categorical model;
    std::vector<std::uint32_t> xs;
    double info_bits = 0;
};

const Fixture& fixture() {
    static const Fixture f = [] {
        // A skewed byte distribution (about 5.5 bits/symbol), like residuals of an image.
        std::vector<std::uint64_t> w(256);
        for (std::size_t i = 0; i < 256; ++i) w[i] = static_cast<std::uint64_t>(1e6 * std::exp(-static_cast<double>(i) / 12.0)) + 10;
        Categorical model = *Categorical::from_frequencies(*frequencies_from_weights(w, kPrec), kPrec);
        std::vector<double> p(model.frequencies().begin(), model.frequencies().end());
        std::discrete_distribution<std::uint32_t> d(p.begin(), p.end());
        std::mt19937_64 rng(7);
        std::vector<std::uint32_t> xs(kSymbols);
        double info = 0;
        for (auto& x : xs) {
            x = d(rng);
            info -= std::log2(model.frequencies()[x] / 16384.0);
        }
        return Fixture{std::move(model), std::move(xs), info};
    }();
    return f;
}

Message encode(const Fixture& f, std::size_t lanes) {
    Message m(lanes);
    const std::size_t mask = lanes - 1;  // lanes is a power of two
    for (std::size_t i = f.xs.size(); i-- > 0;) push_symbol(m, i & mask, f.model, f.xs[i]);
    return m;
}

void set_counters(benchmark::State& state, const Fixture& f, const Message& m) {
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * f.xs.size()));
    // Seconds per symbol; printed with an SI prefix, e.g. "7.2n" is 7.2 ns.
    state.counters["s/symbol"] = benchmark::Counter(static_cast<double>(f.xs.size()),
                                                    benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
    // Coded size (whole serialized message) over the information content, in parts per million.
    state.counters["overhead_ppm"] = 1e6 * (static_cast<double>(m.size_bits()) - f.info_bits) / f.info_bits;
    state.counters["bits/symbol"] = static_cast<double>(m.size_bits()) / static_cast<double>(f.xs.size());
}

void BM_push(benchmark::State& state) {
    const Fixture& f = fixture();
    const auto lanes = static_cast<std::size_t>(state.range(0));
    Message m(lanes);
    for (auto _ : state) {
        m = encode(f, lanes);
        benchmark::DoNotOptimize(m.heads().data());
    }
    set_counters(state, f, m);
}

void BM_pop(benchmark::State& state) {
    const Fixture& f = fixture();
    const auto lanes = static_cast<std::size_t>(state.range(0));
    const Message encoded = encode(f, lanes);
    const std::size_t mask = lanes - 1;
    std::uint64_t checksum = 0;
    for (auto _ : state) {
        state.PauseTiming();
        Message m = encoded;
        state.ResumeTiming();
        for (std::size_t i = 0; i < f.xs.size(); ++i) checksum += pop_symbol(m, i & mask, f.model);
        if (!m.ok() || !(m == Message(lanes))) state.SkipWithError("decode did not restore the message");
    }
    benchmark::DoNotOptimize(checksum);
    set_counters(state, f, encoded);
}
}  // namespace

BENCHMARK(BM_push)->Arg(1)->Arg(2)->Arg(4)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_pop)->Arg(1)->Arg(2)->Arg(4)->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
