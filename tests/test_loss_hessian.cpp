// The losses and the linear least-squares Hessian against independent references:
//  (a) mse_loss (value and both gradients) against the composed graph mean(square(p - t));
//  (b) the fused linear_mse_value_and_grad against the composed autodiff graph
//      mean(square(matmul(X, w) - y)), f64 to 1e-12 and f32 against an f64 reference to 1e-5,
//      across the CPU row-block size (4096);
//  (c) linear_mse_value_grad_hessian against linear_mse_value_and_grad and linear_mse_hessian;
//  (d) linear_mse_hessian against central differences of the autodiff gradient and against the
//      closed form 2/n [[Σx², Σx], [Σx, n]] for X = [x, 1] (sums computed here with loops);
//  (e) determinism: repeated calls give bitwise identical results.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <utility>
#include <vector>

#include "descent/autograd.hpp"
#include "descent/functional.hpp"
#include "descent/hessian.hpp"
#include "descent/loss.hpp"
#include "descent/ops.hpp"
#include "descent/tensor.hpp"

namespace {

using descent::DType;
using descent::Shape;
using descent::Tensor;

// max_i |a_i - b_i| / max(|b_i|, 1e-300); b is the reference. Infinity when the sizes differ.
double max_rel_err(const std::vector<double>& a, const std::vector<double>& b) {
    if (a.size() != b.size()) return std::numeric_limits<double>::infinity();
    double worst = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const double err = std::abs(a[i] - b[i]) / std::max(std::abs(b[i]), 1e-300);
        if (!(err <= worst)) worst = err;  // also propagates NaN
    }
    return worst;
}

double max_rel_err(const Tensor& a, const Tensor& b) {
    if (a.shape() != b.shape()) return std::numeric_limits<double>::infinity();
    return max_rel_err(a.to_vector<double>(), b.to_vector<double>());
}

// Same shape, dtype and bit pattern.
bool bitwise_equal(const Tensor& a, const Tensor& b) {
    if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
    const std::vector<double> va = a.to_vector<double>(), vb = b.to_vector<double>();
    return va.size() == vb.size() &&
           (va.empty() || std::memcmp(va.data(), vb.data(), va.size() * sizeof(double)) == 0);
}

std::vector<double> uniform(std::mt19937_64& rng, std::size_t count, double lo, double hi) {
    std::uniform_real_distribution<double> dist(lo, hi);
    std::vector<double> v(count);
    for (double& x : v) x = dist(rng);
    return v;
}

// A linear least-squares problem (X (n, d), y (n), w (d)) whose gradient at w is well away
// from zero in every component: y = X (w - delta) + noise with |delta_j| in [0.5, 1.5], so
// grad ≈ 2/3 delta and no component is a cancellation-dominated near-zero sum.
struct Problem {
    std::int64_t n = 0, d = 0;
    std::vector<double> X, y, w;
};

Problem make_problem(std::mt19937_64& rng, std::int64_t n, std::int64_t d) {
    Problem p;
    p.n = n;
    p.d = d;
    p.X = uniform(rng, static_cast<std::size_t>(n * d), -1, 1);
    p.w = uniform(rng, static_cast<std::size_t>(d), -1, 1);
    std::vector<double> w_true(static_cast<std::size_t>(d));
    std::uniform_real_distribution<double> mag(0.5, 1.5);
    std::bernoulli_distribution sign(0.5);
    for (std::size_t j = 0; j < w_true.size(); ++j)
        w_true[j] = p.w[j] - (sign(rng) ? mag(rng) : -mag(rng));
    std::uniform_real_distribution<double> noise(-0.1, 0.1);
    p.y.resize(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
        double s = 0.0;
        for (std::int64_t j = 0; j < d; ++j) s += p.X[i * d + j] * w_true[j];
        p.y[i] = s + noise(rng);
    }
    return p;
}

// The same problem rounded to float, kept as doubles (exactly representable in f32).
Problem round_to_float(const Problem& p) {
    Problem q = p;
    for (auto* v : {&q.X, &q.y, &q.w})
        for (double& x : *v) x = double(static_cast<float>(x));
    return q;
}

std::vector<float> as_float(const std::vector<double>& v) { return {v.begin(), v.end()}; }

