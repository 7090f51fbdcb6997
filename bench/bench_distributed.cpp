// Distributed training's cost (issue 14 item 6): the full-batch epoch (fused pass + the tree
// nodes' exchange + the step) on this process's shard of synthetic data, timed epoch by epoch
// on process 0; the bytes each step exchanges; the exchange alone (an allgather of that many
// bytes, repeated), for the α-β fit of bench/distributed.sh.
// Run: [mpirun -np K] bench_distributed --n N --d D [--dtype f32] [--epochs E] [--optimizer adam]
//      [--no-communicator]   (one process without the distributed path: the baseline)
// Prints one JSON line (process 0).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench_common.hpp"
#include "descent/descent.hpp"
#include "descent/communicator.hpp"
#include "shared/block_tree.hpp"

using namespace descent;

namespace {

struct Options {
    std::int64_t n = 10000000, d = 16, epochs = 12;
    DType dtype = DType::f32;
    std::string optimizer = "adam";
    bool communicator = true;
    std::int64_t exchange_bytes = -1;  // >= 0: time only an allgather of this many bytes
};

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        const auto next = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "bench_distributed: %s needs a value\n", a.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--n") o.n = std::atoll(next().c_str());
        else if (a == "--d") o.d = std::atoll(next().c_str());
        else if (a == "--epochs") o.epochs = std::atoll(next().c_str());
        else if (a == "--dtype") o.dtype = next() == "f64" ? DType::f64 : DType::f32;
        else if (a == "--optimizer") o.optimizer = next();
        else if (a == "--no-communicator") o.communicator = false;
        else if (a == "--exchange-bytes") o.exchange_bytes = std::atoll(next().c_str());
        else {
            std::fprintf(stderr, "bench_distributed: unknown flag %s\n", a.c_str());
            std::exit(2);
        }
    }
    return o;
}

// The median time of an allgather of `bytes` from every process, over many rounds.
double exchange_seconds(Communicator& comm, std::int64_t bytes) {
    const std::string mine(static_cast<std::size_t>(bytes), 'x');
    for (int i = 0; i < 20; ++i) comm.allgather(mine);
    std::vector<double> t;
    for (int i = 0; i < 200; ++i) {
        const auto t0 = bench::Clock::now();
        comm.allgather(mine);
        t.push_back(bench::seconds_since(t0));
    }
    return bench::median(t);
}

}  // namespace

int main(int argc, char** argv) {
    const Options o = parse(argc, argv);
    std::shared_ptr<Communicator> comm;
    if (o.communicator)
        comm = mpi_built() && launched_by_mpi() ? mpi_communicator() : single_process_communicator();
    const int rank = comm ? comm->rank() : 0, size = comm ? comm->size() : 1;
    if (o.exchange_bytes >= 0) {
        const double s = exchange_seconds(*comm, o.exchange_bytes);
        if (rank == 0)
            std::printf("{\"processes\": %d, \"bytes\": %lld, \"allgather_us\": %.3f}\n", size,
                        static_cast<long long>(o.exchange_bytes), s * 1e6);
        return 0;
    }
    const std::string spec =
        "synthetic:n=" + std::to_string(o.n) + ",d=" + std::to_string(o.d) + ",seed=1";
    const Dataset data = load_dataset_shard(spec, rank, size, true, o.dtype, Device::cpu());
    const std::int64_t P = weight_rows(data);
    Tensor w = zeros({P}, o.dtype).requires_grad_();
    optim::OptimizerConfig config;
    config.name = o.optimizer;
    if (o.optimizer != "newton") config.lr = 1e-3;
    auto optimizer = optim::make_optimizer(config, {w});
    TrainOptions options;
    options.epochs = o.epochs;
    if (comm) options.parallel = {comm.get(), data.rows};
    std::vector<double> stamps;
    options.on_epoch = [&](std::int64_t, double) { stamps.push_back(bench::seconds_since({})); };
    const auto t0 = bench::Clock::now();
    stamps.push_back(bench::seconds_since({}));
    train_linear(data.X, data.y, *optimizer, options);
    const double total = bench::seconds_since(t0);
    // Epoch times after the first (which makes the optimizer's state).
    std::vector<double> epochs;
    for (std::size_t e = 2; e < stamps.size(); ++e) epochs.push_back(stamps[e] - stamps[e - 1]);
    // What a step exchanges: each process's tree nodes (at most two a level), each the
    // pass's 1 + P (+ P^2) doubles and 16 bytes of position; the most any process sends.
    const std::int64_t blocks = (o.n + kShardBlockRows - 1) / kShardBlockRows;
    std::int64_t most_nodes = 0;
    for (int r = 0; r < size && comm; ++r) {
        const RowShard s = shard_rows(o.n, r, size);
        const std::int64_t first = s.begin / kShardBlockRows;
        const std::int64_t last = first + (s.rows() + kShardBlockRows - 1) / kShardBlockRows;
        most_nodes = std::max<std::int64_t>(
            most_nodes, static_cast<std::int64_t>(detail::nodes_of_range(first, last, blocks).size()));
    }
    const std::int64_t entries = 1 + P + (o.optimizer == "newton" ? P * P : 0);
    const std::int64_t step_bytes = 16 + most_nodes * (16 + 8 * entries);
    if (rank == 0)
        std::printf("{\"processes\": %d, \"threads\": %d, \"communicator\": %s, \"n\": %lld, "
                    "\"rows_per_process\": %lld, \"d\": %lld, \"dtype\": \"%s\", \"optimizer\": "
                    "\"%s\", \"epoch_ms\": %.3f, \"total_s\": %.3f, \"nodes_per_step\": %lld, "
                    "\"bytes_sent_per_step\": %lld}\n",
                    size, bench::threads(), comm ? "true" : "false", static_cast<long long>(o.n),
                    static_cast<long long>(data.rows.rows()), static_cast<long long>(o.d),
                    dtype_name(o.dtype), o.optimizer.c_str(), bench::median(epochs) * 1e3, total,
                    static_cast<long long>(most_nodes), static_cast<long long>(step_bytes));
    return 0;
}
