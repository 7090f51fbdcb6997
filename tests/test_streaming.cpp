// Streamed synthetic data: the pass over chunks generated on the fly equals the pass over the
// in-memory data set to rounding, for any chunk size; training on it equals training in
// memory; it is deterministic; misuse is refused.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <functional>

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
    const StreamedSynthetic s = streamed(5000, 3, 1024);
    optim::OptimizerConfig config;
    config.name = "adam";
    config.lr = 0.05;
    Tensor w1 = zeros({4}, DType::f64).requires_grad_();
    auto whole = optim::make_optimizer(config, {w1});
    TrainOptions t;
    t.epochs = 9;
    const TrainResult expected = train_linear_streamed(s, *whole, t);

    Tensor w2 = zeros({4}, DType::f64).requires_grad_();
    auto first = optim::make_optimizer(config, {w2});
    TrainOptions part = t;
    part.epochs = 4;
    Checkpoint saved;
    part.on_checkpoint = [&](const TrainResult& so_far) {
        saved = make_checkpoint(*first, 4, so_far.losses);
    };
    train_linear_streamed(s, *first, part);
    Tensor w3 = zeros({4}, DType::f64).requires_grad_();
    auto second = optim::make_optimizer(config, {w3});
    restore_checkpoint(saved, *second);
    TrainResult before;
    before.losses = saved.losses;
    TrainOptions rest = t;
    rest.resume = &before;
    const TrainResult resumed = train_linear_streamed(s, *second, rest);
    CHECK(resumed.losses == expected.losses);
    CHECK(resumed.final_weights == expected.final_weights);
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
