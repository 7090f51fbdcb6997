// Data-parallel linear regression: every process loads only its rows of the data set and
// trains one model with the others; the weights are bitwise those of one process over all rows.
// Run: mpirun -np 4 build/examples/distributed_regression   (alone, it is one process of one)
// It checks itself: the end of the run equals, bit for bit, four threads of this process
// trained the same way (the in-process communicator) and one process without a communicator.
#include <cstdio>
#include <cstring>
#include <thread>

#include "descent/descent.hpp"

using namespace descent;

namespace {

const char* const kData = "synthetic:n=100000,d=8,seed=1";  // 25 blocks of 4096 rows

// This process's part of the run: its rows, the shared model and the same options everywhere.
TrainResult train_part(Communicator* comm) {
    const int rank = comm ? comm->rank() : 0, size = comm ? comm->size() : 1;
    const Dataset data = load_dataset_shard(kData, rank, size, true, DType::f64, Device::cpu());
    Tensor w = zeros({weight_rows(data)}, DType::f64).requires_grad_();
    optim::OptimizerConfig adam;
    adam.name = "adam";
    adam.lr = 0.05;
    auto optimizer = optim::make_optimizer(adam, {w});
    TrainOptions options;
    options.epochs = 100;
    if (comm) options.parallel = {comm, data.rows};
    return train_linear(data.X, data.y, *optimizer, options);
}

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

}  // namespace

int main() {
    // Under mpirun (and built with MPI): MPI_COMM_WORLD; else this process alone.
    const std::shared_ptr<Communicator> comm =
        mpi_built() && launched_by_mpi() ? mpi_communicator() : single_process_communicator();
    const TrainResult mine = train_part(comm.get());
    if (comm->rank() != 0) return 0;

    // The same run on four threads of this process, and on one process with no communicator.
    std::vector<TrainResult> threads(4);
    {
        const auto group = thread_communicators(4);
        std::vector<std::thread> workers;
        for (int r = 0; r < 4; ++r)
            workers.emplace_back([&, r] { threads[r] = train_part(group[r].get()); });
        for (std::thread& t : workers) t.join();
    }
    const TrainResult alone = train_part(nullptr);

    std::printf("%d process%s (%s), %s, adam, 100 epochs\n", comm->size(),
                comm->size() == 1 ? "" : "es", comm->name().c_str(), kData);
    std::printf("final loss %.10g, weights", mine.losses.back());
    for (double v : mine.final_weights) std::printf(" %.6f", v);
    const bool same = same_bits(mine.final_weights, alone.final_weights) &&
                      same_bits(mine.losses, alone.losses) &&
                      same_bits(threads[0].final_weights, alone.final_weights) &&
                      same_bits(threads[3].losses, alone.losses);
    std::printf("\nbitwise the same as 4 threads and as one process: %s\n", same ? "yes" : "NO");
    return same ? 0 : 1;
}
