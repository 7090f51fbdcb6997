// Newton's method for any scalar loss of a parameter vector (issue 12 item 5): the Hessian
// from the autodiff, descent::hessian(f, w), fed to descent::optim::Newton (Cholesky +
// damping), against plain numpy Newton with closed-form gradients and Hessians
// (tests/reference/fixtures/numpy_newton.txt, made by tests/reference/newton_reference.py;
// format: tests/reference/README.md). Each loss is rebuilt here from descent ops in f64 on
// the CPU:
//  - logistic  mean(log(1 + exp(-(y * (X w)))))  X (60, 5): lr 1, damping 0 and lr 0.5,
//              damping 0.1, 10 iterations; X (400, 300): lr 1, damping 1e-3, 3 iterations
//  - poisson   mean(exp(X w) - y * (X w))          X (50, 4): lr 1, damping 0, 10 iterations
// The gradient is f(w).backward() after zero_grad(). At every k = 0..iters, w_k must equal
// numpy's to 1e-10 relative to its largest entry, and f(w_k) to 1e-10 relative; the
// gradient there to 1e-10 relative to the largest entry of the gradient at w_0 (see
// grad_scale below for why not its own). Also: on linear MSE, Newton with hessian(f, w) and
// Newton with the fused linear_mse_value_grad_hessian's Hessian (and its gradient) give the
// same iterates to 1e-12.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "descent/descent.hpp"
#include "fixture_file.hpp"
#include "reference_problems.hpp"

using namespace descent;
using descent::optim::Newton;
using descent::optim::NewtonOptions;
using reference_problems::scaled_error;

namespace {

struct Case {
    std::string name, loss;
    std::int64_t n = 0, d = 0, iters = 0;
    double lr = 0, damping = 0;
    std::vector<double> X, y;
    std::vector<std::vector<double>> w, grad;  // k = 0..iters
    std::vector<double> f;
};

std::vector<Case> read_cases() {
    std::vector<Case> cases;
    Case c;
    const auto at = [&c](std::size_t k) {
        if (c.w.size() <= k) {
            c.w.resize(k + 1);
            c.grad.resize(k + 1);
            c.f.resize(k + 1);
        }
        return k;
    };
    for (const fixture::Record& r : fixture::read("numpy_newton.txt")) {
        const std::string& key = r[0];
        if (key == "case") {
            c = Case{};
            c.name = r[1];
            c.loss = r[2];
            c.n = std::stoll(r[3]);
            c.d = std::stoll(r[4]);
            c.iters = std::stoll(r[5]);
        } else if (key == "option" && r[1] == "lr") {
            c.lr = fixture::number(r[2]);
        } else if (key == "option" && r[1] == "damping") {
            c.damping = fixture::number(r[2]);
        } else if (key == "X") {
            c.X = fixture::numbers(r, 1);
        } else if (key == "Xq") {  // X = step * integer, exactly (step is a power of two)
            const double step = fixture::number(r[1]);
            for (std::size_t i = 2; i < r.size(); ++i)
                c.X.push_back(step * static_cast<double>(std::stoll(r[i])));
        } else if (key == "y") {
            c.y = fixture::numbers(r, 1);
        } else if (key == "iter") {
            const std::size_t k = at(std::stoul(r[1]));
            if (r[2] == "w") c.w[k] = fixture::numbers(r, 3);
            if (r[2] == "f") c.f[k] = fixture::number(r[3]);
            if (r[2] == "grad") c.grad[k] = fixture::numbers(r, 3);
        } else if (key == "end") {
            cases.push_back(c);
        }
    }
    return cases;
}

ScalarFunction loss_of(const Case& c) {
    const Tensor X = from_vector(c.X, {c.n, c.d}, DType::f64);
    const Tensor y = from_vector(c.y, {c.n}, DType::f64);
    if (c.loss == "logistic")
        return [X, y](const Tensor& w) { return mean(log(1.0 + exp(neg(y * matmul(X, w))))); };
    if (c.loss == "poisson")
        return [X, y](const Tensor& w) {
            const Tensor m = matmul(X, w);
            return mean(exp(m) - y * m);
        };
    throw std::runtime_error("unknown loss " + c.loss);
}

double max_abs(const std::vector<double>& v) {
    double m = 0.0;
    for (double x : v) m = std::max(m, std::abs(x));
    return m;
}

// max |got - ref| / scale.
double error_over(const std::vector<double>& got, const std::vector<double>& ref, double scale) {
    if (got.size() != ref.size()) return INFINITY;
    double err = 0.0;
    for (std::size_t i = 0; i < ref.size(); ++i) err = std::max(err, std::abs(got[i] - ref[i]));
    return err / scale;
}

}  // namespace

