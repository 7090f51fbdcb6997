// Curvature of the linear least-squares loss. The Hessian of mean((Xw - y)^2) in w is
// 2/n XᵀX, independent of w and y. Verified in tests/test_loss_hessian.cpp against finite
// differences of the autodiff gradient and the blog's closed form.
#pragma once

#include "descent/tensor.hpp"

namespace descent {

// X is (n, d), n >= 1; returns (d, d) = 2/n XᵀX, symmetric.
Tensor linear_mse_hessian(const Tensor& X);

}  // namespace descent