struct Reference {
    Tensor loss, grad;
};

// loss and dloss/dw of the composed autodiff graph mean(square(matmul(X, w) - y)), in f64.
Reference composed_linear_mse(const std::vector<double>& X, const std::vector<double>& y,
                              const std::vector<double>& w, std::int64_t n, std::int64_t d) {
    const Tensor Xt = descent::from_vector(X, {n, d}, DType::f64);
    const Tensor yt = descent::from_vector(y, {n}, DType::f64);
    Tensor wt = descent::from_vector(w, {d}, DType::f64);
    wt.requires_grad_();
    const Tensor loss = descent::mean(descent::square(descent::matmul(Xt, wt) - yt));
    loss.backward();
    return {loss.detach(), wt.grad()};
}

const std::vector<std::pair<std::int64_t, std::int64_t>> kSizes = {
    {1, 1}, {3, 2}, {100, 2}, {4095, 3}, {4096, 5}, {4097, 4}, {10000, 16}, {333, 8}, {131, 32}};

}  // namespace

// --- (a) mse_loss -------------------------------------------------------------------------

TEST_CASE("mse_loss equals mean(square(pred - target)) in value and both gradients", "[loss]") {
    std::mt19937_64 rng(0x1055a001);
    for (const Shape& shape : std::vector<Shape>{{}, {1}, {5}, {3, 4}, {1, 1}, {7, 2}, {100, 3},
                                                 {2, 3, 4}, {5000}}) {
        INFO("shape " << descent::shape_str(shape));
        const auto count = static_cast<std::size_t>(descent::shape_numel(shape));
        const std::vector<double> pv = uniform(rng, count, -2, 2);
        const std::vector<double> tv = uniform(rng, count, -2, 2);

        Tensor p1 = descent::from_vector(pv, shape, DType::f64).requires_grad_();
        Tensor t1 = descent::from_vector(tv, shape, DType::f64).requires_grad_();
        const Tensor fused = descent::mse_loss(p1, t1);
        REQUIRE(fused.shape() == Shape{});
        REQUIRE(fused.dtype() == DType::f64);
        REQUIRE(fused.requires_grad());
        fused.backward();

        Tensor p2 = descent::from_vector(pv, shape, DType::f64).requires_grad_();
        Tensor t2 = descent::from_vector(tv, shape, DType::f64).requires_grad_();
        const Tensor composed = descent::mean(descent::square(p2 - t2));
        composed.backward();

        CHECK(max_rel_err(fused, composed) <= 1e-12);
        REQUIRE(p1.grad().defined());
        REQUIRE(t1.grad().defined());
        CHECK(max_rel_err(p1.grad(), p2.grad()) <= 1e-12);
        CHECK(max_rel_err(t1.grad(), t2.grad()) <= 1e-12);

        // Straight from the definition, with a plain loop.
        double total = 0.0;
        for (std::size_t i = 0; i < count; ++i) total += (pv[i] - tv[i]) * (pv[i] - tv[i]);
        CHECK(max_rel_err(fused.to_vector<double>(), {total / double(count)}) <= 1e-12);
    }
}

TEST_CASE("mse_loss with an upstream gradient and one constant argument", "[loss]") {
    std::mt19937_64 rng(0x1055a002);
    const Shape shape{6, 3};
    const std::vector<double> pv = uniform(rng, 18, -2, 2), tv = uniform(rng, 18, -2, 2);
    Tensor p1 = descent::from_vector(pv, shape, DType::f64).requires_grad_();
    const Tensor t1 = descent::from_vector(tv, shape, DType::f64);
    (descent::mse_loss(p1, t1) * 2.5).backward();
    Tensor p2 = descent::from_vector(pv, shape, DType::f64).requires_grad_();
    const Tensor t2 = descent::from_vector(tv, shape, DType::f64);
    (descent::mean(descent::square(p2 - t2)) * 2.5).backward();
    CHECK(max_rel_err(p1.grad(), p2.grad()) <= 1e-12);
    CHECK_FALSE(t1.grad().defined());
}

