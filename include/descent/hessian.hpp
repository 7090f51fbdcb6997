// Curvature of the linear least-squares loss. The Hessian of mean((Xw - y)^2) in w is
// 2/n XᵀX, independent of w and y. Verified in tests/test_loss_hessian.cpp against finite
// differences of the autodiff gradient and the blog's closed form.
#pragma once

#include <cstdint>
#include <vector>

#include "descent/tensor.hpp"

namespace descent {

// X is (n, d), n >= 1; returns (d, d) = 2/n XᵀX, symmetric.
Tensor linear_mse_hessian(const Tensor& X);

// The largest eigenvalue λmax of 2/n XᵀX (one pass over X, then a symmetric eigenvalue
// iteration on the host): gradient descent on this problem is stable for learning rates
// below 2/λmax. Returns 0 for X = 0.
double linear_mse_hessian_max_eigenvalue(const Tensor& X);

// The largest eigenvalue of a symmetric positive semi-definite (d, d) matrix given row-major.
double symmetric_max_eigenvalue(const std::vector<double>& matrix, std::int64_t d);

}  // namespace descent
