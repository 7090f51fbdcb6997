// CUDA device basics (runs only where a device exists; otherwise the executable exits 77 and
// ctest reports it skipped): device query, host<->device round trips, and each primitive on
// the device against the CPU backend on the same random inputs.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "descent/descent.hpp"

using namespace descent;

namespace {
std::vector<double> random_values(std::size_t n, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(0.1, 2.0);
    std::vector<double> v(n);
    for (auto& x : v) x = u(rng);
    return v;
}

double max_rel_err(const Tensor& a, const Tensor& b) {
    const auto x = a.to_vector<double>(), y = b.to_vector<double>();
    REQUIRE(x.size() == y.size());
    double worst = 0;
    for (std::size_t i = 0; i < x.size(); ++i)
        worst = std::max(worst, std::abs(x[i] - y[i]) / std::max(std::abs(y[i]), 1e-300));
    return worst;
}

const Device gpu = Device::cuda(0);
}  // namespace

TEST_CASE("device query reports at least one device", "[cuda]") {
    CHECK(built_with_cuda());
    CHECK(device_count() >= 1);
}

TEST_CASE("host <-> device round trips are exact", "[cuda]") {
    for (DType dt : {DType::f32, DType::f64}) {
        for (std::int64_t n : {1, 255, 257, 100000}) {
            const Tensor h = from_vector(random_values(n, n), {n}, dt);
            const Tensor d = h.to(gpu);
            CHECK(d.device() == gpu);
            CHECK(d.to(Device::cpu()).to_vector<double>() == h.to_vector<double>());
            CHECK(d.to(dt == DType::f32 ? DType::f64 : DType::f32).to_vector<double>() ==
                  h.to(dt == DType::f32 ? DType::f64 : DType::f32).to_vector<double>());
        }
        CHECK(full({3}, 2.5, dt, gpu).to_vector<double>() == std::vector<double>{2.5, 2.5, 2.5});
    }
}

TEST_CASE("ops on the device match the CPU backend", "[cuda]") {
    const double tol = 1e-12;
    const Tensor A = from_vector(random_values(300 * 5, 1), {300, 5});
    const Tensor B = from_vector(random_values(5 * 7, 2), {5, 7});
    const Tensor r = from_vector(random_values(5, 3), {5});
    const Tensor y = from_vector(random_values(300, 4), {300});
    const Tensor Ad = A.to(gpu), Bd = B.to(gpu), rd = r.to(gpu), yd = y.to(gpu);
    CHECK(max_rel_err((Ad + rd).to(Device::cpu()), A + r) <= tol);
    CHECK(max_rel_err(sigmoid(log(Ad) * rd), sigmoid(log(A) * r)) <= tol);
    CHECK(max_rel_err(matmul(Ad, Bd), matmul(A, B)) <= tol);
    CHECK(max_rel_err(transpose(Ad), transpose(A)) <= tol);
    CHECK(max_rel_err(sum(Ad, 0), sum(A, 0)) <= tol);
    CHECK(max_rel_err(mean(Ad), mean(A)) <= tol);
    CHECK(max_rel_err(mse_loss(matmul(Ad, rd), yd), mse_loss(matmul(A, r), y)) <= tol);
    const auto gpu_step = linear_mse_value_grad_hessian(Ad, yd, rd);
    const auto cpu_step = linear_mse_value_grad_hessian(A, y, r);
    CHECK(max_rel_err(gpu_step.loss, cpu_step.loss) <= tol);
    CHECK(max_rel_err(gpu_step.grad, cpu_step.grad) <= tol);
    CHECK(max_rel_err(gpu_step.hessian, cpu_step.hessian) <= tol);
    CHECK(max_rel_err(linear_mse_hessian(Ad), linear_mse_hessian(A)) <= tol);
}

TEST_CASE("autograd runs on the device", "[cuda]") {
    Tensor w = from_vector(random_values(5, 9)).to(gpu).detach().requires_grad_();
    const Tensor X = from_vector(random_values(40 * 5, 10), {40, 5}).to(gpu);
    const Tensor y = from_vector(random_values(40, 11)).to(gpu);
    mean(square(matmul(X, w) - y)).backward();
    CHECK(w.grad().device() == gpu);
    const auto fused = linear_mse_value_and_grad(X, y, w.detach());
    CHECK(max_rel_err(w.grad(), fused.grad) <= 1e-12);
}

TEST_CASE("from_blob wraps device memory without a copy", "[cuda]") {
    // Memory the caller owns on the device (here a tensor's), wrapped and written through.
    Tensor owner = from_vector(std::vector<double>{1, 2, 3, 4, 5, 6}, {6}, DType::f64, Device::cuda(0));
    bool freed = false;
    {
        Tensor view = from_blob(owner.data_ptr(), {2, 3}, DType::f64, Device::cuda(0),
                                [&](void*) { freed = true; });
        CHECK(view.device() == Device::cuda(0));
        CHECK(view.to_vector<double>() == std::vector<double>{1, 2, 3, 4, 5, 6});
        view.narrow(1, 1, 1).fill_(0.5);
        CHECK(sum(view).item() == 1 + 0.5 + 3 + 4 + 0.5 + 6);
    }
    CHECK(freed);
    CHECK(owner.to_vector<double>() == std::vector<double>{1, 0.5, 3, 4, 0.5, 6});
}