TEST_CASE("mse_loss in f32 against an f64 reference", "[loss]") {
    std::mt19937_64 rng(0x1055a003);
    for (const Shape& shape : std::vector<Shape>{{}, {5}, {3, 4}, {1000}}) {
        INFO("shape " << descent::shape_str(shape));
        const auto count = static_cast<std::size_t>(descent::shape_numel(shape));
        std::vector<double> pv = uniform(rng, count, -2, 2), tv = uniform(rng, count, -2, 2);
        for (double& x : pv) x = double(static_cast<float>(x));
        for (double& x : tv) x = double(static_cast<float>(x));
        Tensor p32 = descent::from_vector(as_float(pv), shape, DType::f32).requires_grad_();
        const Tensor t32 = descent::from_vector(as_float(tv), shape, DType::f32);
        const Tensor loss32 = descent::mse_loss(p32, t32);
        REQUIRE(loss32.dtype() == DType::f32);
        loss32.backward();
        Tensor p64 = descent::from_vector(pv, shape, DType::f64).requires_grad_();
        const Tensor t64 = descent::from_vector(tv, shape, DType::f64);
        const Tensor loss64 = descent::mean(descent::square(p64 - t64));
        loss64.backward();
        CHECK(max_rel_err(loss32, loss64) <= 1e-5);
        CHECK(max_rel_err(p32.grad(), p64.grad()) <= 1e-5);
    }
}

// --- (b) fused linear MSE -------------------------------------------------------------------

TEST_CASE("linear_mse_value_and_grad equals the composed autodiff graph (f64)", "[loss]") {
    std::mt19937_64 rng(0x1055a004);
    for (const auto& [n, d] : kSizes) {
        INFO("n = " << n << ", d = " << d);
        const Problem p = make_problem(rng, n, d);
        const Tensor X = descent::from_vector(p.X, {n, d}, DType::f64);
        const Tensor y = descent::from_vector(p.y, {n}, DType::f64);
        const Tensor w = descent::from_vector(p.w, {d}, DType::f64);

        const descent::LinearMseResult fused = descent::linear_mse_value_and_grad(X, y, w);
        REQUIRE(fused.loss.shape() == Shape{});
        REQUIRE(fused.grad.shape() == Shape{d});
        REQUIRE(fused.loss.dtype() == DType::f64);
        REQUIRE(fused.grad.dtype() == DType::f64);
        CHECK_FALSE(fused.hessian.defined());
        CHECK_FALSE(fused.loss.requires_grad());
        CHECK_FALSE(fused.grad.requires_grad());

        const Reference ref = composed_linear_mse(p.X, p.y, p.w, n, d);
        CHECK(max_rel_err(fused.loss, ref.loss) <= 1e-12);
        CHECK(max_rel_err(fused.grad, ref.grad) <= 1e-12);

        // The inputs are left as they were.
        CHECK(X.to_vector<double>() == p.X);
        CHECK(y.to_vector<double>() == p.y);
        CHECK(w.to_vector<double>() == p.w);
    }
}

TEST_CASE("linear_mse_value_and_grad accepts parameters that require grad", "[loss]") {
    // w is typically a model parameter; the fused call reads it without recording a graph.
    std::mt19937_64 rng(0x1055a005);
    const Problem p = make_problem(rng, 50, 3);
    const Tensor X = descent::from_vector(p.X, {50, 3}, DType::f64);
    const Tensor y = descent::from_vector(p.y, {50}, DType::f64);
    Tensor w = descent::from_vector(p.w, {3}, DType::f64).requires_grad_();
    const descent::LinearMseResult fused = descent::linear_mse_value_and_grad(X, y, w);
    CHECK_FALSE(fused.loss.requires_grad());
    const Reference ref = composed_linear_mse(p.X, p.y, p.w, 50, 3);
    CHECK(max_rel_err(fused.loss, ref.loss) <= 1e-12);
    CHECK(max_rel_err(fused.grad, ref.grad) <= 1e-12);
    CHECK_FALSE(w.grad().defined());
}

