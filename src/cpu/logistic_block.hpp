// The per-block kernel of the CPU logistic pass (src/cpu/logistic.cpp), compiled once per
// instruction set like the linear-MSE blocks (cpu/linear_mse_block.hpp): baseline x86-64 in
// src/cpu/logistic.cpp, AVX2 in src/cpu/logistic_avx2.cpp, AVX-512 in
// src/cpu/logistic_avx512.cpp, each in its own namespace (DESCENT_CPU_ISA). The wider builds
// only vectorise wider: no fused multiply-adds (-ffp-contract=off), no reassociation, and
// exp/log1p are shared/logistic_row.hpp's arithmetic, not library calls, so every build
// gives bitwise the same sums (tests/test_fused_classification.cpp).
//
// A block of rows goes through in chunks of kChunk rows, each in three loops:
//   1. the logits z of the chunk (shared per-row dot product; d a compile-time constant
//      for the common widths, so it unrolls);
//   2. the per-row terms (loss, σ - y, σ(1-σ)) from shared/logistic_row.hpp: branch-free
//      double arithmetic over arrays, which the compiler vectorises across rows (this is
//      where the time goes: two divisions and ~60 operations a row);
//   3. the sums, each in row order: the loss, the gradient Σ r_i x_i (vectorised across
//      columns) and, for Newton, the upper triangle of Σ h_i x_i x_iᵀ.
// The order of every sum is fixed by the block alone, never by the thread count.
#pragma once

#include <algorithm>
#include <cstdint>

#include "cpu/logistic_isa.hpp"
#include "shared/logistic_row.hpp"

#ifndef DESCENT_CPU_ISA
#error "define DESCENT_CPU_ISA before including cpu/logistic_block.hpp"
#endif

namespace descent::detail {

namespace DESCENT_CPU_ISA {

constexpr int kLogisticChunk = 64;

// Loop 2 over m <= kLogisticChunk rows: z and y in, the terms out. No calls, no branches:
// vectorised across rows.
inline void logistic_chunk_terms(const double* z, const double* y, int m, double* loss,
                                 double* r, double* h) {
    for (int q = 0; q < m; ++q) {
        const LogisticTerms t = logistic_row_terms(z[q], y[q]);
        loss[q] = t.loss;
        r[q] = t.r;
        h[q] = t.h;
    }
}

// The gradient sums of a chunk: g[j] += Σ_q r[q] x[q][j] in row order. D > 0: g is a local
// array the compiler keeps in registers (through `out` it would reload and store every entry
// each row: out may alias x when T is double).
template <class T, int D>
inline void logistic_chunk_grad(const T* xc, const double* r, int m, std::int64_t d, double* g) {
    for (int q = 0; q < m; ++q) {
        const T* row = xc + q * d;
        const double rq = r[q];
        for (std::int64_t j = 0; j < (D > 0 ? D : d); ++j) g[j] += rq * double(row[j]);
    }
}

// D > 0: d = D at compile time; D = 0: any d (d_any).
template <class T, int D>
void logistic_block(const T* x, const T* y, const T* w, std::int64_t rows, std::int64_t d_any,
                    bool hessian, double* out) {
    const std::int64_t d = D > 0 ? D : d_any;
    double* hess = out + 1 + d;
    double z[kLogisticChunk], yd[kLogisticChunk], lt[kLogisticChunk], rt[kLogisticChunk],
        ht[kLogisticChunk];
    double g_fixed[D > 0 ? D : 1] = {};
    double* g = D > 0 ? g_fixed : out + 1;
    double loss = 0.0;
    for (std::int64_t i0 = 0; i0 < rows; i0 += kLogisticChunk) {
        const int m = static_cast<int>(std::min<std::int64_t>(kLogisticChunk, rows - i0));
        const T* xc = x + i0 * d;
        for (int q = 0; q < m; ++q) {
            z[q] = logistic_row_logit(xc + q * d, w, d);
            yd[q] = double(y[i0 + q]);
        }
        logistic_chunk_terms(z, yd, m, lt, rt, ht);
        for (int q = 0; q < m; ++q) loss += lt[q];
        logistic_chunk_grad<T, D>(xc, rt, m, d, g);
        if (hessian) {
            for (int q = 0; q < m; ++q) {
                const T* row = xc + q * d;
                for (std::int64_t j = 0; j < d; ++j) {
                    const double a = ht[q] * double(row[j]);
                    double* hj = hess + j * d;
                    for (std::int64_t k = j; k < d; ++k) hj[k] += a * double(row[k]);
                }
            }
        }
    }
    out[0] = loss;
    if constexpr (D > 0)
        for (int j = 0; j < D; ++j) out[1 + j] = g_fixed[j];
}

template <class T>
LogisticBlockFn<T> logistic_block_fn(std::int64_t d) {
    switch (d) {
        case 1: return logistic_block<T, 1>;
        case 2: return logistic_block<T, 2>;
        case 3: return logistic_block<T, 3>;
        case 4: return logistic_block<T, 4>;
        case 8: return logistic_block<T, 8>;
        case 16: return logistic_block<T, 16>;
        case 17: return logistic_block<T, 17>;
        case 32: return logistic_block<T, 32>;
        default: return logistic_block<T, 0>;
    }
}

}  // namespace DESCENT_CPU_ISA
}  // namespace descent::detail
