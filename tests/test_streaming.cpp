// Streamed data: the pass over chunks (synthetic rows generated on the fly, or host rows
// read chunk by chunk: StreamedHost) equals the pass over the in-memory data set to rounding,
// for any chunk size; training on it equals training in memory, for every optimizer; it is
// deterministic; misuse is refused. (The CUDA side of host streaming: test_cuda_training.)
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "descent/descent.hpp"
#include "error_of.hpp"

using namespace descent;
using Catch::Matchers::Contains;

namespace {

// Largest |a - b| relative to the largest |b|.
double scaled_err(const Tensor& a, const Tensor& b) {
    const auto va = a.to_vector<double>(), vb = b.to_vector<double>();
    REQUIRE(va.size() == vb.size());
    double worst = 0.0, scale = 1e-300;
    for (double v : vb) scale = std::max(scale, std::fabs(v));
    for (std::size_t i = 0; i < va.size(); ++i) worst = std::max(worst, std::fabs(va[i] - vb[i]));
    return worst / scale;
}

StreamedSynthetic streamed(std::int64_t n, std::int64_t d, std::int64_t chunk, bool intercept = true) {
    StreamedSynthetic s;
    s.spec.n = n;
    s.spec.d = d;
    s.spec.noise = 0.3;
    s.spec.seed = 21;
    s.intercept = intercept;
    s.chunk_rows = chunk;
    return s;
}

// Adam for 9 epochs on `source` (4 weights, f64) equals 4 epochs, a checkpoint, and 5 more
// epochs resumed from it, bitwise.
template <class Source>
void check_resume_bitwise(const Source& source) {
    optim::OptimizerConfig config;
    config.name = "adam";
    config.lr = 0.05;
    Tensor w1 = zeros({4}, DType::f64).requires_grad_();
    auto whole = optim::make_optimizer(config, {w1});
    TrainOptions t;
    t.epochs = 9;
    const TrainResult expected = train_linear_streamed(source, *whole, t);

    Tensor w2 = zeros({4}, DType::f64).requires_grad_();
    auto first = optim::make_optimizer(config, {w2});
    TrainOptions part = t;
    part.epochs = 4;
    Checkpoint saved;
    part.on_checkpoint = [&](const TrainResult& so_far) {
        saved = make_checkpoint(*first, 4, so_far.losses);
    };
    train_linear_streamed(source, *first, part);
    Tensor w3 = zeros({4}, DType::f64).requires_grad_();
    auto second = optim::make_optimizer(config, {w3});
    restore_checkpoint(saved, *second);
    TrainResult before;
    before.losses = saved.losses;
    TrainOptions rest = t;
    rest.resume = &before;
    const TrainResult resumed = train_linear_streamed(source, *second, rest);
    CHECK(resumed.losses == expected.losses);
    CHECK(resumed.final_weights == expected.final_weights);
}

}  // namespace

TEST_CASE("the streamed pass equals the in-memory pass for any chunk size", "[streaming]") {
    for (DType dtype : {DType::f64, DType::f32}) {
        for (bool intercept : {true, false}) {
            const StreamedSynthetic base = streamed(10007, 5, 1, intercept);
            const Dataset data = synthetic_dataset(base.spec, intercept, dtype, Device::cpu());
            const std::int64_t d = data.X.shape()[1];
            std::vector<double> wv;
            for (std::int64_t j = 0; j < d; ++j) wv.push_back(0.3 * double(j) - 0.7);
            const Tensor w = from_vector(wv, {d}, dtype);
            const LinearMseResult ref = linear_mse_value_grad_hessian(data.X, data.y, w);
            const double tol = dtype == DType::f64 ? 1e-12 : 1e-5;
            for (std::int64_t chunk : {7, 4096, 5000, 10007, 1000000}) {
                StreamedSynthetic s = base;
                s.chunk_rows = chunk;
                INFO(dtype_name(dtype) << (intercept ? " intercept" : "") << " chunk " << chunk);
                const LinearMseResult r = linear_mse_streamed(s, w, true);
                CHECK(scaled_err(r.loss, ref.loss) <= tol);
                CHECK(scaled_err(r.grad, ref.grad) <= tol);
                CHECK(scaled_err(r.hessian, ref.hessian) <= tol);
                const LinearMseResult again = linear_mse_streamed(s, w, false);
                CHECK(again.loss.to_vector<double>() == r.loss.to_vector<double>());
                CHECK(again.grad.to_vector<double>() == r.grad.to_vector<double>());
                CHECK_FALSE(again.hessian.defined());
            }
        }
    }
}

