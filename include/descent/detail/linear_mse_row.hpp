// Per-row body of the fused linear-MSE pass, shared by the CPU loop (src/cpu/linear_mse.cpp)
// and the CUDA kernel. For row x_i (d values), weights w and target y_i it forms the residual
// r_i = x_i·w - y_i and adds r_i^2 to the loss sum, r_i x_i to the gradient sum and, for
// Newton, x_i x_iᵀ (upper triangle) to the Hessian sum. Sums are kept in double.
// Verified through tests/test_loss_hessian.cpp against the composed autodiff graph.
#pragma once

#include <cstdint>

#include "descent/detail/hd.hpp"

namespace descent::detail {

// x_row is (d), w is (d).
template <class T>
DESCENT_HD double linear_row_residual(const T* x_row, const T* w, T y, std::int64_t d) {
    double r = 0.0;
    for (std::int64_t j = 0; j < d; ++j) r += double(x_row[j]) * double(w[j]);
    return r - double(y);
}

// grad_sum is (d): grad_sum += r x_row; returns r^2 for the loss sum.
template <class T>
DESCENT_HD double linear_row_accumulate_grad(const T* x_row, double r, std::int64_t d,
                                             double* grad_sum) {
    for (std::int64_t j = 0; j < d; ++j) grad_sum[j] += r * double(x_row[j]);
    return r * r;
}

// hess_sum is (d, d) row-major; only the upper triangle (k >= j) is accumulated.
template <class T>
DESCENT_HD void linear_row_accumulate_hessian(const T* x_row, std::int64_t d, double* hess_sum) {
    for (std::int64_t j = 0; j < d; ++j) {
        const double xj = double(x_row[j]);
        for (std::int64_t k = j; k < d; ++k) hess_sum[j * d + k] += xj * double(x_row[k]);
    }
}

}  // namespace descent::detail
