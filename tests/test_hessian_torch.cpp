// Second derivatives against PyTorch: descent::hessian, descent::hvp and descent::grad (f64,
// CPU) against torch.autograd.functional.hessian / hvp and torch.autograd.grad, as recorded
// by tests/reference/hessian_reference.py in tests/reference/fixtures/torch_hessian.txt
// (format: tests/reference/README.md). Each case's f is rebuilt here from descent's ops:
//  - linear_mse  mean(square(X w - y)), and the same f through mse_loss;
//  - logistic    mean(log(1 + exp(-y * (X w)))), written out as torch's script writes it;
//  - mlp_tanh    pred = tanh(X W1ᵀ + b1) W2ᵀ + b2, mean(square(pred - y)); there is no slicing
//                op, so W1, b1, W2, b2 are taken from the flat x with constant 0/1 selection
//                matrices (matmul) and reshape;
//  - rosenbrock  sum 100 (x_{i+1} - x_i²)² + (1 - x_i)², x_i and x_{i+1} again by selection
//                matrices; at a random point and at the minimum (1, ..., 1).
// Tolerance: 1e-10 relative, entry by entry. An entry that is exactly zero in torch (the
// Rosenbrock Hessian off its tridiagonal, the gradient at the minimum) is held to
// |descent - torch| <= 1e-10 * max(1, max |torch|) over that vector or matrix instead.
// Also: hessian(w -> mse_loss(matmul(X, w), y), w) against the fused
// linear_mse_value_grad_hessian(X, y, w).hessian to 1e-12 on seeded random data (50 x 6).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "descent/functional.hpp"
#include "descent/loss.hpp"
#include "descent/ops.hpp"
#include "descent/random.hpp"
#include "descent/tensor.hpp"
#include "fixture_file.hpp"

