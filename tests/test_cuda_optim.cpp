// Fused optimizer kernel vs the CPU loop: every optimizer x preset x dtype, 12 steps on random
// gradients, two parameter tensors of awkward sizes; parameters and state must agree to 1e-12
// (f64) / 1e-5 (f32) relative. Needs a CUDA device (else the executable exits 77: skipped).
#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "descent/descent.hpp"

using namespace descent;
using namespace descent::optim;

namespace {

std::vector<double> random_values(std::size_t n, std::mt19937_64& rng) {
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    std::vector<double> v(n);
    for (auto& x : v) x = u(rng);
    return v;
}

// max |a - b| / max |b|: nvcc fuses a*b + c into one rounding where the host rounds twice,
// so an entry that cancels to near zero has no meaningful relative error of its own.
double max_rel_err(const std::vector<double>& a, const std::vector<double>& b) {
    double diff = 0, scale = 1e-300;
    for (std::size_t i = 0; i < a.size(); ++i) {
        diff = std::max(diff, std::abs(a[i] - b[i]));
        scale = std::max(scale, std::abs(b[i]));
    }
    return diff / scale;
}

}  // namespace

TEST_CASE("fused optimizer kernels match the CPU path", "[cuda][optim]") {
    const Device gpu = Device::cuda(0);
    for (const std::string& name : optimizer_names()) {
        // not elementwise: Newton in the Newton tests, the curvature methods in test_cuda_training
        if (name == "newton" || name == "newton-cg" || name == "lbfgs") continue;
        for (Preset preset : {Preset::blog, Preset::torch}) {
            for (DType dtype : {DType::f32, DType::f64}) {
                const std::string label = name + " " + preset_name(preset) + " " + dtype_name(dtype);
                DYNAMIC_SECTION(label) {
                    std::mt19937_64 rng(42);
                    OptimizerConfig c;
                    c.name = name;
                    c.preset = preset;
                    const std::vector<std::int64_t> sizes{255, 257};
                    std::vector<Tensor> cpu_params, gpu_params;
                    for (auto n : sizes) {
                        const auto init = random_values(n, rng);
                        cpu_params.push_back(from_vector(init, {n}, dtype).requires_grad_());
                        gpu_params.push_back(from_vector(init, {n}, dtype, gpu).requires_grad_());
                    }
                    auto cpu_opt = make_optimizer(c, cpu_params);
                    auto gpu_opt = make_optimizer(c, gpu_params);
                    for (int step = 0; step < 12; ++step) {
                        for (std::size_t k = 0; k < sizes.size(); ++k) {
                            const auto g = random_values(sizes[k], rng);
                            cpu_params[k].set_grad(from_vector(g, {sizes[k]}, dtype));
                            gpu_params[k].set_grad(from_vector(g, {sizes[k]}, dtype, gpu));
                        }
                        cpu_opt->step();
                        gpu_opt->step();
                    }
                    const double tol = dtype == DType::f64 ? 1e-12 : 1e-5;
                    for (std::size_t k = 0; k < sizes.size(); ++k)
                        CHECK(max_rel_err(gpu_params[k].to_vector<double>(),
                                          cpu_params[k].to_vector<double>()) <= tol);
                    const OptimizerState cs = cpu_opt->state(), gs = gpu_opt->state();
                    for (std::size_t k = 0; k < sizes.size(); ++k)
                        for (const auto& [key, buffer] : cs.params[k].buffers)
                            CHECK(max_rel_err(gs.params[k].buffers.at(key).to_vector<double>(),
                                              buffer.to_vector<double>()) <= tol);
                }
            }
        }
    }
}