TEST_CASE("training on streamed data equals training in memory", "[streaming][train]") {
    const StreamedSynthetic s = streamed(20000, 4, 3000);
    const Dataset data = synthetic_dataset(s.spec, true, DType::f64, Device::cpu());
    for (const std::string name : {"adam", "momentum", "newton"}) {
        INFO(name);
        optim::OptimizerConfig config;
        config.name = name;
        config.lr = name == "newton" ? 0.5 : 0.05;
        Tensor w1 = zeros({5}, DType::f64).requires_grad_();
        Tensor w2 = zeros({5}, DType::f64).requires_grad_();
        auto o1 = optim::make_optimizer(config, {w1});
        auto o2 = optim::make_optimizer(config, {w2});
        TrainOptions t;
        t.epochs = name == "newton" ? 4 : 25;
        t.record_weights = true;
        const TrainResult in_memory = train_linear(data.X, data.y, *o1, t);
        const TrainResult streamed_run = train_linear_streamed(s, *o2, t);
        REQUIRE(streamed_run.losses.size() == in_memory.losses.size());
        for (std::size_t e = 0; e < in_memory.losses.size(); ++e)
            CHECK(streamed_run.losses[e] == Approx(in_memory.losses[e]).epsilon(1e-11));
        for (std::size_t j = 0; j < 5; ++j)
            CHECK(streamed_run.final_weights[j] ==
                  Approx(in_memory.final_weights[j]).epsilon(1e-10).margin(1e-12));
        CHECK(streamed_run.weights.size() == in_memory.weights.size());
    }
}

TEST_CASE("streamed training resumes from a checkpoint bitwise", "[streaming][checkpoint]") {
    check_resume_bitwise(streamed(5000, 3, 1024));
}

TEST_CASE("streamed misuse is refused", "[streaming][errors]") {
    StreamedSynthetic s = streamed(100, 2, 10);
    CHECK_THAT(error_of([&] { linear_mse_streamed(s, zeros({2}, DType::f64)); }),
               Contains("3 columns") && Contains("(2,)"));
    s.chunk_rows = 0;
    CHECK_THAT(error_of([&] { linear_mse_streamed(s, zeros({3}, DType::f64)); }),
               Contains("chunk_rows") && Contains(">= 1"));
    s.chunk_rows = 10;
    Tensor w = zeros({3}, DType::f64).requires_grad_();
    optim::OptimizerConfig config;
    auto gd = optim::make_optimizer(config, {w});
    TrainOptions t;
    t.batch_size = 10;
    CHECK_THAT(error_of([&] { train_linear_streamed(s, *gd, t); }),
               Contains("streamed") && Contains("full batch"));
    s.spec.noise = -1;
    CHECK_THAT(error_of([&] { linear_mse_streamed(s, zeros({3}, DType::f64)); }), Contains("noise"));
}

// --- host data (StreamedHost) -------------------------------------------------------------

namespace {

// A data set in host memory: the synthetic generator's rows, so that the numbers are not
// ours to choose (and include a ones column).
Dataset host_data(std::int64_t n, std::int64_t features, DType dtype) {
    SyntheticSpec spec;
    spec.n = n;
    spec.d = features;
    spec.noise = 0.5;
    spec.seed = 77;
    return synthetic_dataset(spec, true, dtype, Device::cpu());
}

StreamedHost on_host(const Dataset& data, std::int64_t chunk) {
    StreamedHost h;
    h.X = data.X;
    h.y = data.y;
    h.chunk_rows = chunk;
    return h;
}

bool same_bits(const Tensor& a, const Tensor& b) {
    const auto va = a.to_vector<double>(), vb = b.to_vector<double>();
    return va.size() == vb.size() &&
           (va.empty() || std::memcmp(va.data(), vb.data(), va.size() * sizeof(double)) == 0);
}

// Largest |a_i - b_i| relative to the largest |b_i|, over whole vectors.
double scaled_err(const std::vector<double>& a, const std::vector<double>& b) {
    REQUIRE(a.size() == b.size());
    double worst = 0.0, scale = 1e-300;
    for (double v : b) scale = std::max(scale, std::fabs(v));
    for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(a[i] - b[i]));
    return worst / scale;
}

}  // namespace

