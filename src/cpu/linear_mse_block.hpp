// The per-block kernels of the CPU linear-MSE pass, compiled twice: for the baseline x86-64
// instruction set (src/cpu/losses.cpp) and for AVX2 (src/cpu/losses_avx2.cpp), each in
// its own namespace (DESCENT_CPU_ISA) so the two instantiations never collide. The backend
// picks the AVX2 set at run time when the processor has it.
// Verified by tests/test_loss_hessian.cpp and tests/test_cpu_threads.cpp.
#pragma once

#include <algorithm>
#include <cstdint>
#include <type_traits>

#if defined(__FMA__)
#include <immintrin.h>
#endif

#include "cpu/linear_mse_isa.hpp"
#include "descent/detail/linear_mse_row.hpp"

#ifndef DESCENT_CPU_ISA
#error "define DESCENT_CPU_ISA before including cpu/linear_mse_block.hpp"
#endif

namespace descent::detail::DESCENT_CPU_ISA {

// Partial sums of rows [0, rows) of one block into out = [loss, grad (d), hessian (d*d)],
// for any d.
template <class T>
void linear_mse_block_any(const T* x, const T* y, const T* w, std::int64_t rows, std::int64_t d,
                          bool hessian, double* out) {
    double* grad = out + 1;
    double* hess = out + 1 + d;
    double loss = 0.0;
    for (std::int64_t i = 0; i < rows; ++i) {
        const T* row = x + i * d;
        const double r = linear_row_residual(row, w, y[i], d);
        loss += linear_row_accumulate_grad(row, r, d, grad);
        if (hessian) linear_row_accumulate_hessian(row, d, hess);
    }
    out[0] = loss;
}

// 4 doubles; GCC/Clang vector extensions, so the baseline build splits it into SSE2 pairs
// and the AVX2 build uses one ymm register. a * b + c stays a multiply and an add (the AVX2
// file is compiled with -ffp-contract=off), as in the scalar code.
typedef double Vec4 __attribute__((vector_size(32)));

// hess (D x D, upper triangle used) += xdᵀ xd for `rows` rows of xd (rows x D, widened to
// double), in 4 x 4 tiles whose 16 sums stay in registers over all the rows: one load of
// x[r][k0..k0+3] and four broadcasts feed 16 multiply-adds. The per-row rank-1 update it
// replaces reloaded and restored every Hessian entry, and its triangle loops (k from j)
// vectorised poorly. Tiles on the diagonal also sum a few lower entries, which are not read.
//
// exact_products: the rows were widened from f32, so every product x_j x_k is exact in
// double, and a fused multiply-add rounds exactly as the separate multiply and add do. The
// AVX2 build then uses FMA (half the floating-point instructions) and still gives bitwise
// the baseline build's sums; f64 rows keep the separate multiply and add.
template <int D, bool exact_products>
void hessian_tiles(const double (*xd)[D], int rows, double* hess) {
    static_assert(D % 4 == 0, "4 x 4 tiles");
    // a += x_j * xk for one of the tile's rows: a fused multiply-add where it is exact.
    const auto madd = [](Vec4& a, double xj, const Vec4& xk) {
#if defined(__FMA__)
        if constexpr (exact_products) {
            a = _mm256_fmadd_pd(_mm256_set1_pd(xj), xk, a);
            return;
        }
#endif
        a += xj * xk;
    };
    for (int j0 = 0; j0 < D; j0 += 4)
        for (int k0 = j0; k0 < D; k0 += 4) {
            // Even rows into a, odd rows into b: eight independent chains, so the loop runs
            // at the multiply-add throughput rather than its latency (four chains of a
            // 4-5 cycle latency left half the FMA slots empty). a + b at the end.
            // (memcpy, not helper functions: passing a Vec4 by value trips GCC's -Wpsabi
            // in the baseline build; these compile to plain vector loads and stores.)
            Vec4 a[4], b[4] = {};
            for (int q = 0; q < 4; ++q) __builtin_memcpy(&a[q], hess + (j0 + q) * D + k0, sizeof(Vec4));
            int r = 0;
            for (; r + 2 <= rows; r += 2) {
                Vec4 xk0, xk1;
                __builtin_memcpy(&xk0, &xd[r][k0], sizeof xk0);
                __builtin_memcpy(&xk1, &xd[r + 1][k0], sizeof xk1);
                for (int q = 0; q < 4; ++q) {
                    madd(a[q], xd[r][j0 + q], xk0);
                    madd(b[q], xd[r + 1][j0 + q], xk1);
                }
            }
            if (r < rows) {
                Vec4 xk;
                __builtin_memcpy(&xk, &xd[r][k0], sizeof xk);
                for (int q = 0; q < 4; ++q) madd(a[q], xd[r][j0 + q], xk);
            }
            for (int q = 0; q < 4; ++q) {
                const Vec4 sum = a[q] + b[q];
                __builtin_memcpy(hess + (j0 + q) * D + k0, &sum, sizeof sum);
            }
        }
}

// The same sums for a compile-time d: each row is widened to double once into a local array
// and the sums live in local arrays, so the compiler unrolls and vectorises the loops. The
// residual of each row is the shared per-row body's, value for value. Refinements, all in an
// order fixed by the block alone (never by threads):
//  - for d <= 4, rows go four at a time into four sets of loss/gradient sums (row mod 4),
//    combined at the end as (s0 + s1) + (s2 + s3): four dependency chains instead of one
//    (for larger d one set already has d independent chains, and four would spill);
//  - the Hessian: for d a multiple of 4, rows are widened kPanel at a time and the panel's
//    XᵀX is added in register tiles (hessian_tiles); for d < 4 the upper triangle is
//    updated once per four rows.
template <class T, int D, bool hessian>
void linear_mse_block_fixed_impl(const T* x, const T* y, const T* w, std::int64_t rows,
                                 double* out) {
    constexpr int S = D <= 4 ? 4 : 1;  // sets of loss/gradient sums
    constexpr bool tiled = hessian && D % 4 == 0;
    constexpr int kPanel = 64;  // rows per Hessian panel: 64 x D doubles, at most 16 KiB
    double wd[D];
    for (int j = 0; j < D; ++j) wd[j] = double(w[j]);
    double loss[S] = {}, grad[S][D] = {};
    double hess[hessian ? D * D : 1] = {};  // at most 8 KiB (D = 32)
    double panel[tiled ? kPanel : 4][D];
    int in_panel = 0;
    std::int64_t i = 0;
    for (; i + 4 <= rows; i += 4) {
        double (*xd)[D] = tiled ? panel + in_panel : panel;
        for (int q = 0; q < 4; ++q) {
            for (int j = 0; j < D; ++j) xd[q][j] = double(x[(i + q) * D + j]);
            const double r = linear_row_residual(xd[q], wd, double(y[i + q]), D);
            loss[q % S] += r * r;
            for (int j = 0; j < D; ++j) grad[q % S][j] += r * xd[q][j];
        }
        if constexpr (tiled) {
            in_panel += 4;
            if (in_panel == kPanel) {
                hessian_tiles<D, std::is_same_v<T, float>>(panel, in_panel, hess);
                in_panel = 0;
            }
        } else if constexpr (hessian) {
            for (int j = 0; j < D; ++j) {
                double* h = hess + j * D;
                const double a0 = xd[0][j], a1 = xd[1][j], a2 = xd[2][j], a3 = xd[3][j];
                for (int k = j; k < D; ++k)
                    h[k] += (a0 * xd[0][k] + a1 * xd[1][k]) + (a2 * xd[2][k] + a3 * xd[3][k]);
            }
        }
    }
    if constexpr (tiled)
        if (in_panel > 0) hessian_tiles<D, std::is_same_v<T, float>>(panel, in_panel, hess);
    for (; i < rows; ++i) {  // the block's last rows go to set 0
        double xd[D];
        for (int j = 0; j < D; ++j) xd[j] = double(x[i * D + j]);
        const double r = linear_row_residual(xd, wd, double(y[i]), D);
        loss[0] += r * r;
        for (int j = 0; j < D; ++j) grad[0][j] += r * xd[j];
        if constexpr (hessian)
            for (int j = 0; j < D; ++j)
                for (int k = j; k < D; ++k) hess[j * D + k] += xd[j] * xd[k];
    }
    if constexpr (S == 4) {
        out[0] = (loss[0] + loss[1]) + (loss[2] + loss[3]);
        for (int j = 0; j < D; ++j) out[1 + j] = (grad[0][j] + grad[1][j]) + (grad[2][j] + grad[3][j]);
    } else {
        out[0] = loss[0];
        for (int j = 0; j < D; ++j) out[1 + j] = grad[0][j];
    }
    if constexpr (hessian)
        for (int k = 0; k < D * D; ++k) out[1 + D + k] = hess[k];
}

template <class T, int D>
void linear_mse_block_fixed(const T* x, const T* y, const T* w, std::int64_t rows, std::int64_t,
                            bool hessian, double* out) {
    if (hessian) {
        linear_mse_block_fixed_impl<T, D, true>(x, y, w, rows, out);
    } else {
        linear_mse_block_fixed_impl<T, D, false>(x, y, w, rows, out);
    }
}

template <class T>
BlockFn<T> block_fn(std::int64_t d) {
    switch (d) {
        case 1: return linear_mse_block_fixed<T, 1>;
        case 2: return linear_mse_block_fixed<T, 2>;
        case 3: return linear_mse_block_fixed<T, 3>;
        case 4: return linear_mse_block_fixed<T, 4>;
        case 8: return linear_mse_block_fixed<T, 8>;
        case 16: return linear_mse_block_fixed<T, 16>;
        case 32: return linear_mse_block_fixed<T, 32>;
        default: return linear_mse_block_any<T>;
    }
}

}  // namespace descent::detail::DESCENT_CPU_ISA
