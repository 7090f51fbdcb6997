// Per-row body of the fused softmax-regression pass (multinomial cross-entropy), shared by
// the CPU blocks (src/cpu/softmax.cpp) and the CUDA kernels (kernels/softmax.cu). For row x_i
// (d values), weights W (d, k) row-major and the class index c_i (held as a float value):
//     z_c    = Σ_j x_ij W[j, c]                          (softmax_row_logits)
//     m      = max_c z_c,  s = Σ_c exp(z_c - m)          (every exp argument <= 0)
//     loss_i = log Σ_c exp(z_c) - z_{c_i} = (m - z_{c_i}) + log(s)   (two terms >= 0)
//     r_c    = softmax(z)_c - [c = c_i] = exp(z_c - m) / s - [c = c_i]
// and the pass adds loss_i and x_i r (the (d, k) outer product) into double sums. exp is the
// logistic pass's exp_nonpositive (shared/logistic_row.hpp): branch-free, the same on every
// build and backend; log(s), s in [1, k], is the math library's, once a row.
// Verified against the composed autodiff graph in tests/test_fused_classification.cpp.
#pragma once

#include <cmath>
#include <cstdint>

#include "shared/hd.hpp"
#include "shared/logistic_row.hpp"

namespace descent::detail {

// z (k) = x_row (d) · W (d, k): for each class a sequential sum over j in order (the CPU
// vectorises across the classes, a GPU thread runs the same loop).
template <class T>
DESCENT_HD void softmax_row_logits(const T* x_row, const T* W, std::int64_t d, std::int64_t k,
                                   double* z) {
    for (std::int64_t c = 0; c < k; ++c) z[c] = 0.0;
    for (std::int64_t j = 0; j < d; ++j) {
        const double xj = double(x_row[j]);
        const T* wj = W + j * k;
        for (std::int64_t c = 0; c < k; ++c) z[c] += xj * double(wj[c]);
    }
}

// In place: z (k logits) -> r (k) = softmax(z) - onehot(label); returns the row's loss
// (m - z_label) + log(s). label must be in [0, k) (validated before the pass).
DESCENT_HD double softmax_row_residuals(double* z, std::int64_t k, std::int64_t label) {
    double m = z[0];
    for (std::int64_t c = 1; c < k; ++c) m = z[c] > m ? z[c] : m;
    // A NaN logit makes m NaN or leaves it a number; either way the NaN reaches s below.
    const double margin = m - z[label];
    double s = 0.0;
    for (std::int64_t c = 0; c < k; ++c) {
        z[c] = exp_nonpositive(z[c] - m);
        s += z[c];
    }
    const double inv_s = 1.0 / s;
    for (std::int64_t c = 0; c < k; ++c) z[c] = z[c] * inv_s - (c == label ? 1.0 : 0.0);
    return margin + std::log(s);
}

// The class index held in a label value (a valid one: an integer in [0, k)).
template <class T>
DESCENT_HD std::int64_t softmax_label(T value) {
    return static_cast<std::int64_t>(value);
}

}  // namespace descent::detail
