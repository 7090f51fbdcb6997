// What the data-parallel tests share (tests/test_distributed.cpp on the CPU,
// tests/test_cuda_distributed.cpp on a GPU): K communicators on K threads, seeded data, a
// training run on a process's rows, and bitwise comparison of runs.
#pragma once

#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <exception>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "descent/descent.hpp"
#include "descent/communicator.hpp"

namespace descent::test {

inline bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

inline bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (!same_bits(a[i], b[i])) return false;
    return true;
}

// Runs body(rank, communicator) on `size` threads, one communicator each; rethrows the first
// exception (after every thread has finished).
inline void on_threads(int size, const std::function<void(int, Communicator&)>& body) {
    const auto comms = thread_communicators(size);
    std::vector<std::exception_ptr> errors(static_cast<std::size_t>(size));
    std::vector<std::thread> threads;
    for (int r = 0; r < size; ++r)
        threads.emplace_back([&, r] {
            try {
                body(r, *comms[static_cast<std::size_t>(r)]);
            } catch (...) {
                errors[static_cast<std::size_t>(r)] = std::current_exception();
                comms[static_cast<std::size_t>(r)]->abandon();  // the others must not wait
            }
        });
    for (std::thread& t : threads) t.join();
    for (const std::exception_ptr& e : errors)
        if (e) std::rethrow_exception(e);
}

struct Data {
    Tensor X, y;
    std::int64_t n = 0;
};

// Regression, 0/1 labels or class labels (classes >= 2) from a fixed seed.
inline Data make_data(std::int64_t n, std::int64_t d, int classes, DType dtype, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> normal(0.0, 1.0);
    std::vector<double> X(static_cast<std::size_t>(n * d)), y(static_cast<std::size_t>(n));
    for (double& v : X) v = normal(rng);
    for (std::int64_t i = 0; i < n; ++i) {
        double s = 0.3;
        for (std::int64_t j = 0; j < d; ++j) s += X[i * d + j] * double(j + 1) / double(d);
        const double noisy = s + 0.5 * normal(rng);
        if (classes == 0) y[i] = noisy;
        else if (classes == 2) y[i] = noisy > 0 ? 1.0 : 0.0;
        else y[i] = double(std::min<std::int64_t>(classes - 1, std::max<std::int64_t>(
                             0, static_cast<std::int64_t>(std::floor(noisy + classes / 2.0)))));
    }
    return {from_vector(X, {n, d}, dtype), from_vector(y, {n}, dtype), n};
}

struct Run {
    Loss loss = Loss::mse;
    int classes = 0;  // 0 regression, 2 logistic, k softmax
    std::string optimizer;
    std::int64_t epochs = 12;
    bool intercept = false;  // LinearModel's implicit intercept
    std::int64_t batch_size = 0;
    bool shuffle = false;
};

inline std::vector<std::int64_t> weight_shape(const Run& run, std::int64_t d) {
    const std::int64_t rows = d + (run.intercept ? 1 : 0);
    if (run.loss == Loss::cross_entropy) return {rows, run.classes};
    return {rows};
}

inline optim::OptimizerConfig config_of(const std::string& name) {
    optim::OptimizerConfig c;
    c.name = name;
    if (name == "gd" || name == "momentum") c.lr = 0.05;
    if (name == "adam" || name == "adamw" || name == "rmsprop" || name == "adagrad") c.lr = 0.02;
    if (name == "lbfgs") c.max_iter = 4;
    return c;
}

// train() on rows `rows` of the data (all rows without a communicator), from a fixed start.
inline TrainResult train_part(const Run& run, const Data& data, Communicator* comm, TrainOptions options,
                       std::vector<double> start = {},
                       const optim::OptimizerState* state = nullptr,
                       optim::OptimizerState* state_out = nullptr,
                       Device device = Device::cpu()) {
    const std::int64_t d = data.X.shape()[1];
    const Shape shape = weight_shape(run, d);
    std::int64_t P = 1;
    for (std::int64_t s : shape) P *= s;
    if (start.empty())
        for (std::int64_t i = 0; i < P; ++i) start.push_back(0.01 * double(i % 7) - 0.02);
    Tensor w = from_vector(start, shape, data.X.dtype(), device).requires_grad_();
    LinearModel model(w, run.intercept);
    auto optimizer = optim::make_optimizer(config_of(run.optimizer), model.parameters());
    if (state) optimizer->load_state(*state);
    options.epochs = run.epochs;
    options.record_weights = true;
    options.batch_size = run.batch_size;
    options.shuffle = run.shuffle;
    options.shuffle_seed = 5;
    Tensor X = data.X, y = data.y;
    if (comm) {
        options.parallel.communicator = comm;
        options.parallel.shard = shard_rows(data.n, comm->rank(), comm->size());
        X = data.X.narrow(0, options.parallel.shard.begin, options.parallel.shard.rows());
        y = data.y.narrow(0, options.parallel.shard.begin, options.parallel.shard.rows());
    }
    TrainResult result = train(model, run.loss, X.to(device), y.to(device), *optimizer, options);
    if (state_out) *state_out = optimizer->state();
    return result;
}

inline void require_same(const TrainResult& a, const TrainResult& b) {
    REQUIRE(same_bits(a.losses, b.losses));
    REQUIRE(same_bits(a.final_weights, b.final_weights));
    REQUIRE(a.weights.size() == b.weights.size());
    for (std::size_t e = 0; e < a.weights.size(); ++e) REQUIRE(same_bits(a.weights[e], b.weights[e]));
    REQUIRE(same_bits(a.final_grad, b.final_grad));
}

// Every process of K gets the one-process result, bitwise.
inline void check_processes(const Run& run, const Data& data) {
    const TrainResult one = train_part(run, data, nullptr, {});
    for (int K = 1; K <= 4; ++K) {
        INFO("K = " << K);
        std::vector<TrainResult> results(static_cast<std::size_t>(K));
        on_threads(K, [&](int r, Communicator& comm) {
            results[static_cast<std::size_t>(r)] = train_part(run, data, &comm, {});
        });
        for (const TrainResult& r : results) require_same(r, one);
    }
}


}  // namespace descent::test
