#pragma once
// Whether an MPI launcher (mpirun, mpiexec, srun) started this process, read from the
// environment the launcher sets, without MPI itself: bbans without MPI support can still refuse
// to run as several uncoordinated copies, and ranks other than 0 can stay quiet from the start.
#include <cstdlib>

namespace bbans::cli {

// The number of ranks of the MPI job an MPI launcher started this process in (its environment:
// Open MPI, MPICH/PMI, PMIx), or 1 when no launcher started it (or one rank).
inline unsigned launcher_ranks() {
    for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"}) {
        const char* v = std::getenv(name);
        if (v == nullptr || *v == '\0') continue;
        char* end = nullptr;
        const unsigned long n = std::strtoul(v, &end, 10);
        if (*end == '\0' && n >= 1) return n > 65536 ? 65536U : static_cast<unsigned>(n);
    }
    return 1;
}

// This process's rank in that job (0 when no launcher started it).
inline unsigned launcher_rank() {
    for (const char* name : {"OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK"}) {
        const char* v = std::getenv(name);
        if (v == nullptr || *v == '\0') continue;
        char* end = nullptr;
        const unsigned long n = std::strtoul(v, &end, 10);
        if (*end == '\0') return n > 65535 ? 65535U : static_cast<unsigned>(n);
    }
    return 0;
}

}  // namespace bbans::cli