TEST_CASE("linear_mse_value_and_grad in f32 matches an f64 reference", "[loss]") {
    std::mt19937_64 rng(0x1055a006);
    for (const auto& [n, d] : kSizes) {
        INFO("n = " << n << ", d = " << d);
        // The f32 inputs and the f64 reference see exactly the same values.
        const Problem p = round_to_float(make_problem(rng, n, d));
        const Tensor X = descent::from_vector(as_float(p.X), {n, d}, DType::f32);
        const Tensor y = descent::from_vector(as_float(p.y), {n}, DType::f32);
        const Tensor w = descent::from_vector(as_float(p.w), {d}, DType::f32);
        const descent::LinearMseResult fused = descent::linear_mse_value_and_grad(X, y, w);
        REQUIRE(fused.loss.dtype() == DType::f32);
        REQUIRE(fused.grad.dtype() == DType::f32);
        REQUIRE(fused.grad.shape() == Shape{d});

        const Reference ref = composed_linear_mse(p.X, p.y, p.w, n, d);
        CHECK(max_rel_err(fused.loss, ref.loss) <= 1e-5);
        CHECK(max_rel_err(fused.grad, ref.grad) <= 1e-5);
    }
}

// --- (c) value, gradient and Hessian in one pass ---------------------------------------------

TEST_CASE("linear_mse_value_grad_hessian agrees with value_and_grad and linear_mse_hessian",
          "[loss][hessian]") {
    std::mt19937_64 rng(0x1055a007);
    for (const DType dtype : {DType::f64, DType::f32}) {
        for (const auto& [n, d] : kSizes) {
            INFO("n = " << n << ", d = " << d << ", " << descent::dtype_name(dtype));
            // Non-negative features: every entry of XᵀX is a sum without cancellation, so two
            // summation orders agree to a few ulps relative.
            Problem p = make_problem(rng, n, d);
            for (double& x : p.X) x = (x + 1.0) / 2.0;
            if (dtype == DType::f32) p = round_to_float(p);
            const Tensor X = descent::from_vector(p.X, {n, d}, dtype);
            const Tensor y = descent::from_vector(p.y, {n}, dtype);
            const Tensor w = descent::from_vector(p.w, {d}, dtype);

            const descent::LinearMseResult full = descent::linear_mse_value_grad_hessian(X, y, w);
            const descent::LinearMseResult vg = descent::linear_mse_value_and_grad(X, y, w);
            REQUIRE(full.hessian.defined());
            REQUIRE(full.hessian.shape() == Shape{d, d});
            REQUIRE(full.hessian.dtype() == dtype);
            // The same pass computes loss and gradient: identical to the Hessian-free call.
            CHECK(bitwise_equal(full.loss, vg.loss));
            CHECK(bitwise_equal(full.grad, vg.grad));

            const Tensor H = descent::linear_mse_hessian(X);
            REQUIRE(H.shape() == Shape{d, d});
            REQUIRE(H.dtype() == dtype);
            const double tol = dtype == DType::f64 ? 1e-12 : 1e-5;
            CHECK(max_rel_err(full.hessian, H) <= tol);

            // Both against 2/n XᵀX summed here in double with plain loops.
            std::vector<double> ref(static_cast<std::size_t>(d * d), 0.0);
            for (std::int64_t i = 0; i < n; ++i)
                for (std::int64_t j = 0; j < d; ++j)
                    for (std::int64_t k = 0; k < d; ++k)
                        ref[j * d + k] += p.X[i * d + j] * p.X[i * d + k];
            for (double& v : ref) v *= 2.0 / double(n);
            CHECK(max_rel_err(H.to_vector<double>(), ref) <= tol);
            CHECK(max_rel_err(full.hessian.to_vector<double>(), ref) <= tol);

            if (dtype == DType::f64) {
                const Reference composed = composed_linear_mse(p.X, p.y, p.w, n, d);
                CHECK(max_rel_err(full.loss, composed.loss) <= 1e-12);
            }
        }
    }
}

// --- (d) the Hessian against finite differences and the closed form --------------------------

namespace {

// dloss/dw of the composed graph at w, as host values.
std::vector<double> autodiff_grad(const Tensor& X, const Tensor& y, const std::vector<double>& w) {
    Tensor wt = descent::from_vector(w, {static_cast<std::int64_t>(w.size())}, DType::f64);
    wt.requires_grad_();
    descent::mean(descent::square(descent::matmul(X, wt) - y)).backward();
    return wt.grad().to_vector<double>();
}

}  // namespace

