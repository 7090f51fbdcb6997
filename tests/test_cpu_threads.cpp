// The CPU backend is deterministic for any thread count. The hot path works in fixed row
// blocks whose partials are combined in block order; the selections and the index gather give
// each output to one thread. 1, 2 and 3 threads must give bitwise identical results.
#include <catch2/catch.hpp>

#include "descent/descent.hpp"

using namespace descent;

TEST_CASE("linear_mse gives bitwise identical results for any thread count", "[cpu][threads]") {
    const int original = cpu_threads();
    for (DType dtype : {DType::f32, DType::f64}) {
        for (std::int64_t d : {2, 5, 16}) {
            SyntheticSpec spec;
            spec.n = 50000;  // 13 row blocks of 4096: threads get uneven shares
            spec.d = d - 1;
            spec.seed = 11;
            const Dataset data = synthetic_dataset(spec, true, dtype, Device::cpu());
            const Tensor w = full({d}, 0.25, dtype);
            std::vector<LinearMseResult> results;
            std::vector<Tensor> hvps;
            for (int threads : {1, 2, 3}) {
                set_cpu_threads(threads);
                results.push_back(linear_mse_value_grad_hessian(data.X, data.y, w));
                hvps.push_back(linear_mse_hvp(data.X, w));
            }
            for (std::size_t k = 1; k < results.size(); ++k) {
                INFO(dtype_name(dtype) << " d=" << d << " run " << k);
                CHECK(results[k].loss.to_vector<double>() == results[0].loss.to_vector<double>());
                CHECK(results[k].grad.to_vector<double>() == results[0].grad.to_vector<double>());
                CHECK(results[k].hessian.to_vector<double>() == results[0].hessian.to_vector<double>());
                CHECK(hvps[k].to_vector<double>() == hvps[0].to_vector<double>());
            }
        }
    }
    set_cpu_threads(original);
    CHECK_THROWS_AS(set_cpu_threads(0), Error);
}

// The selections and the index gather split their outputs between threads (src/cpu/select.cpp);
// each output is computed by one thread in a fixed order, so any thread count gives the same
// bits. Sizes are above the parallel threshold (2^16 elements touched), with ties everywhere
// (values on a grid of 1/4) so that the first position of a maximum is what is tested.
TEST_CASE("max, argmax, where, index_select and its backward are bitwise identical for any thread count",
          "[cpu][threads]") {
    const int original = cpu_threads();
    for (DType dtype : {DType::f32, DType::f64}) {
        std::vector<double> v(600 * 700);
        for (std::size_t i = 0; i < v.size(); ++i) v[i] = double((i * 7919) % 29) / 4.0;
        const Tensor a = from_vector(v, {600, 700}, dtype);
        std::vector<double> idx(50000);
        for (std::size_t j = 0; j < idx.size(); ++j) idx[j] = double((j * 31) % 600 / 7);  // runs of ~7 * 83
        const Tensor index = from_vector(idx, {static_cast<std::int64_t>(idx.size())}, dtype);
        std::vector<std::vector<std::vector<double>>> results;
        for (int threads : {1, 2, 3}) {
            set_cpu_threads(threads);
            Tensor x = a.detach().requires_grad_();
            const Tensor picked = index_select(x, 0, index);  // (50000, 700)
            sum(picked * 0.1).backward();
            results.push_back({max(a, 0).to_vector<double>(), argmax(a, 1).to_vector<double>(),
                               min(a, 1, true).to_vector<double>(), argmax(a).to_vector<double>(),
                               where(gt(a, 3.0), a, a * 2.0).to_vector<double>(),
                               picked.to_vector<double>(), x.grad().to_vector<double>(),
                               softmax(a, 0).to_vector<double>()});
        }
        for (std::size_t k = 1; k < results.size(); ++k)
            for (std::size_t r = 0; r < results[0].size(); ++r) {
                INFO(dtype_name(dtype) << " run " << k << ", result " << r);
                CHECK(results[k][r] == results[0][r]);
            }
    }
    set_cpu_threads(original);
}

// The matrix product splits C's rows between threads (src/cpu/linalg.cpp), each entry one
// fixed sum; the elementwise ops split their outputs. A net's training step, which is made
// of them, gives the same bits for any thread count.
TEST_CASE("matmul, elementwise ops and a net's training are bitwise identical for any thread count",
          "[cpu][threads]") {
    const int original = cpu_threads();
    RandomState rng(4);
    for (DType dtype : {DType::f32, DType::f64}) {
        const Tensor A = from_vector(rng.standard_normal(300 * 170), {300, 170}, dtype);
        const Tensor B = from_vector(rng.standard_normal(170 * 90), {170, 90}, dtype);
        const Tensor C = from_vector(rng.standard_normal(300 * 90), {300, 90}, dtype);
        const Tensor X = from_vector(rng.standard_normal(2000 * 5), {2000, 5}, dtype);
        const Tensor y = from_vector(rng.standard_normal(2000), {2000}, dtype);
        std::vector<std::vector<std::vector<double>>> results;
        for (int threads : {1, 2, 3}) {
            set_cpu_threads(threads);
            const nn::Sequential net = nn::mlp({5, 64, 1}, nn::Activation::tanh, 2, dtype);
            optim::OptimizerConfig config;
            config.name = "adam";
            auto adam = optim::make_optimizer(config, net.parameters());
            TrainOptions options;
            options.epochs = 3;
            const TrainResult r = train(net, Loss::mse, X, y, *adam, options);
            results.push_back({matmul(A, B).to_vector<double>(),
                               matmul(transpose(A), C).to_vector<double>(),
                               matmul(C, transpose(B)).to_vector<double>(),
                               tanh(A).to_vector<double>(), (A * 2.0 + A).to_vector<double>(),
                               (C + B.narrow(0, 0, 1)).to_vector<double>(), r.losses,
                               r.final_weights});
        }
        for (std::size_t k = 1; k < results.size(); ++k)
            for (std::size_t i = 0; i < results[0].size(); ++i) {
                INFO(dtype_name(dtype) << " result " << i << " run " << k);
                CHECK(results[k][i] == results[0][i]);
            }
    }
    set_cpu_threads(original);
}
