#pragma once
// Deterministic work splitting over a few threads, and over processes (ShardExchange).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "bbans/expected.hpp"
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

// ---- Training over several processes ----------------------------------------------------------
// Data-parallel training (MPI in bbans train, src/cli/mpi_exchange.hpp; models/ never sees MPI):
// R processes ("ranks") hold the same model and minibatch; rank r computes the shards
// shards_of_rank(S, r, R) of every minibatch, then the ranks swap their shards' results (per-shard
// gradients, per-image losses) so that every rank holds all S of them and sums them in shard order
// exactly as one process would. The parameters stay bit-identical on every rank and equal to a
// one-process run with the same shard count. Every call is collective: each rank makes the same
// calls in the same order.
class ShardExchange {
public:
    virtual ~ShardExchange() = default;
    virtual unsigned ranks() const = 0;
    virtual unsigned rank() const = 0;
    // counts: one per rank (the same on every rank), summing to data.size(). On entry this rank's
    // part of data (at counts[0] + ... + counts[rank - 1]) is filled; on return every part is.
    virtual void all_gather(std::span<float> data, std::span<const std::size_t> counts) = 0;
    virtual void all_gather(std::span<double> data, std::span<const std::size_t> counts) = 0;
    virtual void all_gather(std::span<std::uint64_t> data, std::span<const std::size_t> counts) = 0;
    // Ok on every rank when every rank passes Ok; else, on every rank, the error of the lowest
    // rank that failed.
    virtual Status agree(Status local) = 0;
    // Told by the trainer when this process failed on its own (an exception in the middle of a
    // step) while the other ranks may be waiting for it in a collective call: whoever owns the
    // exchange must then end the whole job rather than wait.
    virtual void failed_alone() {}
};

// The shards rank `rank` of `ranks` computes: a contiguous run, [S r / R, S (r + 1) / R). When
// S < R (a last minibatch of fewer images than ranks) some ranks compute none.
struct ShardRange {
    unsigned begin = 0, end = 0;
};
inline ShardRange shards_of_rank(unsigned shards, unsigned rank, unsigned ranks) {
    const auto at = [&](unsigned r) {
        return static_cast<unsigned>(std::uint64_t{shards} * r / std::max(1U, ranks));
    };
    return {at(rank), at(rank + 1)};
}

// One value per rank gathered on every rank (a collective consistency check).
std::vector<std::uint64_t> gather_each(ShardExchange& exchange, std::uint64_t value);

}  // namespace bbans::models
