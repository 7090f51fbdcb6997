// Processes that train one model together (data-parallel): each holds a shard of the rows
// (descent/shard.hpp) and a copy of the parameters; the fused passes exchange their row blocks'
// partial sums (a few kilobytes a step) and every process then takes the same step. Three
// kinds: the single process (the default), MPI (MPI_COMM_WORLD; built with DESCENT_MPI), and
// threads of one process (tests and examples: K communicators, one per thread).
// Verified by tests/test_distributed.cpp (threads) and tests/cli/distributed.sh (mpirun).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "descent/shard.hpp"

namespace descent {

class Communicator {
public:
    virtual ~Communicator() = default;
    virtual int rank() const = 0;  // 0 .. size() - 1
    virtual int size() const = 0;
    virtual std::string name() const = 0;  // "single process", "MPI", "threads"
    // Every process's `mine` (any length, possibly empty), in rank order, on every process.
    // A collective: every process calls it, in the same order as its other collectives.
    virtual std::vector<std::string> allgather(const std::string& mine) = 0;
    // This process leaves the group after an error it could not agree on (all_or_none): the
    // others' collectives then fail (threads: descent::Error naming it) instead of waiting
    // for it. MPI: the job is aborted (MPI_Abort), which mpirun reports and ends every process.
    virtual void abandon() noexcept {}
    // A barrier that gives up: true when every process arrived within `seconds`. After an
    // error whose reach is unknown (one process's alone, or every process's, as a diverged
    // loss is), a process asks this: true, every process has it and they end together;
    // false, the others are waiting elsewhere, and it must abandon() the group. After false
    // the communicator is not to be used again but for abandon().
    virtual bool arrive_within(double seconds) {
        (void)seconds;
        return true;
    }
};

// A process's part in data-parallel training (TrainOptions::parallel): the processes of
// `communicator` (null: this process alone holds all rows) and the rows this one holds,
// shard_rows(total, rank, size).
struct DataParallel {
    Communicator* communicator = nullptr;
    RowShard shard;
    // After an error in training, how long a process waits for the others to have it too
    // (Communicator::arrive_within) before it reports it as its own and abandons the group.
    double failure_wait_seconds = 10.0;
};

// Rank 0 of 1: allgather returns {mine}.
std::shared_ptr<Communicator> single_process_communicator();

// K communicators of one group, for K threads of this process (each thread uses its own).
std::vector<std::shared_ptr<Communicator>> thread_communicators(int size);

// Whether this build has MPI (DESCENT_MPI), and whether this process was started by an MPI
// launcher (mpirun / mpiexec of Open MPI or MPICH, or srun with PMI/PMIx: their environment).
bool mpi_built();
bool launched_by_mpi();
// MPI_COMM_WORLD, initialising MPI on first use (MPI_THREAD_FUNNELED: only the thread that
// trains calls MPI) and finalising it when the last handle is released, unless the program
// had initialised it. Throws descent::Error when built without MPI.
std::shared_ptr<Communicator> mpi_communicator();

// Runs `work` on every process of `comm`, then agrees: when it threw on any process, every
// process throws; the process whose error it is rethrows its own exception, the others
// descent::Error("process R: <message>") for the lowest such rank R. So a bad file or a bad
// row seen by one process stops them all with that process's error, and none waits forever
// in a later collective. A collective.
void all_or_none(Communicator& comm, const std::function<void()>& work);

// Whether any process's `flag` is true (a collective).
bool any_process(Communicator& comm, bool flag);

// This process's index among the processes of `comm` on its host (the lower ranks with the
// same host name): the GPU a process takes when each trains on one (cuda:local_rank). A
// collective.
int local_rank(Communicator& comm);

}  // namespace descent
