// Small symmetric positive definite solves: the Newton step and the least-squares optimum
// that reports compare against. Verified in tests/test_optim_api.cpp against exact systems and
// the blog's numpy Newton step.
#pragma once

#include "descent/tensor.hpp"

namespace descent {

// Solves (A + damping I) x = b by Cholesky on the operands' device (the CPU in double, CUDA
// with cuSOLVER). A is (d, d) symmetric, b is (d); x has b's dtype and device. Throws descent::Error naming `op` when A + damping I is not
// positive definite (with a hint to add damping).
Tensor solve_spd(const Tensor& A, const Tensor& b, double damping = 0.0,
                 const char* op = "solve_spd");

// The least-squares weights argmin_w mean((X w - y)^2), from the normal equations
// (2/n XᵀX) w = 2/n Xᵀy. X is (n, d) with full column rank, y is (n).
Tensor linear_least_squares(const Tensor& X, const Tensor& y);

}  // namespace descent