TEST_CASE("linear_mse_hessian matches central differences of the autodiff gradient",
          "[hessian]") {
    std::mt19937_64 rng(0x1055a008);
    for (const auto& [n, d] : std::vector<std::pair<std::int64_t, std::int64_t>>{
             {1, 1}, {3, 2}, {50, 5}, {100, 2}, {4097, 4}}) {
        INFO("n = " << n << ", d = " << d);
        const Problem p = make_problem(rng, n, d);
        const Tensor X = descent::from_vector(p.X, {n, d}, DType::f64);
        const Tensor y = descent::from_vector(p.y, {n}, DType::f64);

        // Column j of the Hessian is d(grad)/dw_j. The gradient is affine in w, so the
        // central difference has no truncation error; h only trades off rounding.
        std::vector<double> fd(static_cast<std::size_t>(d * d));
        for (std::int64_t j = 0; j < d; ++j) {
            const double h = 1e-3 * std::max(1.0, std::abs(p.w[j]));
            std::vector<double> wp = p.w, wm = p.w;
            wp[j] += h;
            wm[j] -= h;
            const std::vector<double> gp = autodiff_grad(X, y, wp), gm = autodiff_grad(X, y, wm);
            for (std::int64_t k = 0; k < d; ++k) fd[k * d + j] = (gp[k] - gm[k]) / (2.0 * h);
        }

        const Tensor H = descent::linear_mse_hessian(X);
        REQUIRE(H.shape() == Shape{d, d});
        CHECK(max_rel_err(H.to_vector<double>(), fd) <= 1e-6);
        const Tensor H2 =
            descent::linear_mse_value_grad_hessian(X, y, descent::from_vector(p.w, {d}, DType::f64))
                .hessian;
        CHECK(max_rel_err(H2.to_vector<double>(), fd) <= 1e-6);

        // Symmetric, exactly.
        const std::vector<double> hv = H.to_vector<double>(), h2v = H2.to_vector<double>();
        for (std::int64_t j = 0; j < d; ++j)
            for (std::int64_t k = 0; k < d; ++k) {
                CHECK(hv[j * d + k] == hv[k * d + j]);
                CHECK(h2v[j * d + k] == h2v[k * d + j]);
            }
    }
}

TEST_CASE("linear_mse_hessian of X = [x, 1] matches the closed form 2/n [[Σx², Σx], [Σx, n]]",
          "[hessian]") {
    const std::int64_t n = 100;
    const std::vector<double> x = descent::linspace(-10, 10, n, DType::f64).to_vector<double>();
    REQUIRE(x.size() == 100);
    std::vector<double> Xv;
    for (const double xi : x) {
        Xv.push_back(xi);
        Xv.push_back(1.0);
    }
    const Tensor X = descent::from_vector(Xv, {n, 2}, DType::f64);

    double sx = 0.0, sxx = 0.0;
    for (const double xi : x) {
        sx += xi;
        sxx += xi * xi;
    }
    // Independent of summation order: for x_i = -10 + 20 i / 99, Σx = 0 and
    // Σx² = 400/9801 Σi² - 400/99 Σi + 100·100 = 131340000/9801 - 10000.
    CHECK(std::abs(sx) <= 1e-12);
    CHECK(max_rel_err({sxx}, {131340000.0 / 9801.0 - 10000.0}) <= 1e-12);

    const double s = 2.0 / double(n);
    const std::vector<double> closed = {s * sxx, s * sx, s * sx, s * double(n)};
    const double scale = s * sxx;  // the largest entry

    const auto check_hessian = [&](const Tensor& H) {
        REQUIRE(H.shape() == Shape{2, 2});
        const std::vector<double> h = H.to_vector<double>();
        // The non-zero entries to 1e-12 relative; the Σx entries (exactly 0 in real arithmetic,
        // rounding noise here) to 1e-12 relative to the matrix's scale.
        CHECK(max_rel_err({h[0], h[3]}, {closed[0], closed[3]}) <= 1e-12);
        CHECK(std::abs(h[1] - closed[1]) <= 1e-12 * scale);
        CHECK(std::abs(h[2] - closed[2]) <= 1e-12 * scale);
        CHECK(h[1] == h[2]);
        // H[1][1] = 2/n · n = 2.
        CHECK(max_rel_err({h[3]}, {2.0}) <= 1e-12);
    };
    SECTION("linear_mse_hessian") { check_hessian(descent::linear_mse_hessian(X)); }
    SECTION("linear_mse_value_grad_hessian, with the loss and gradient in closed form") {
        // y = 3x + 2 and w = 0: residual -y, so loss = Σy²/n and grad = -2/n [Σxy, Σy].
        std::vector<double> yv;
        for (const double xi : x) yv.push_back(3.0 * xi + 2.0);
        double sy = 0.0, sxy = 0.0, syy = 0.0;
        for (std::size_t i = 0; i < x.size(); ++i) {
            sy += yv[i];
            sxy += x[i] * yv[i];
            syy += yv[i] * yv[i];
        }
        const descent::LinearMseResult r = descent::linear_mse_value_grad_hessian(
            X, descent::from_vector(yv, {n}, DType::f64), descent::zeros({2}, DType::f64));
        check_hessian(r.hessian);
        CHECK(max_rel_err(r.loss.to_vector<double>(), {syy / double(n)}) <= 1e-12);
        CHECK(max_rel_err(r.grad.to_vector<double>(), {-s * sxy, -s * sy}) <= 1e-12);
        // In exact arithmetic: Σxy = 3Σx² + 2Σx, Σy = 3Σx + 2n, Σy² = 9Σx² + 12Σx + 4n.
        CHECK(max_rel_err({sy}, {200.0}) <= 1e-12);
        CHECK(max_rel_err({sxy}, {3.0 * sxx}) <= 1e-12);
        CHECK(max_rel_err({syy}, {9.0 * sxx + 400.0}) <= 1e-12);
    }
}

