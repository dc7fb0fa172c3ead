#pragma once
// bbans train over MPI: `mpirun -np R bbans train ...` trains one model data-parallel on R
// processes (ranks). Each rank computes its shards of every minibatch (models/parallel.hpp) and
// MpiExchange swaps the results, so that every rank holds the same parameters and the model file
// is byte for byte the one a single process writes with the same --shards. Only rank 0 prints and
// writes files. The class exists in builds with MPI only (CMake BBANS_MPI, which compiles
// mpi_exchange.cpp); <mpi.h> stays in that file.
#include <memory>
#include <string>

#include "bbans/expected.hpp"
#include "models/parallel.hpp"
#include "src/cli/mpi_launcher.hpp"

namespace bbans::cli {

#ifdef BBANS_MPI
// This process's part in an MPI job (MPI_COMM_WORLD): joined by start(), left (MPI_Finalize)
// when destroyed. Every call but rank(), ranks() and abandoned() is collective. MPI calls come
// from the thread that called start() only (MPI_THREAD_FUNNELED).
class MpiExchange final : public models::ShardExchange {
public:
    static Expected<std::unique_ptr<MpiExchange>> start();
    ~MpiExchange() override;
    MpiExchange(const MpiExchange&) = delete;
    MpiExchange& operator=(const MpiExchange&) = delete;

    unsigned ranks() const override { return ranks_; }
    unsigned rank() const override { return rank_; }
    void all_gather(std::span<float> data, std::span<const std::size_t> counts) override;
    void all_gather(std::span<double> data, std::span<const std::size_t> counts) override;
    void all_gather(std::span<std::uint64_t> data, std::span<const std::size_t> counts) override;
    // The lowest failing rank's message, prefixed "rank N: " unless N is 0.
    Status agree(Status local) override;
    void failed_alone() override { abandoned_ = true; }

    // Whether this rank failed on its own (the others may be blocked waiting for it).
    bool abandoned() const { return abandoned_; }
    // Whether `local` is true on any rank.
    bool any(bool local);
    // Ends every rank of the job (MPI_Abort) with this exit code.
    [[noreturn]] void abort(int code);

private:
    MpiExchange(unsigned rank, unsigned ranks) : rank_(rank), ranks_(ranks) {}
    unsigned rank_ = 0, ranks_ = 1;
    bool abandoned_ = false;
};
#endif

}  // namespace bbans::cli
