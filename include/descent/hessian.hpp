// Curvature of the linear least-squares loss. The Hessian of mean((Xw - y)^2) in w is
// 2/n XᵀX, independent of w and y. Verified in tests/test_loss_hessian.cpp against finite
// differences of the autodiff gradient and the blog's closed form; linear_mse_curvature in
// tests/test_divergence.cpp (wide X against its transpose, column scales).
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "descent/tensor.hpp"

namespace descent {

// X is (n, d), n >= 1; returns (d, d) = 2/n XᵀX, symmetric.
Tensor linear_mse_hessian(const Tensor& X);

// The largest eigenvalue λmax of 2/n XᵀX (one pass over X, then a symmetric eigenvalue
// iteration on the host): gradient descent on this problem is stable for learning rates
// below 2/λmax. Returns 0 for X = 0. Equals linear_mse_curvature(X).lambda_max.
double linear_mse_hessian_max_eigenvalue(const Tensor& X);

// What the divergence report needs to know of the data: λmax of H = 2/n XᵀX and the scale of
// each feature column, its root mean square sqrt(sum_i X_ij^2 / n) = sqrt(H_jj / 2).
struct LinearMseCurvature {
    double lambda_max = NAN;          // NaN: not computed (too costly for the source)
    std::vector<double> column_rms;   // d entries; empty: not computed
};

// From X (n, d) on its device, without forming a matrix larger than min(n, d)^2: with
// k = min(n, d) <= 1024 the k x k Gram matrix (XᵀX, or XXᵀ for wide X: the same nonzero
// eigenvalues) and a symmetric eigenvalue solver (exact to rounding); beyond that, power
// iteration with products by X and Xᵀ (a lower bound on λmax, to about 1e-8 relative).
// fit_intercept: of [X, 1], X without its ones column (LinearModel's implicit intercept); the
// column's scale is then the last of column_rms (1).
LinearMseCurvature linear_mse_curvature(const Tensor& X, bool fit_intercept = false);
// From the Hessian itself, (d, d) row-major (e.g. a streamed pass's).
LinearMseCurvature linear_mse_curvature_of_hessian(const std::vector<double>& hessian,
                                                   std::int64_t d);

// The largest eigenvalue of a symmetric positive semi-definite (d, d) matrix given row-major.
double symmetric_max_eigenvalue(const std::vector<double>& matrix, std::int64_t d);

}  // namespace descent
