// MpiExchange: models::ShardExchange over MPI_COMM_WORLD (see mpi_exchange.hpp).
#define OMPI_SKIP_MPICXX 1  // the C API only (no deprecated C++ bindings)
#define MPICH_SKIP_MPICXX 1
#include "src/cli/mpi_exchange.hpp"

#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <stdexcept>
#include <vector>

namespace bbans::cli {
namespace {

// Gathers every rank's part of data on every rank: MPI_Allgatherv in place when the counts and
// offsets fit MPI's int, else each rank's part broadcast from it in pieces.
template <class T>
void gather(std::span<T> data, std::span<const std::size_t> counts, unsigned ranks, MPI_Datatype type) {
    if (counts.size() != ranks) throw std::invalid_argument("all_gather: one count per rank");
    std::size_t total = 0;
    for (std::size_t c : counts) total += c;
    if (total != data.size()) throw std::invalid_argument("all_gather: counts do not add up to the data");
    if (total <= static_cast<std::size_t>(INT_MAX)) {
        std::vector<int> n(ranks), at(ranks);
        int offset = 0;
        for (unsigned r = 0; r < ranks; ++r) {
            n[r] = static_cast<int>(counts[r]);
            at[r] = offset;
            offset += n[r];
        }
        MPI_Allgatherv(MPI_IN_PLACE, 0, type, data.data(), n.data(), at.data(), type, MPI_COMM_WORLD);
        return;
    }
    constexpr std::size_t kPiece = std::size_t{1} << 30;
    std::size_t offset = 0;
    for (unsigned r = 0; r < ranks; ++r) {
        for (std::size_t done = 0; done < counts[r]; done += kPiece) {
            const std::size_t piece = std::min(kPiece, counts[r] - done);
            MPI_Bcast(data.data() + offset + done, static_cast<int>(piece), type, static_cast<int>(r), MPI_COMM_WORLD);
        }
        offset += counts[r];
    }
}

}  // namespace

Expected<std::unique_ptr<MpiExchange>> MpiExchange::start() {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (initialized) return make_error("MPI is already initialized");
    int provided = 0;
    if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return make_error("MPI_Init_thread failed");
    int rank = 0, size = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    auto job = std::unique_ptr<MpiExchange>(new MpiExchange(static_cast<unsigned>(rank), static_cast<unsigned>(size)));
    if (provided < MPI_THREAD_FUNNELED) return make_error("the MPI library does not support threads (MPI_THREAD_FUNNELED)");
    return job;
}

MpiExchange::~MpiExchange() {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
}

void MpiExchange::all_gather(std::span<float> data, std::span<const std::size_t> counts) { gather(data, counts, ranks_, MPI_FLOAT); }
void MpiExchange::all_gather(std::span<double> data, std::span<const std::size_t> counts) { gather(data, counts, ranks_, MPI_DOUBLE); }
void MpiExchange::all_gather(std::span<std::uint64_t> data, std::span<const std::size_t> counts) {
    gather(data, counts, ranks_, MPI_UINT64_T);
}

Status MpiExchange::agree(Status local) {
    const int mine = local ? static_cast<int>(ranks_) : static_cast<int>(rank_);
    int first = 0;
    MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (first == static_cast<int>(ranks_)) return Ok{};
    std::string message = first == static_cast<int>(rank_) ? local.error().message : std::string();
    unsigned long length = message.size();
    MPI_Bcast(&length, 1, MPI_UNSIGNED_LONG, first, MPI_COMM_WORLD);
    message.resize(length);
    MPI_Bcast(message.data(), static_cast<int>(length), MPI_CHAR, first, MPI_COMM_WORLD);
    if (first == 0) return make_error(std::move(message));
    std::string prefixed = "rank ";
    prefixed += std::to_string(first);
    prefixed += ": ";
    return make_error(prefixed + message);
}

bool MpiExchange::any(bool local) {
    const int mine = local ? 1 : 0;
    int out = 0;
    MPI_Allreduce(&mine, &out, 1, MPI_INT, MPI_LOR, MPI_COMM_WORLD);
    return out != 0;
}

void MpiExchange::abort(int code) {
    MPI_Abort(MPI_COMM_WORLD, code);
    std::abort();  // (MPI_Abort does not return)
}

}  // namespace bbans::cli