TEST_CASE("linear_mse_hessian does not depend on y or w", "[hessian]") {
    std::mt19937_64 rng(0x1055a009);
    const Problem a = make_problem(rng, 200, 3);
    Problem b = make_problem(rng, 200, 3);
    b.X = a.X;
    const Tensor X = descent::from_vector(a.X, {200, 3}, DType::f64);
    const Tensor Ha = descent::linear_mse_value_grad_hessian(
                          X, descent::from_vector(a.y, {200}, DType::f64),
                          descent::from_vector(a.w, {3}, DType::f64))
                          .hessian;
    const Tensor Hb = descent::linear_mse_value_grad_hessian(
                          X, descent::from_vector(b.y, {200}, DType::f64),
                          descent::from_vector(b.w, {3}, DType::f64))
                          .hessian;
    CHECK(bitwise_equal(Ha, Hb));
}

// --- (e) determinism ----------------------------------------------------------------------

TEST_CASE("losses and Hessians are bitwise deterministic", "[loss][hessian]") {
    std::mt19937_64 rng(0x1055a00a);
    for (const DType dtype : {DType::f64, DType::f32}) {
        for (const auto& [n, d] : std::vector<std::pair<std::int64_t, std::int64_t>>{
                 {3, 2}, {4097, 4}, {10000, 16}}) {
            INFO("n = " << n << ", d = " << d << ", " << descent::dtype_name(dtype));
            const Problem p = make_problem(rng, n, d);
            const Tensor X = descent::from_vector(p.X, {n, d}, dtype);
            const Tensor y = descent::from_vector(p.y, {n}, dtype);
            const Tensor w = descent::from_vector(p.w, {d}, dtype);

            const descent::LinearMseResult a = descent::linear_mse_value_and_grad(X, y, w);
            const descent::LinearMseResult b = descent::linear_mse_value_and_grad(X, y, w);
            CHECK(bitwise_equal(a.loss, b.loss));
            CHECK(bitwise_equal(a.grad, b.grad));

            const descent::LinearMseResult c = descent::linear_mse_value_grad_hessian(X, y, w);
            const descent::LinearMseResult e = descent::linear_mse_value_grad_hessian(X, y, w);
            CHECK(bitwise_equal(c.loss, e.loss));
            CHECK(bitwise_equal(c.grad, e.grad));
            CHECK(bitwise_equal(c.hessian, e.hessian));

            CHECK(bitwise_equal(descent::linear_mse_hessian(X), descent::linear_mse_hessian(X)));

            const Tensor pred = descent::matmul(X, w);
            CHECK(bitwise_equal(descent::mse_loss(pred, y), descent::mse_loss(pred, y)));

            // Gradients of mse_loss through backward, twice from fresh leaves.
            std::vector<Tensor> grads;
            for (int rep = 0; rep < 2; ++rep) {
                Tensor wl = descent::from_vector(p.w, {d}, dtype).requires_grad_();
                descent::mse_loss(descent::matmul(X, wl), y).backward();
                grads.push_back(wl.grad());
            }
            CHECK(bitwise_equal(grads[0], grads[1]));
        }
    }
}

