// GPU processes of a data-parallel run (one GPU per process; here K threads of this process
// share the one device, each with its communicator): the fused passes' sums come from the
// tiled kernels' per-block partials (4096 rows each, whichever process holds the block),
// folded on the device in the block tree's order and combined through pinned host memory, so
// - for K = 1..4, linear regression with every optimizer that runs full batch, logistic
//   regression (Newton and Newton-CG: the Hessian is reduced too) and softmax regression give
//   losses, trajectory and final weights bitwise those of K = 1 (more than 256 blocks: the
//   device fold's second level, and single nodes folded on the host against whole ranges
//   folded on the device);
// - K = 1 on the GPU agrees with the CPU's one-process run to rounding (an independent sum);
// - mixed CPU and GPU processes, GPU mini-batches and shapes the tiled kernel cannot take are
//   refused with a message on every process.
// Runs where a CUDA device is present (skipped otherwise, tests/cuda_main.cpp); gpu_check.sh
// also runs the CLI on one GPU under mpirun.
#include <catch2/catch.hpp>

#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "cuda_compare.hpp"
#include "distributed_runs.hpp"

using namespace descent;
using namespace descent::test;
using cuda_compare::max_error;
using cuda_compare::Metric;

namespace {

const Device kGpu = Device::cuda(0);

// K = 2..4 GPU processes equal K = 1 bitwise; K = 1 equals the CPU to `tol` (scaled).
void check_gpu_processes(const Run& run, const Data& data, double tol) {
    std::vector<TrainResult> base(1);
    on_threads(1, [&](int, Communicator& comm) {
        base[0] = train_part(run, data, &comm, {}, {}, nullptr, nullptr, kGpu);
    });
    const TrainResult cpu = train_part(run, data, nullptr, {});
    INFO("GPU against CPU");
    REQUIRE(max_error(base[0].final_weights, cpu.final_weights, Metric::scaled) <= tol);
    REQUIRE(max_error(base[0].losses, cpu.losses, Metric::relative) <= tol);
    for (int K = 2; K <= 4; ++K) {
        INFO("K = " << K);
        std::vector<TrainResult> results(static_cast<std::size_t>(K));
        on_threads(K, [&](int r, Communicator& comm) {
            results[static_cast<std::size_t>(r)] =
                train_part(run, data, &comm, {}, {}, nullptr, nullptr, kGpu);
        });
        for (const TrainResult& r : results) require_same(r, base[0]);
    }
}

// Runs body on K threads (each its communicator) and returns each process's error message
// ("" when it did not throw).
std::vector<std::string> errors_on_threads(int K, const std::function<void(int, Communicator&)>& body) {
    const auto comms = thread_communicators(K);
    std::vector<std::string> errors(static_cast<std::size_t>(K));
    std::vector<std::thread> threads;
    for (int r = 0; r < K; ++r)
        threads.emplace_back([&, r] {
            try {
                body(r, *comms[static_cast<std::size_t>(r)]);
            } catch (const std::exception& e) {
                errors[static_cast<std::size_t>(r)] = e.what();
                comms[static_cast<std::size_t>(r)]->abandon();
            }
        });
    for (std::thread& t : threads) t.join();
    return errors;
}

// Every process stops with an error containing `text`.
void require_refused_everywhere(const std::vector<std::string>& errors, const std::string& text) {
    for (std::size_t r = 0; r < errors.size(); ++r) {
        INFO("process " << r << ": " << errors[r]);
        REQUIRE(errors[r].find(text) != std::string::npos);
    }
}

}  // namespace

TEST_CASE("GPU processes: linear regression, bitwise for any process count", "[cuda][distributed]") {
    const Data many = make_data(300 * 4096 + 77, 4, 0, DType::f64, 1);  // 301 blocks
    for (const char* name : {"adam", "newton", "lbfgs"}) {
        INFO(name);
        Run run;
        run.optimizer = name;
        run.epochs = 5;
        check_gpu_processes(run, many, 1e-9);
    }
    const Data f64 = make_data(5 * 4096 + 77, 4, 0, DType::f64, 2);
    for (const char* name : {"gd", "momentum", "adagrad", "rmsprop", "adamw", "newton-cg"}) {
        INFO(name);
        Run run;
        run.optimizer = name;
        check_gpu_processes(run, f64, 1e-9);
    }
    Run run;
    run.optimizer = "adam";
    check_gpu_processes(run, make_data(3 * 4096 + 1, 16, 0, DType::f32, 3), 1e-4);
    run.optimizer = "newton";  // 16 columns: the Hessian's 136 sums per block
    check_gpu_processes(run, make_data(3 * 4096 + 1, 16, 0, DType::f64, 4), 1e-9);
    run.optimizer = "gd";  // fewer rows than a block: process 0 holds them all
    check_gpu_processes(run, make_data(100, 2, 0, DType::f64, 5), 1e-9);
}

TEST_CASE("GPU processes: logistic and softmax regression, bitwise for any process count",
          "[cuda][distributed]") {
    const Data binary = make_data(4 * 4096 + 9, 3, 2, DType::f64, 6);
    for (const char* name : {"adam", "newton", "newton-cg", "lbfgs"}) {
        INFO(name);
        Run run;
        run.loss = Loss::bce_with_logits;
        run.classes = 2;
        run.optimizer = name;
        check_gpu_processes(run, binary, 1e-9);
    }
    Run run;
    run.loss = Loss::cross_entropy;
    run.classes = 3;
    run.optimizer = "adam";
    check_gpu_processes(run, make_data(3 * 4096 + 500, 3, 3, DType::f64, 7), 1e-9);
    check_gpu_processes(run, make_data(3 * 4096 + 500, 5, 4, DType::f32, 8), 1e-4);
}

TEST_CASE("GPU processes: what a distributed GPU run refuses", "[cuda][distributed]") {
    const Data data = make_data(2 * 4096 + 3, 3, 0, DType::f64, 9);
    Run run;
    run.optimizer = "adam";
    run.epochs = 2;
    // Process 0 on the GPU, process 1 on the CPU.
    require_refused_everywhere(errors_on_threads(2, [&](int r, Communicator& comm) {
                                   train_part(run, data, &comm, {}, {}, nullptr, nullptr,
                                              r == 0 ? kGpu : Device::cpu());
                               }),
                               "all on the CPU or all on GPUs");
    run.batch_size = 700;
    require_refused_everywhere(errors_on_threads(2, [&](int, Communicator& comm) {
                                   train_part(run, data, &comm, {}, {}, nullptr, nullptr, kGpu);
                               }),
                               "GPU processes train full batch");
    // Newton's Hessian in the tiled kernel stops at 64 columns; Newton-CG's H v on logistic
    // regression (from that Hessian) too.
    const Data wide = make_data(4096 + 1, 80, 0, DType::f64, 10);
    Run newton;
    newton.optimizer = "newton";
    newton.epochs = 1;
    require_refused_everywhere(errors_on_threads(3, [&](int, Communicator& comm) {
                                   train_part(newton, wide, &comm, {}, {}, nullptr, nullptr, kGpu);
                               }),
                               "d <= 64 with the Hessian");
    Run ncg;
    ncg.loss = Loss::bce_with_logits;
    ncg.classes = 2;
    ncg.optimizer = "newton-cg";
    ncg.epochs = 1;
    require_refused_everywhere(errors_on_threads(2, [&](int, Communicator& comm) {
                                   train_part(ncg, make_data(4096 + 1, 80, 2, DType::f64, 11),
                                              &comm, {}, {}, nullptr, nullptr, kGpu);
                               }),
                               "64 on GPUs");
}