TEST_CASE("Newton with the autodiff Hessian matches numpy Newton on any loss",
          "[newton][hessian][numpy]") {
    const std::vector<Case> cases = read_cases();
    REQUIRE(cases.size() == 4);
    for (const Case& c : cases) {
        INFO(c.name << " (" << c.loss << ", n " << c.n << ", d " << c.d << ", lr " << c.lr
                    << ", damping " << c.damping << ")");
        REQUIRE(c.X.size() == static_cast<std::size_t>(c.n * c.d));
        REQUIRE(c.y.size() == static_cast<std::size_t>(c.n));
        REQUIRE(c.w.size() == static_cast<std::size_t>(c.iters + 1));
        const ScalarFunction f = loss_of(c);
        Tensor w = from_vector(c.w[0], {c.d}, DType::f64).requires_grad_();
        std::int64_t hessians = 0;
        Newton opt({w}, NewtonOptions{c.lr, c.damping}, [&] {
            ++hessians;
            return descent::hessian(f, w);
        });
        // The gradient is a sum of n terms of the size of the first one's (the residuals at
        // w_0 are of order one and shrink later), so its rounding error is of the order of
        // eps * |g_0|, not of eps * |g_k|: at the converged iterates numpy's own gradient is
        // rounding noise (1e-17..1e-19), and a bound relative to |g_k| would test nothing.
        const double grad_scale = max_abs(c.grad[0]);
        double worst_w = 0, worst_f = 0, worst_g = 0;
        for (std::int64_t k = 0; k <= c.iters; ++k) {
            INFO("iterate k = " << k);
            opt.zero_grad();
            Tensor loss = f(w);
            loss.backward();
            const double ew = scaled_error(w.to_vector<double>(), c.w[k]);
            const double ef = scaled_error({loss.item()}, {c.f[k]});
            const double eg = error_over(w.grad().to_vector<double>(), c.grad[k], grad_scale);
            CHECK(ew <= 1e-10);
            CHECK(ef <= 1e-10);
            CHECK(eg <= 1e-10);
            worst_w = std::max(worst_w, ew);
            worst_f = std::max(worst_f, ef);
            worst_g = std::max(worst_g, eg);
            if (k < c.iters) opt.step();
        }
        CHECK(opt.step_count() == c.iters);
        CHECK(hessians == c.iters);
        // Shown with -s (or on a failure): the worst errors of the case.
        INFO("worst errors: w " << worst_w << ", f " << worst_f << ", gradient " << worst_g);
        CHECK(std::max({worst_w, worst_f, worst_g}) <= 1e-10);
    }
}

TEST_CASE("Newton on linear MSE: the autodiff Hessian and the fused pass give the same iterates",
          "[newton][hessian][fused]") {
    // The X of the fixture's first case (60 x 5, N(0, 1)) with a least-squares target.
    const std::vector<Case> cases = read_cases();  // kept: c refers into it
    const Case& c = cases.at(0);
    const Tensor X = from_vector(c.X, {c.n, c.d}, DType::f64);
    std::vector<double> target(static_cast<std::size_t>(c.n));
    for (std::size_t i = 0; i < target.size(); ++i)
        target[i] = c.y[i] + 0.25 * std::sin(static_cast<double>(i));
    const Tensor y = from_vector(target, {c.n}, DType::f64);
    const ScalarFunction f = [X, y](const Tensor& w) { return mean(square(matmul(X, w) - y)); };

    for (const NewtonOptions options : {NewtonOptions{1.0, 0.0}, NewtonOptions{0.5, 0.1}}) {
        INFO("lr " << options.lr << ", damping " << options.damping);
        std::vector<double> w0(static_cast<std::size_t>(c.d));
        for (std::size_t j = 0; j < w0.size(); ++j) w0[j] = 0.5 - 0.3 * static_cast<double>(j);
        Tensor wa = from_vector(w0, {c.d}, DType::f64).requires_grad_();  // autodiff
        Tensor wb = from_vector(w0, {c.d}, DType::f64).requires_grad_();  // fused Hessian
        Tensor wc = from_vector(w0, {c.d}, DType::f64).requires_grad_();  // fused, all of it
        Newton a({wa}, options, [&] { return descent::hessian(f, wa); });
        Newton b({wb}, options);
        Newton fused({wc}, options);
        double worst = 0;
        for (int k = 1; k <= 8; ++k) {
            INFO("step " << k);
            a.zero_grad();
            f(wa).backward();
            a.step();

            b.zero_grad();
            f(wb).backward();
            b.set_hessian(linear_mse_value_grad_hessian(X, y, wb).hessian);
            b.step();

            // As train_linear does: the gradient and the Hessian from one pass over X.
            const LinearMseResult r = linear_mse_value_grad_hessian(X, y, wc);
            wc.set_grad(r.grad);
            fused.set_hessian(r.hessian);
            fused.step();

            const std::vector<double> ref = wa.to_vector<double>();
            const double eb = scaled_error(wb.to_vector<double>(), ref);
            const double ec = scaled_error(wc.to_vector<double>(), ref);
            CHECK(eb <= 1e-12);
            CHECK(ec <= 1e-12);
            worst = std::max({worst, eb, ec});
        }
        INFO("worst error " << worst);
        CHECK(worst <= 1e-12);
        // And the fused loss is the autodiff loss.
        CHECK(scaled_error({linear_mse_value_and_grad(X, y, wa).loss.item()}, {f(wa).item()}) <=
              1e-12);
    }
}