TEST_CASE("linear_mse_hvp is the gradient pass against y = 0, and H v", "[hessian][hvp]") {
    std::mt19937_64 rng(0x4a7e55);
    // d covers every CPU kernel family: scalar (1), the two- and three-vector kernels (2, 3),
    // the 4-wide vector kernels with and without a tail (4, 5, 16, 17, 33) and the plain loop (7).
    for (const DType dtype : {DType::f64, DType::f32}) {
        for (const std::int64_t d : {1, 2, 3, 4, 5, 7, 16, 17, 33}) {
            for (const std::int64_t n : {std::int64_t(3), std::int64_t(4097 * 2 + 5)}) {
                INFO(descent::dtype_name(dtype) << " n = " << n << ", d = " << d);
                const Problem p = make_problem(rng, n, d);
                const Tensor X = descent::from_vector(p.X, {n, d}, dtype);
                const Tensor v = descent::from_vector(p.w, {d}, dtype);
                const Tensor hv = descent::linear_mse_hvp(X, v);
                CHECK(hv.shape() == Shape{d});
                // Bitwise the gradient pass with a zero target: the same kernel, same order.
                const Tensor zero_y = descent::zeros({n}, dtype);
                const Tensor g = descent::linear_mse_value_and_grad(X, zero_y, v).grad;
                CHECK(bitwise_equal(hv, g));
                // And H v from the fused Hessian, in double on the host: 2/n Σ (x·v) x.
                const std::vector<double> Xd = X.to_vector<double>(), vd = v.to_vector<double>();
                std::vector<double> ref(static_cast<std::size_t>(d), 0.0);
                for (std::int64_t i = 0; i < n; ++i) {
                    long double s = 0;
                    for (std::int64_t j = 0; j < d; ++j) s += (long double)Xd[i * d + j] * vd[j];
                    for (std::int64_t j = 0; j < d; ++j) ref[j] += double(s * Xd[i * d + j]);
                }
                for (double& r : ref) r *= 2.0 / double(n);
                CHECK(max_rel_err(hv.to_vector<double>(), ref) < (dtype == DType::f64 ? 1e-12 : 1e-5));
            }
        }
    }
}

TEST_CASE("linear_mse_hvp equals the autodiff's hvp of mse_loss(X w, y)", "[hessian][hvp]") {
    std::mt19937_64 rng(0x4a7e56);
    const Problem p = make_problem(rng, 200, 6);
    const Tensor X = descent::from_vector(p.X, {200, 6}, DType::f64);
    const Tensor y = descent::from_vector(p.y, {200}, DType::f64);
    const Tensor w = descent::from_vector(p.w, {6}, DType::f64);
    const Tensor v = descent::from_vector(uniform(rng, 6, -1, 1), {6}, DType::f64);
    const auto f = [&](const Tensor& wt) { return descent::mse_loss(descent::matmul(X, wt), y); };
    CHECK(max_rel_err(descent::linear_mse_hvp(X, v), descent::hvp(f, w, v)) < 1e-12);
}

TEST_CASE("linear_mse_hvp refuses mismatched shapes", "[hessian][hvp]") {
    const Tensor X = descent::zeros({4, 3}, DType::f64);
    CHECK_THROWS_WITH(descent::linear_mse_hvp(X, descent::zeros({2}, DType::f64)),
                      Catch::Contains("linear_mse_hvp: expects X (n, d) and v (d)"));
    CHECK_THROWS_WITH(descent::linear_mse_hvp(X, descent::zeros({3}, DType::f32)),
                      Catch::Contains("linear_mse_hvp"));
}