TEST_CASE("host data streamed on the cpu equals the in-memory pass for any chunk size",
          "[streaming][host]") {
    constexpr std::int64_t n = 1009;
    for (DType dtype : {DType::f64, DType::f32}) {
        const Dataset data = host_data(n, 6, dtype);
        const std::int64_t d = data.X.shape()[1];
        std::vector<double> wv;
        for (std::int64_t j = 0; j < d; ++j) wv.push_back(0.4 * double(j) - 1.1);
        const Tensor w = from_vector(wv, {d}, dtype);
        const LinearMseResult ref = linear_mse_value_grad_hessian(data.X, data.y, w);
        const double tol = dtype == DType::f64 ? 1e-12 : 1e-5;
        for (std::int64_t chunk : {std::int64_t(1), std::int64_t(7), n - 1, n, n + 100}) {
            INFO(dtype_name(dtype) << " chunk " << chunk);
            const StreamedHost h = on_host(data, chunk);
            const LinearMseResult r = linear_mse_streamed(h, w, true);
            CHECK(r.loss.device() == Device::cpu());
            CHECK(r.grad.shape() == Shape{d});
            CHECK(r.hessian.shape() == (Shape{d, d}));
            CHECK(scaled_err(r.loss, ref.loss) <= tol);
            CHECK(scaled_err(r.grad, ref.grad) <= tol);
            CHECK(scaled_err(r.hessian, ref.hessian) <= tol);
            // Deterministic: the same chunking gives the same bits, with or without the Hessian.
            const LinearMseResult again = linear_mse_streamed(h, w, true);
            CHECK(same_bits(again.loss, r.loss));
            CHECK(same_bits(again.grad, r.grad));
            CHECK(same_bits(again.hessian, r.hessian));
            const LinearMseResult no_hessian = linear_mse_streamed(h, w);
            CHECK(same_bits(no_hessian.loss, r.loss));
            CHECK(same_bits(no_hessian.grad, r.grad));
            CHECK_FALSE(no_hessian.hessian.defined());
        }
    }
}

TEST_CASE("training on host-streamed data equals training in memory, every optimizer",
          "[streaming][host][train]") {
    constexpr std::int64_t n = 701;
    for (DType dtype : {DType::f64, DType::f32}) {
        const Dataset data = host_data(n, 4, dtype);
        const std::int64_t d = data.X.shape()[1];
        const double tol = dtype == DType::f64 ? 1e-12 : 1e-5;
        for (const std::string name : {"gd", "momentum", "adagrad", "rmsprop", "adam", "adamw", "newton"}) {
            for (std::int64_t chunk : {std::int64_t(7), n - 1}) {
                INFO(dtype_name(dtype) << " " << name << " chunk " << chunk);
                optim::OptimizerConfig config;
                config.name = name;
                config.lr = name == "newton" ? 0.5 : 0.05;
                const auto run = [&](bool streamed) {
                    Tensor w = zeros({d}, dtype).requires_grad_();
                    auto opt = optim::make_optimizer(config, {w});
                    TrainOptions t;
                    t.epochs = name == "newton" ? 3 : 6;
                    t.record_weights = true;
                    return streamed ? train_linear_streamed(on_host(data, chunk), *opt, t)
                                    : train_linear(data.X, data.y, *opt, t);
                };
                const TrainResult in_memory = run(false);
                const TrainResult streamed_run = run(true);
                REQUIRE(streamed_run.losses.size() == in_memory.losses.size());
                REQUIRE(streamed_run.weights.size() == in_memory.weights.size());
                for (std::size_t e = 0; e < in_memory.losses.size(); ++e) {
                    INFO("epoch " << e);
                    CHECK(std::fabs(streamed_run.losses[e] - in_memory.losses[e]) <=
                          tol * std::fabs(in_memory.losses[e]));
                    CHECK(scaled_err(streamed_run.weights[e], in_memory.weights[e]) <= tol);
                }
                CHECK(scaled_err(streamed_run.final_weights, in_memory.final_weights) <= tol);
                CHECK(scaled_err(streamed_run.final_grad, in_memory.final_grad) <= tol);
                // Two streamed runs: bitwise the same.
                const TrainResult again = run(true);
                CHECK(again.losses == streamed_run.losses);
                CHECK(again.weights == streamed_run.weights);
            }
        }
    }
}