namespace {

using descent::DType;
using descent::Shape;
using descent::Tensor;

constexpr double kTol = 1e-10;

struct HessianCase {
    std::string name, function;
    std::int64_t p = 0, n = 0, in = 0, hidden = 0;
    std::vector<double> X, y, x, v, grad, hessian, hvp;
    double f = 0.0;
};

std::vector<HessianCase> load_cases() {
    std::vector<HessianCase> cases;
    HessianCase c;
    for (const auto& r : fixture::read("torch_hessian.txt")) {
        const std::string& tag = r[0];
        if (tag == "case") {
            c = HessianCase{};
            c.name = r.at(1);
            c.function = r.at(2);
            c.p = std::stoll(r.at(3));
            c.n = std::stoll(r.at(4));
            c.in = std::stoll(r.at(5));
            c.hidden = std::stoll(r.at(6));
        } else if (tag == "X") {
            c.X = fixture::numbers(r, 1);
        } else if (tag == "y") {
            c.y = fixture::numbers(r, 1);
        } else if (tag == "x") {
            c.x = fixture::numbers(r, 1);
        } else if (tag == "v") {
            c.v = fixture::numbers(r, 1);
        } else if (tag == "f") {
            c.f = fixture::number(r.at(1));
        } else if (tag == "grad") {
            c.grad = fixture::numbers(r, 1);
        } else if (tag == "hessian") {
            c.hessian = fixture::numbers(r, 1);
        } else if (tag == "hvp") {
            c.hvp = fixture::numbers(r, 1);
        } else if (tag == "end") {
            cases.push_back(c);
        }
    }
    return cases;
}

// The worst error of `got` against the torch reference `ref`: |got - ref| / |ref| where ref is
// nonzero, |got - ref| / max(1, max |ref|) where ref is exactly zero. Infinity when the sizes
// differ; NaN propagates.
double worst_err(const std::vector<double>& got, const std::vector<double>& ref) {
    if (got.size() != ref.size()) return std::numeric_limits<double>::infinity();
    double scale = 1.0;
    for (double r : ref) scale = std::max(scale, std::abs(r));
    double worst = 0.0;
    for (std::size_t i = 0; i < ref.size(); ++i) {
        const double diff = std::abs(got[i] - ref[i]);
        const double err = ref[i] == 0.0 ? diff / scale : diff / std::abs(ref[i]);
        if (!(err <= worst)) worst = err;
    }
    return worst;
}

Tensor f64(const std::vector<double>& data, const Shape& shape) {
    return descent::from_vector(data, shape, DType::f64);
}

// (rows, p) with a one at (i, offset + i): matmul(S, x) is x[offset : offset + rows].
Tensor selection(std::int64_t rows, std::int64_t p, std::int64_t offset) {
    std::vector<double> s(static_cast<std::size_t>(rows * p), 0.0);
    for (std::int64_t i = 0; i < rows; ++i) s[static_cast<std::size_t>(i * p + offset + i)] = 1.0;
    return f64(s, {rows, p});
}

// The case's f, built from descent's ops. `through_mse_loss` (linear_mse only) uses
// descent::mse_loss instead of mean(square(.)).
descent::ScalarFunction make_function(const HessianCase& c, bool through_mse_loss = false) {
    using namespace descent;
    if (c.function == "linear_mse") {
        const Tensor X = f64(c.X, {c.n, c.in}), y = f64(c.y, {c.n});
        if (through_mse_loss) return [X, y](const Tensor& w) { return mse_loss(matmul(X, w), y); };
        return [X, y](const Tensor& w) { return mean(square(sub(matmul(X, w), y))); };
    }
    if (c.function == "logistic") {
        const Tensor X = f64(c.X, {c.n, c.in}), y = f64(c.y, {c.n});
        return [X, y](const Tensor& w) {
            return mean(log(add(exp(mul(neg(y), matmul(X, w))), 1.0)));
        };
    }
    if (c.function == "mlp_tanh") {
        const std::int64_t n = c.n, in = c.in, h = c.hidden, p = c.p;
        REQUIRE(p == h * in + h + h + 1);
        const Tensor X = f64(c.X, {n, in}), y = f64(c.y, {n});
        // x = [W1 (h, in) row-major, b1 (h), W2 (1, h), b2 (1)]
        const Tensor sW1 = selection(h * in, p, 0), sb1 = selection(h, p, h * in),
                     sW2 = selection(h, p, h * in + h), sb2 = selection(1, p, h * in + 2 * h);
        return [=](const Tensor& x) {
            const Tensor W1 = reshape(matmul(sW1, x), {h, in});
            const Tensor b1 = matmul(sb1, x);
            const Tensor W2 = reshape(matmul(sW2, x), {1, h});
            const Tensor b2 = matmul(sb2, x);
            const Tensor hid = tanh(add(matmul(X, transpose(W1)), b1));           // (n, h)
            const Tensor pred = reshape(add(matmul(hid, transpose(W2)), b2), {n});  // (n)
            return mean(square(sub(pred, y)));
        };
    }
    if (c.function == "rosenbrock") {
        const std::int64_t p = c.p;
        const Tensor A = selection(p - 1, p, 0), B = selection(p - 1, p, 1);  // x_i, x_{i+1}
        return [A, B](const Tensor& x) {
            const Tensor a = matmul(A, x), b = matmul(B, x);
            return sum(add(mul(square(sub(b, square(a))), 100.0), square(rsub(1.0, a))));
        };
    }
    FAIL("unknown function in torch_hessian.txt: " << c.function);
    return {};
}

void check_case(const HessianCase& c, const descent::ScalarFunction& f, const std::string& label) {
    INFO(label);
    const std::int64_t p = c.p;
    REQUIRE(static_cast<std::int64_t>(c.x.size()) == p);
    REQUIRE(static_cast<std::int64_t>(c.hessian.size()) == p * p);

    // f(x) and the gradient, from a leaf that requires grad.
    Tensor leaf = f64(c.x, {p});
    leaf.requires_grad_(true);
    const Tensor fx = f(leaf);
    REQUIRE(fx.numel() == 1);
    const double f_err = worst_err({fx.item()}, {c.f});
    const std::vector<Tensor> g = descent::grad({fx}, {leaf});
    REQUIRE(g.size() == 1);
    REQUIRE(g[0].shape() == Shape{p});
    const double grad_err = worst_err(g[0].to_vector<double>(), c.grad);

    // The Hessian and H v, at a plain (no grad) x, as torch.autograd.functional takes it.
    const Tensor x = f64(c.x, {p});
    const Tensor H = descent::hessian(f, x);
    REQUIRE(H.shape() == Shape{p, p});
    REQUIRE(H.dtype() == DType::f64);
    const double hess_err = worst_err(H.to_vector<double>(), c.hessian);

    const Tensor Hv = descent::hvp(f, x, f64(c.v, {p}));
    REQUIRE(Hv.shape() == Shape{p});
    CHECK_FALSE(Hv.requires_grad());
    const double hvp_err = worst_err(Hv.to_vector<double>(), c.hvp);
    CHECK(x.to_vector<double>() == c.x);  // x is not modified
    CHECK_FALSE(x.grad().defined());

    INFO("worst relative error: f " << f_err << ", grad " << grad_err << ", hessian " << hess_err
                                    << ", hvp " << hvp_err);
    CHECK(f_err <= kTol);
    CHECK(grad_err <= kTol);
    CHECK(hess_err <= kTol);
    CHECK(hvp_err <= kTol);
}

}  // namespace

