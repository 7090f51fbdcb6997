// Per-row body of the fused linear-MSE pass, shared by the CPU loop (src/cpu/linear_mse.cpp)
// and the CUDA kernel (kernels/linear_mse.cu uses the residual; its gradient and Hessian
// sums run per output entry over a shared-memory tile instead of per row). For row x_i (d values), weights w and target y_i it forms the residual
// r_i = x_i·w - y_i and adds r_i^2 to the loss sum, r_i x_i to the gradient sum and, for
// Newton, x_i x_iᵀ to the Hessian sum. Sums are kept in double.
// Verified through tests/test_loss_hessian.cpp against the composed autodiff graph.
#pragma once

#include <cstdint>

#include "shared/hd.hpp"

namespace descent::detail {

// The target of row i. y may be null in the passes that need no target: the Hessian-vector
// product 2/n Xᵀ(X v) is the gradient pass for w = v against y = 0 (loss.hpp's
// linear_mse_hvp), and a null y gives x·w - 0, the arithmetic of a zero target, without
// reading n more values.
template <class T>
DESCENT_HD T target_at(const T* y, std::int64_t i) {
    return y != nullptr ? y[i] : T(0);
}
template <class T>
DESCENT_HD const T* targets_from(const T* y, std::int64_t i) {
    return y != nullptr ? y + i : nullptr;
}

// x_row is (d), w is (d). The dot product keeps four partial sums (j mod 4) combined as
// (s0 + s1) + (s2 + s3): a fixed order, so every backend gets the same value, and four
// independent chains, so the CPU can vectorise it without -ffast-math.
template <class T>
DESCENT_HD double linear_row_residual(const T* x_row, const T* w, T y, std::int64_t d) {
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    std::int64_t j = 0;
    for (; j + 4 <= d; j += 4) {
        s0 += double(x_row[j]) * double(w[j]);
        s1 += double(x_row[j + 1]) * double(w[j + 1]);
        s2 += double(x_row[j + 2]) * double(w[j + 2]);
        s3 += double(x_row[j + 3]) * double(w[j + 3]);
    }
    for (; j < d; ++j) s0 += double(x_row[j]) * double(w[j]);
    return ((s0 + s1) + (s2 + s3)) - double(y);
}

// grad_sum is (d): grad_sum += r x_row; returns r^2 for the loss sum.
template <class T>
DESCENT_HD double linear_row_accumulate_grad(const T* x_row, double r, std::int64_t d,
                                             double* grad_sum) {
    for (std::int64_t j = 0; j < d; ++j) grad_sum[j] += r * double(x_row[j]);
    return r * r;
}

// hess_sum is (d, d) row-major; the full square is accumulated (contiguous inner loops
// vectorise better than the triangle; the result is symmetric by construction).
template <class T>
DESCENT_HD void linear_row_accumulate_hessian(const T* x_row, std::int64_t d, double* hess_sum) {
    for (std::int64_t j = 0; j < d; ++j) {
        const double xj = double(x_row[j]);
        double* h = hess_sum + j * d;
        for (std::int64_t k = 0; k < d; ++k) h[k] += xj * double(x_row[k]);
    }
}

}  // namespace descent::detail
