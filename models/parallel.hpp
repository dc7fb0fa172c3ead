#pragma once
// Deterministic work splitting over a few threads.
#include <cstddef>
#include <functional>
#include <vector>

#include "models/tensor.hpp"

namespace bbans::models {

// Runs fn(item) for item = 0 .. items-1 on min(threads, items) threads, handing items out in
// order to whichever thread is free. Exceptions are rethrown in the caller. Results are
// deterministic as long as items write disjoint outputs (and are combined in item order).
void for_each_shard(unsigned items, unsigned threads, const std::function<void(unsigned)>& fn);

// A piece of one parameter tensor's flat storage: elementwise work (gradient sums, Adam) is split
// into such pieces, fixed by the tensor sizes alone, so results never depend on the thread count.
struct TensorChunk {
    std::size_t tensor;
    Index offset;
    Index size;
};
std::vector<TensorChunk> tensor_chunks(const std::vector<Index>& sizes, Index chunk = Index{1} << 16);

}  // namespace bbans::models