TEST_CASE("hessian, hvp and grad match torch.autograd.functional (f64, cpu)", "[functional][hessian][torch]") {
    const std::vector<HessianCase> cases = load_cases();
    // linear_mse, logistic, mlp_tanh, rosenbrock_random, rosenbrock_minimum
    REQUIRE(cases.size() == 5);
    for (const HessianCase& c : cases) {
        check_case(c, make_function(c), c.name);
        if (c.function == "linear_mse") check_case(c, make_function(c, true), c.name + " (mse_loss)");
    }
}

TEST_CASE("hessian of mse_loss(X w, y) equals linear_mse_value_grad_hessian (f64, cpu)", "[functional][hessian]") {
    // 2/n XᵀX from the fused pass against reverse over reverse through the composed graph.
    // Both sum the same products in different orders; the rounding error of entry (i, j) is
    // bounded by a multiple of sqrt(H_ii H_jj) (Cauchy-Schwarz), so that is the scale.
    const std::int64_t n = 50, d = 6;
    descent::RandomState rng(20240612);
    const Tensor X = descent::from_vector(rng.standard_normal(n * d), {n, d}, DType::f64);
    const Tensor y = descent::from_vector(rng.standard_normal(n), {n}, DType::f64);
    const Tensor w = descent::from_vector(rng.standard_normal(d), {d}, DType::f64);

    const Tensor H = descent::hessian(
        [&](const Tensor& v) { return descent::mse_loss(descent::matmul(X, v), y); }, w);
    const Tensor ref = descent::linear_mse_value_grad_hessian(X, y, w).hessian;
    REQUIRE(H.shape() == Shape{d, d});
    REQUIRE(ref.shape() == Shape{d, d});
    const std::vector<double> h = H.to_vector<double>(), r = ref.to_vector<double>();
    double worst = 0.0;
    for (std::int64_t i = 0; i < d; ++i) {
        for (std::int64_t j = 0; j < d; ++j) {
            const auto at = [d](std::int64_t a, std::int64_t b) { return static_cast<std::size_t>(a * d + b); };
            const double scale = std::sqrt(r[at(i, i)] * r[at(j, j)]);
            const double err = std::abs(h[at(i, j)] - r[at(i, j)]) / scale;
            if (!(err <= worst)) worst = err;
        }
    }
    INFO("worst |H_ij - ref_ij| / sqrt(ref_ii ref_jj): " << worst);
    CHECK(worst <= 1e-12);
}
