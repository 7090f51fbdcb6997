// The MPI communicator (MPI_COMM_WORLD) of descent/communicator.hpp, and the detection of an
// MPI launch. Built with DESCENT_MPI; without it mpi_communicator() says how to get one.
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "descent/communicator.hpp"
#include "descent/error.hpp"

#ifdef DESCENT_WITH_MPI
#include <mpi.h>
#endif

namespace descent {

bool mpi_built() {
#ifdef DESCENT_WITH_MPI
    return true;
#else
    return false;
#endif
}

bool launched_by_mpi() {
    // Open MPI's mpirun, MPICH/Hydra and Slurm's PMI-2, PMIx (Open MPI 4+, srun --mpi=pmix).
    for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"})
        if (std::getenv(var)) return true;
    return false;
}

#ifdef DESCENT_WITH_MPI

namespace {

void check_mpi(int rc, const char* call) {
    if (rc == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    MPI_Error_string(rc, text, &length);
    throw Error(std::string("MPI: ") + call + " failed: " + std::string(text, length));
}

class MpiWorld final : public Communicator {
public:
    MpiWorld() {
        int initialized = 0, finalized = 0;
        check_mpi(MPI_Initialized(&initialized), "MPI_Initialized");
        check_mpi(MPI_Finalized(&finalized), "MPI_Finalized");
        if (finalized)
            throw Error("MPI: already finalised in this process (MPI starts once a process; "
                        "keep the communicator alive for the whole run)");
        if (!initialized) {
            int provided = 0;
            check_mpi(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided),
                      "MPI_Init_thread");
            m_owns = true;
        }
        // Errors come back as return codes (checked) instead of aborting the job, so a
        // failure is reported as one line like any other.
        MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
        check_mpi(MPI_Comm_rank(MPI_COMM_WORLD, &m_rank), "MPI_Comm_rank");
        check_mpi(MPI_Comm_size(MPI_COMM_WORLD, &m_size), "MPI_Comm_size");
    }
    ~MpiWorld() override {
        int finalized = 0;
        MPI_Finalized(&finalized);
        if (m_owns && !finalized) MPI_Finalize();
    }
    int rank() const override { return m_rank; }
    int size() const override { return m_size; }
    std::string name() const override { return "MPI"; }
    void abandon() noexcept override { MPI_Abort(MPI_COMM_WORLD, 1); }
    bool arrive_within(double seconds) override {
        MPI_Request request;
        if (MPI_Ibarrier(MPI_COMM_WORLD, &request) != MPI_SUCCESS) return false;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
        for (;;) {
            int done = 0;
            if (MPI_Test(&request, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS) return false;
            if (done) return true;
            if (std::chrono::steady_clock::now() >= deadline) return false;
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
    }

    std::vector<std::string> allgather(const std::string& mine) override {
        const auto size = static_cast<std::size_t>(m_size);
        std::int64_t length = static_cast<std::int64_t>(mine.size());
        std::vector<std::int64_t> lengths(size);
        check_mpi(MPI_Allgather(&length, 1, MPI_INT64_T, lengths.data(), 1, MPI_INT64_T,
                                MPI_COMM_WORLD),
                  "MPI_Allgather");
        std::vector<int> counts(size), offsets(size);
        std::int64_t total = 0;
        for (std::size_t r = 0; r < size; ++r) {
            if (lengths[r] > std::numeric_limits<int>::max() ||
                total > std::numeric_limits<int>::max() - lengths[r])
                throw Error("MPI: an allgather of " + std::to_string(total + lengths[r]) +
                            " bytes is over MPI's int counts");
            counts[r] = static_cast<int>(lengths[r]);
            offsets[r] = static_cast<int>(total);
            total += lengths[r];
        }
        std::string all(static_cast<std::size_t>(total), '\0');
        check_mpi(MPI_Allgatherv(mine.data(), static_cast<int>(mine.size()), MPI_BYTE, all.data(),
                                 counts.data(), offsets.data(), MPI_BYTE, MPI_COMM_WORLD),
                  "MPI_Allgatherv");
        std::vector<std::string> out(size);
        for (std::size_t r = 0; r < size; ++r)
            out[r] = all.substr(static_cast<std::size_t>(offsets[r]),
                                static_cast<std::size_t>(counts[r]));
        return out;
    }

private:
    int m_rank = 0, m_size = 1;
    bool m_owns = false;
};

}  // namespace

std::shared_ptr<Communicator> mpi_communicator() {
    // One world per process, shared by its users: MPI is initialised once a process, and
    // must be finalised before the process exits (a launcher reports a process that did not).
    static std::mutex mutex;
    static std::weak_ptr<Communicator> world;
    std::lock_guard<std::mutex> lock(mutex);
    std::shared_ptr<Communicator> w = world.lock();
    if (!w) {
        w = std::make_shared<MpiWorld>();
        world = w;
    }
    return w;
}

#else

std::shared_ptr<Communicator> mpi_communicator() {
    throw Error("MPI: this descent was built without MPI; install an MPI (Debian: openmpi-bin "
                "libopenmpi-dev) and configure with -DDESCENT_MPI=ON");
}

#endif

}  // namespace descent
