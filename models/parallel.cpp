#include "models/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <thread>

namespace bbans::models {

void for_each_shard(unsigned items, unsigned threads, const std::function<void(unsigned)>& fn) {
    const unsigned workers = std::max(1U, std::min(threads, items));
    if (workers == 1) {
        for (unsigned s = 0; s < items; ++s) fn(s);
        return;
    }
    // Items are handed out dynamically (a thread slowed down by another process simply takes
    // fewer); which thread runs an item never changes what the item computes.
    std::vector<std::exception_ptr> errors(workers);
    std::atomic<unsigned> next{0};
    auto work = [&](unsigned t) {
        try {
            for (unsigned s = next++; s < items; s = next++) fn(s);
        } catch (...) {
            errors[t] = std::current_exception();
        }
    };
    std::vector<std::thread> pool;
    pool.reserve(workers - 1);
    for (unsigned t = 1; t < workers; ++t) pool.emplace_back(work, t);
    work(0);
    for (auto& th : pool) th.join();
    for (auto& e : errors)
        if (e) std::rethrow_exception(e);
}

std::vector<TensorChunk> tensor_chunks(const std::vector<Index>& sizes, Index chunk) {
    std::vector<TensorChunk> out;
    for (std::size_t t = 0; t < sizes.size(); ++t)
        for (Index o = 0; o < sizes[t]; o += chunk) out.push_back({t, o, std::min(chunk, sizes[t] - o)});
    return out;
}

std::vector<std::uint64_t> gather_each(ShardExchange& exchange, std::uint64_t value) {
    std::vector<std::uint64_t> all(exchange.ranks());
    all[exchange.rank()] = value;
    const std::vector<std::size_t> counts(exchange.ranks(), 1);
    exchange.all_gather(std::span<std::uint64_t>(all), counts);
    return all;
}

}  // namespace bbans::models
