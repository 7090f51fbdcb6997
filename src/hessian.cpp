// linear_mse_hessian: 2/n XᵀX as one transposed matrix product (no copy of X), and its
// largest eigenvalue and column scales for the divergence report (2/λmax, feature scaling).
// Verified by tests/test_loss_hessian.cpp, tests/test_checkpoint.cpp, tests/test_divergence.cpp.
#include "descent/hessian.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "descent/error.hpp"
#include "descent/ops.hpp"
#include "dispatch.hpp"
#include "fused_ops.hpp"

namespace descent {

Tensor linear_mse_hessian(const Tensor& X) {
    detail::check_defined("linear_mse_hessian", X);
    if (X.dim() != 2)
        throw Error("linear_mse_hessian: expects X (n, d), got shape " + shape_str(X.shape()));
    if (X.shape()[0] == 0)
        throw Error("linear_mse_hessian: X " + shape_str(X.shape()) + " has no rows");
    return detail::gemm_op("linear_mse_hessian", X, X, true, false, 2.0 / double(X.shape()[0]));
}

}  // namespace descent

namespace descent {

namespace {

// Cyclic Jacobi rotations (Golub & Van Loan, Algorithm 8.5.3): every eigenvalue to rounding.
double jacobi_max_eigenvalue(std::vector<double> a, std::int64_t d) {
    auto at = [&](std::int64_t i, std::int64_t j) -> double& { return a[i * d + j]; };
    for (int sweep = 0; sweep < 100; ++sweep) {
        double off = 0.0, diag = 0.0;
        for (std::int64_t i = 0; i < d; ++i) {
            diag += at(i, i) * at(i, i);
            for (std::int64_t j = i + 1; j < d; ++j) off += at(i, j) * at(i, j);
        }
        if (off <= 1e-30 * diag || off == 0.0) break;
        for (std::int64_t p = 0; p < d; ++p)
            for (std::int64_t q = p + 1; q < d; ++q) {
                if (at(p, q) == 0.0) continue;
                const double theta = (at(q, q) - at(p, p)) / (2.0 * at(p, q));
                const double t = (theta >= 0 ? 1.0 : -1.0) /
                                 (std::fabs(theta) + std::sqrt(theta * theta + 1.0));
                const double c = 1.0 / std::sqrt(t * t + 1.0), s = t * c;
                for (std::int64_t k = 0; k < d; ++k) {  // A <- A J (columns p, q)
                    const double akp = at(k, p), akq = at(k, q);
                    at(k, p) = c * akp - s * akq;
                    at(k, q) = s * akp + c * akq;
                }
                for (std::int64_t k = 0; k < d; ++k) {  // A <- Jᵀ A (rows p, q)
                    const double apk = at(p, k), aqk = at(q, k);
                    at(p, k) = c * apk - s * aqk;
                    at(q, k) = s * apk + c * aqk;
                }
            }
    }
    double best = at(0, 0);
    for (std::int64_t i = 1; i < d; ++i) best = std::max(best, at(i, i));
    return best;
}

// Power iteration with the Rayleigh quotient: λmax of a positive semi-definite operator of
// order d given as `multiply` (z = A v). The Rayleigh quotient of a unit vector never exceeds
// λmax and converges to it from below; it stops once it moves by less than `tolerance`.
template <class Multiply>
double power_iteration(std::int64_t d, Multiply multiply, int max_iterations, double tolerance) {
    std::vector<double> v(static_cast<std::size_t>(d)), z;
    for (std::int64_t i = 0; i < d; ++i) v[i] = 1.0 + 1e-3 * double(i % 7);  // not orthogonal to most
    double lambda = 0.0;
    for (int it = 0; it < max_iterations; ++it) {
        double norm = 0.0;
        for (double x : v) norm += x * x;
        norm = std::sqrt(norm);
        if (norm == 0.0 || !std::isfinite(norm)) return lambda;
        for (double& x : v) x /= norm;
        z = multiply(v);
        double rayleigh = 0.0;
        for (std::int64_t i = 0; i < d; ++i) rayleigh += v[i] * z[i];
        v.swap(z);
        if (it > 0 && std::fabs(rayleigh - lambda) <= tolerance * std::fabs(rayleigh)) return rayleigh;
        lambda = rayleigh;
    }
    return lambda;
}

// For wide matrices, where Jacobi's O(d^3) sweeps cost too much.
double power_max_eigenvalue(const std::vector<double>& a, std::int64_t d) {
    const auto multiply = [&](const std::vector<double>& v) {
        std::vector<double> z(v.size());
        for (std::int64_t i = 0; i < d; ++i) {
            double s = 0.0;
            for (std::int64_t j = 0; j < d; ++j) s += a[i * d + j] * v[j];
            z[i] = s;
        }
        return z;
    };
    return power_iteration(d, multiply, 5000, 1e-13);
}

}  // namespace

double symmetric_max_eigenvalue(const std::vector<double>& matrix, std::int64_t d) {
    if (d < 1 || matrix.size() != static_cast<std::size_t>(d * d))
        throw Error("symmetric_max_eigenvalue: expects a (d, d) matrix with d >= 1, got " +
                    std::to_string(matrix.size()) + " values for d = " + std::to_string(d));
    return d <= 256 ? jacobi_max_eigenvalue(matrix, d) : power_max_eigenvalue(matrix, d);
}

namespace {

// Gram matrices up to this order are formed and solved on the host (8 MiB in f64); beyond
// it the matrix would cost more than the products by X that power iteration needs.
constexpr std::int64_t kGramLimit = 1024;

// λmax of 2/n XᵀX by power iteration on products X v and Xᵀ u (two passes over X on its
// device per iteration, nothing of order d^2 or n^2).
double power_max_eigenvalue_of(const Tensor& X) {
    const std::int64_t n = X.shape()[0], d = X.shape()[1];
    const auto multiply = [&](const std::vector<double>& v) {
        const Tensor vt = from_vector(v, {d, 1}, X.dtype(), X.device());
        const Tensor u = detail::gemm_op("linear_mse_curvature", X, vt, false, false);
        return detail::gemm_op("linear_mse_curvature", X, u, true, false, 2.0 / double(n))
            .to_vector<double>();
    };
    return power_iteration(d, multiply, 1000, 1e-9);
}

}  // namespace

LinearMseCurvature linear_mse_curvature_of_hessian(const std::vector<double>& hessian,
                                                   std::int64_t d) {
    LinearMseCurvature c;
    c.lambda_max = symmetric_max_eigenvalue(hessian, d);
    c.column_rms.resize(static_cast<std::size_t>(d));
    for (std::int64_t j = 0; j < d; ++j)  // H_jj = 2/n sum_i X_ij^2
        c.column_rms[j] = std::sqrt(std::max(hessian[j * d + j], 0.0) / 2.0);
    return c;
}

LinearMseCurvature linear_mse_curvature(const Tensor& X, bool fit_intercept) {
    detail::check_defined("linear_mse_curvature", X);
    if (X.dim() != 2 || X.shape()[0] == 0 || X.shape()[1] + (fit_intercept ? 1 : 0) == 0)
        throw Error("linear_mse_curvature: expects X (n, d) with n, d >= 1, got shape " +
                    shape_str(X.shape()));
    const Tensor x = X.detach();
    if (fit_intercept) {
        const std::int64_t n = x.shape()[0], d = x.shape()[1] + 1;
        if (d <= n && d <= kGramLimit && x.device().is_cpu()) {
            // The Hessian of [X, 1] from the fused pass with the ones column implicit.
            const Tensor loss = empty({}, x.dtype(), x.device());
            const Tensor grad = empty({d}, x.dtype(), x.device());
            const Tensor hessian = empty({d, d}, x.dtype(), x.device());
            detail::linear_mse_into(x.contiguous(), Tensor(), zeros({d}, x.dtype(), x.device()),
                                    loss, grad, hessian, true);
            return linear_mse_curvature_of_hessian(hessian.to_vector<double>(), d);
        }
        // Wide or large data, or a device without the implicit pass: the column stored for
        // the time of this report (made only when a run diverged).
        return linear_mse_curvature(concat({x, ones({x.shape()[0], 1}, x.dtype(), x.device())}, 1));
    }
    const std::int64_t n = x.shape()[0], d = x.shape()[1];
    if (d <= n && d <= kGramLimit)  // the Hessian itself is the small Gram matrix
        return linear_mse_curvature_of_hessian(linear_mse_hessian(x).to_vector<double>(), d);
    LinearMseCurvature c;
    const std::vector<double> squares = sum(square(x), 0).to_vector<double>();
    c.column_rms.resize(squares.size());
    for (std::size_t j = 0; j < squares.size(); ++j)
        c.column_rms[j] = std::sqrt(squares[j] / double(n));
    if (n < d && n <= kGramLimit)  // 2/n XXᵀ has the nonzero eigenvalues of 2/n XᵀX
        c.lambda_max = symmetric_max_eigenvalue(
            detail::gemm_op("linear_mse_curvature", x, x, false, true, 2.0 / double(n))
                .to_vector<double>(),
            n);
    else
        c.lambda_max = power_max_eigenvalue_of(x);
    return c;
}

double linear_mse_hessian_max_eigenvalue(const Tensor& X) {
    detail::check_defined("linear_mse_hessian", X);
    if (X.dim() != 2)
        throw Error("linear_mse_hessian: expects X (n, d), got shape " + shape_str(X.shape()));
    if (X.shape()[0] == 0)
        throw Error("linear_mse_hessian: X " + shape_str(X.shape()) + " has no rows");
    return linear_mse_curvature(X).lambda_max;
}

}  // namespace descent