TEST_CASE("host-streamed training resumes bitwise and reports divergence",
          "[streaming][host][checkpoint]") {
    const Dataset data = host_data(3000, 3, DType::f64);
    const StreamedHost h = on_host(data, 512);
    check_resume_bitwise(h);

    // Divergence: the report's 2/lambda_max is the in-memory data's.
    optim::OptimizerConfig config;
    config.name = "gd";
    config.lr = 50.0;
    Tensor w4 = zeros({4}, DType::f64).requires_grad_();
    auto gd = optim::make_optimizer(config, {w4});
    TrainOptions many;
    many.epochs = 500;
    const double lambda_max = linear_mse_hessian_max_eigenvalue(data.X);
    const std::string message = error_of([&] { train_linear_streamed(h, *gd, many); });
    CHECK_THAT(message, Contains("diverged") && Contains("2/lambda_max"));
    std::ostringstream bound;
    bound << 2.0 / lambda_max;
    CHECK_THAT(message, Contains(bound.str()));
}

TEST_CASE("host-streamed misuse is refused, naming what is wrong", "[streaming][host][errors]") {
    const Dataset data = host_data(100, 2, DType::f64);
    const Tensor w = zeros({3}, DType::f64);
    StreamedHost h = on_host(data, 10);

    StreamedHost undefined = h;
    undefined.X = Tensor();
    CHECK_THAT(error_of([&] { linear_mse_streamed(undefined, w); }),
               Contains("linear_mse_streamed") && Contains("X and y must be defined"));

    // dtype: the data must be of the weights' dtype (X, or y alone).
    CHECK_THAT(error_of([&] { linear_mse_streamed(h, zeros({3}, DType::f32)); }),
               Contains("dtype") && Contains("X is f64") && Contains("weights are f32"));
    StreamedHost y32 = h;
    y32.y = data.y.to(DType::f32);
    CHECK_THAT(error_of([&] { linear_mse_streamed(y32, w); }),
               Contains("dtype") && Contains("y is f32"));

    // shapes: weights, y's length, X's rank
    CHECK_THAT(error_of([&] { linear_mse_streamed(h, zeros({2}, DType::f64)); }),
               Contains("3 columns") && Contains("(2,)"));
    StreamedHost short_y = h;
    short_y.y = zeros({99}, DType::f64);
    CHECK_THAT(error_of([&] { linear_mse_streamed(short_y, w); }),
               Contains("X (n, d) and y (n)") && Contains("(100, 3)") && Contains("(99,)"));
    StreamedHost flat = h;
    flat.X = zeros({300}, DType::f64);
    CHECK_THAT(error_of([&] { linear_mse_streamed(flat, w); }),
               Contains("X (n, d) and y (n)") && Contains("(300,)"));

    // chunk_rows
    for (std::int64_t bad : {0, -3}) {
        h.chunk_rows = bad;
        CHECK_THAT(error_of([&] { linear_mse_streamed(h, w); }),
                   Contains("chunk_rows") && Contains(">= 1") && Contains(std::to_string(bad)));
    }
    h.chunk_rows = 10;

    // training: full batch only, one parameter
    Tensor wt = zeros({3}, DType::f64).requires_grad_();
    optim::OptimizerConfig config;
    auto gd = optim::make_optimizer(config, {wt});
    TrainOptions t;
    t.batch_size = 10;
    CHECK_THAT(error_of([&] { train_linear_streamed(h, *gd, t); }),
               Contains("streamed") && Contains("full batch"));
    Tensor other = zeros({3}, DType::f64).requires_grad_();
    auto two = optim::make_optimizer(config, {wt, other});
    CHECK_THAT(error_of([&] { train_linear_streamed(h, *two); }), Contains("exactly one parameter"));
    StreamedHost bad_chunk = h;
    bad_chunk.chunk_rows = 0;
    CHECK_THAT(error_of([&] { train_linear_streamed(bad_chunk, *gd); }),
               Contains("train_linear_streamed") && Contains("chunk_rows"));

    // Data on a device is not host data (only checkable where a device exists).
    if (cuda_available()) {
        StreamedHost on_device = h;
        on_device.X = data.X.to(Device::cuda(0));
        CHECK_THAT(error_of([&] { linear_mse_streamed(on_device, w); }),
                   Contains("host memory") && Contains("cuda:0"));
    }
}
