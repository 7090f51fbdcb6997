// The CPU hot path is deterministic for any thread count: fixed row blocks, partials combined
// in block order. 1, 2 and 3 threads must give bitwise identical loss, gradient, Hessian and
// Hessian-vector product.
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
