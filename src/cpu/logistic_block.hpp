// The per-block kernel of the CPU logistic pass (src/cpu/logistic.cpp), compiled once per
// instruction set like the linear-MSE blocks (cpu/linear_mse_block.hpp, whose widening loads,
// 4-row transposes it reuses): baseline x86-64 in src/cpu/logistic.cpp, AVX2 in
// src/cpu/logistic_avx2.cpp, AVX-512 in src/cpu/logistic_avx512.cpp, each in its own
// namespace (DESCENT_CPU_ISA). The wider builds only compute wider: no fused multiply-adds
// but exact ones (-ffp-contract=off), no reassociation, exp and the loss's log1p without
// library calls, so every build gives bitwise the same sums (tests/test_fused_classification.cpp).
//
// A block of rows goes through in chunks of kLogisticChunk rows, each in three loops:
//   1. the logits z (shared/logistic_row.hpp's order), the rows widened to double on the way;
//   2. the per-row terms: e = exp(-|z|) (table-driven, below), then σ - y, σ(1 - σ) and the
//      loss from shared/logistic_row.hpp's branch-free formulas, vectorised across rows;
//      the loss in 8 lanes (row mod 8), its log1p parts as running products with one log1p
//      a lane at the end of the block (log1p_product_step);
//   3. the gradient Σ r_i x_i from the widened rows and, for Newton, the upper triangle of
//      Σ h_i x_i x_iᵀ.
// The order of every sum is fixed by the block alone, never by the thread count. Where the
// time went at d = 16, f32, in cache (AVX-512 machine, ns a row): logits 1.4, exp 1.3 (0.6
// with the table), the other terms 0.7, the gradient 0.7.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "cpu/linear_mse_block.hpp"  // its widening loads, 4-row transposes and prefetch
#include "cpu/exp_neg_abs.hpp"
#include "cpu/logistic_isa.hpp"
#include "shared/logistic_row.hpp"

#ifndef DESCENT_CPU_ISA
#error "define DESCENT_CPU_ISA before including cpu/logistic_block.hpp"
#endif

namespace descent::detail {

namespace DESCENT_CPU_ISA {

constexpr int kLogisticChunk = 64;
constexpr int kLogisticLanes = 8;  // loss sums: row q of a block goes to lane q % 8
static_assert(kLogisticChunk % kLogisticLanes == 0, "chunks start on lane 0");

// The loss of a block in kLogisticLanes lanes: the plain parts max(z, 0) - z y summed, and
// the log1p(e) parts as products (log1p_product_step). A block may hold at most
// 1023 * kLogisticLanes rows (the products stay finite).
struct LogisticLoss {
    double plain[kLogisticLanes] = {};
    double prod[kLogisticLanes] = {};

    double total() const {
        const double p = ((plain[0] + plain[1]) + (plain[2] + plain[3])) +
                         ((plain[4] + plain[5]) + (plain[6] + plain[7]));
        double l[kLogisticLanes];
        for (int i = 0; i < kLogisticLanes; ++i) l[i] = std::log1p(prod[i]);
        return p + (((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7])));
    }
};

// Loop 2 over a chunk of m <= kLogisticChunk rows: from z and y, e = exp(-|z|) (above), then
// r and h of each row and the loss into the lanes: no calls, no branches, vectorised across
// rows by the compiler. Past m the lanes get
// zeros, which change nothing (x + 0 = x for the sums, (E + 0) + E 0 = E for the products).
inline void logistic_chunk_terms(const double* z, const double* y, int m, LogisticLoss& loss,
                                 double* r, double* h) {
#if defined(__AVX512F__)
    // Whole chunks in one AVX-512 loop: logistic_row_core_e's operations in its order (so
    // bitwise the same), with e, the loss lanes (lane l = zmm lane l) and no arrays between
    // them; 5% faster in cache than the loops below.
    if (m == kLogisticChunk) {
        const __m512d zero = _mm512_setzero_pd(), one = _mm512_set1_pd(1.0);
        __m512d plain_lanes = _mm512_loadu_pd(loss.plain), prod_lanes = _mm512_loadu_pd(loss.prod);
        for (int q = 0; q < kLogisticChunk; q += kLogisticLanes) {
            const __m512d zv = _mm512_loadu_pd(z + q), yv = _mm512_loadu_pd(y + q);
            const __m512d e = exp_neg_abs8(zv);
            const __m512d inv_u = _mm512_div_pd(one, _mm512_add_pd(one, e));
            const __m512d qv = _mm512_mul_pd(e, inv_u);
            // max(z, 0) is (z > 0 ? z : 0): maxpd gives its second operand for NaN and ±0.
            const __m512d plain = _mm512_sub_pd(_mm512_max_pd(zv, zero), _mm512_mul_pd(zv, yv));
            const __m512d r_pos = _mm512_sub_pd(_mm512_sub_pd(one, yv), qv);
            const __m512d r_neg = _mm512_sub_pd(qv, yv);
            const __mmask8 nonneg = _mm512_cmp_pd_mask(zv, zero, _CMP_GE_OQ);
            _mm512_storeu_pd(r + q, _mm512_mask_blend_pd(nonneg, r_neg, r_pos));
            _mm512_storeu_pd(h + q, _mm512_mul_pd(qv, inv_u));
            plain_lanes = _mm512_add_pd(plain_lanes, plain);
            prod_lanes = _mm512_add_pd(_mm512_add_pd(prod_lanes, e), _mm512_mul_pd(prod_lanes, e));
        }
        _mm512_storeu_pd(loss.plain, plain_lanes);
        _mm512_storeu_pd(loss.prod, prod_lanes);
        return;
    }
#endif
    alignas(64) double plain[kLogisticChunk], e[kLogisticChunk];
    exp_neg_abs_chunk(z, m, e);
#pragma GCC unroll 2  // two vectors of rows in flight: the loop is bound by latency
    for (int q = 0; q < m; ++q) {
        const LogisticRowCore t = logistic_row_core_e(z[q], y[q], e[q]);
        plain[q] = t.plain;
        e[q] = t.e;
        r[q] = t.r;
        h[q] = t.h;
    }
    const int m_lanes = (m + kLogisticLanes - 1) / kLogisticLanes * kLogisticLanes;
    for (int q = m; q < m_lanes; ++q) {
        plain[q] = 0.0;
        e[q] = 0.0;
    }
    for (int q0 = 0; q0 < m_lanes; q0 += kLogisticLanes)
        for (int l = 0; l < kLogisticLanes; ++l) {
            loss.plain[l] += plain[q0 + l];
            loss.prod[l] = log1p_product_step(loss.prod[l], e[q0 + l]);
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

// D in 1..3: d = D at compile time; D = 0: any d (d_any). The shared per-row dot product,
// the chunk's terms, the gradient in row order. ones (D 2, 3): X holds D - 1 columns and the
// last is implicit ones, each chunk staged with them (cpu/linear_mse_block.hpp's RowGroups).
template <class T, int D, bool ones>
void logistic_block(const T* x, const T* y, const T* w, std::int64_t rows, std::int64_t d_any,
                    bool hessian, double* out) {
    static_assert(!ones || D > 0, "implicit ones need a compile-time width");
    const std::int64_t d = D > 0 ? D : d_any;
    RowGroups<T, (D > 0 ? D : 1), ones, kLogisticChunk> src(x);
    double* hess = out + 1 + d;
    alignas(64) double z[kLogisticChunk], yd[kLogisticChunk], rt[kLogisticChunk],
        ht[kLogisticChunk];
    double g_fixed[D > 0 ? D : 1] = {};
    double* g = D > 0 ? g_fixed : out + 1;
    LogisticLoss loss;
    for (std::int64_t i0 = 0; i0 < rows; i0 += kLogisticChunk) {
        const int m = static_cast<int>(std::min<std::int64_t>(kLogisticChunk, rows - i0));
        const T* xc = ones ? src.group(i0, m) : x + i0 * d;
        for (int q = 0; q < m; ++q) {
            z[q] = logistic_row_logit(xc + q * d, w, d);
            yd[q] = double(y[i0 + q]);
        }
        logistic_chunk_terms(z, yd, m, loss, rt, ht);
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
    out[0] = loss.total();
    if constexpr (D > 0)
        for (int j = 0; j < D; ++j) out[1 + j] = g_fixed[j];
}

// hess (DP x DP, its upper 4 x 4 tiles used) += Σ_r (h_r x_rj) x_rk over the m rows of a chunk:
// the linear pass's hessian_tiles with the left factor weighted. Each 4 x 4 tile keeps its 16
// sums in registers over all the rows, even rows onto the running sums and odd rows from zero
// (independent chains), added at the end; h_r x_rj is formed once a row (the order of the
// CUDA tile kernel's terms). The same order in every build. (Row by row, the upper triangle's
// scalar updates made the Newton epoch 15x the read floor at d = 16.)
template <int DP>
void weighted_hessian_tiles(const double (*xd)[DP], const double* h, int m, double* hess) {
    alignas(64) double hx[kLogisticChunk][DP];
    for (int r = 0; r < m; ++r)
        for (int j = 0; j < DP; ++j) hx[r][j] = h[r] * xd[r][j];
    for (int j0 = 0; j0 < DP; j0 += 4)
        for (int k0 = j0; k0 < DP; k0 += 4) {
            Vec4 a[4], b[4] = {};
            for (int q = 0; q < 4; ++q) __builtin_memcpy(&a[q], hess + (j0 + q) * DP + k0, sizeof(Vec4));
            int r = 0;
            for (; r + 2 <= m; r += 2) {
                Vec4 xk0, xk1;
                __builtin_memcpy(&xk0, &xd[r][k0], sizeof xk0);
                __builtin_memcpy(&xk1, &xd[r + 1][k0], sizeof xk1);
                for (int q = 0; q < 4; ++q) {
                    a[q] += hx[r][j0 + q] * xk0;
                    b[q] += hx[r + 1][j0 + q] * xk1;
                }
            }
            if (r < m) {
                Vec4 xk;
                __builtin_memcpy(&xk, &xd[r][k0], sizeof xk);
                for (int q = 0; q < 4; ++q) a[q] += hx[r][j0 + q] * xk;
            }
            for (int q = 0; q < 4; ++q) {
                const Vec4 sum = a[q] + b[q];
                __builtin_memcpy(hess + (j0 + q) * DP + k0, &sum, sizeof sum);
            }
        }
}

// Software prefetch of the rows 16 KiB ahead of the 4-row group at row i, as the linear
// pass's prefetch_ahead but with locality hint 2 (prefetcht1): streaming from memory at
// n = 10^7, d = 16, f32, 2 threads the pass took ~24.5 ms with it against ~27 with
// prefetcht0 (the loads come in bursts, once a chunk, between long stretches of arithmetic).
// A hint only: no effect on any value.
// S: the values a row holds in X (D, or D - 1 with implicit ones).
template <class T, int S>
inline void logistic_prefetch(const T* x, std::int64_t i) {
    constexpr std::int64_t kAheadBytes = 16384;
    constexpr std::int64_t kGroupBytes = 4 * S * std::int64_t(sizeof(T));
    const std::uintptr_t at = reinterpret_cast<std::uintptr_t>(x + i * S) + kAheadBytes;
    for (std::int64_t line = 0; line < kGroupBytes; line += 64)
        __builtin_prefetch(reinterpret_cast<const void*>(at + std::uintptr_t(line)), 0, 2);
}

// d = D >= 4 (the widths the linear pass specialises). Per chunk of rows:
//   1. each row widened to double once into the buffer xd (zero-padded to whole groups of 8)
//      and its logit formed from the same vectors in logistic_row_logit's order: lanes j mod 8
//      in increasing j (two 4-wide vectors a row, lanes 0-3 and 4-7), then
//      ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7)), four rows reduced together like the
//      linear pass's residuals. (Eight rows in 8-lane AVX-512 vectors with an 8 x 8 transpose
//      was faster in cache but slower streaming from memory: 36 ms against 31 per 10^7 rows;
//      one 8-lane vector a row with four rows, slower in both. Measured, not kept.)
//   2. the terms (logistic_chunk_terms);
//   3. the gradient from the widened rows in two sets (even and odd rows: independent
//      chains), added as set 0 + set 1 at the end; the Hessian in 4 x 4 register tiles
//      (weighted_hessian_tiles).
// Every build forms the same values in the same order; only the grouping into vectors
// differs. (The padded zeros add exact zeros; a zero's sign never reaches a result.)
// ones: X holds D - 1 columns and the last is implicit ones, each chunk staged with them in
// L1 (cpu/linear_mse_block.hpp's RowGroups): the same values as over a stored ones column.
template <class T, int D, bool ones>
void logistic_block_vec(const T* x, const T* y, const T* w, std::int64_t rows, bool hessian,
                        double* out) {
    RowGroups<T, D, ones, kLogisticChunk> src(x);
    constexpr int DP = (D + 7) / 8 * 8;  // a widened row, zero-padded
    constexpr int V = DP / 4;            // its 4-wide vectors
    constexpr int PF = D / 4, TL = D % 4;  // full 4-wide pieces of a row, then TL columns
    constexpr bool exact = std::is_same_v<T, float>;  // f32 products are exact in double
    static_assert(D >= 4, "d >= 4");
    alignas(64) double wd[DP] = {};
    for (int j = 0; j < D; ++j) wd[j] = double(w[j]);
    Vec4 wv[V];
    for (int v = 0; v < V; ++v) __builtin_memcpy(&wv[v], wd + 4 * v, sizeof(Vec4));
    alignas(64) double xd[kLogisticChunk][DP];
    alignas(64) double z[kLogisticChunk], yd[kLogisticChunk], rt[kLogisticChunk],
        ht[kLogisticChunk];
    Vec4 g_even[V] = {}, g_odd[V] = {};
    alignas(64) double hess[DP * DP] = {};  // Hessian sums, padded rows (upper tiles used)
    LogisticLoss loss;
    for (std::int64_t i0 = 0; i0 < rows; i0 += kLogisticChunk) {
        const int m = static_cast<int>(std::min<std::int64_t>(kLogisticChunk, rows - i0));
        const T* xc = src.group(i0, m);
        const T* stored = x + i0 * decltype(src)::kStride;
        int q = 0;
        for (; q + 4 <= m; q += 4) {
            logistic_prefetch<T, decltype(src)::kStride>(stored, q);
            Vec4 lo[4], hi[4];  // lanes 0-3 and 4-7 of each row's sums
            for (int r = 0; r < 4; ++r) {
                const T* row = xc + (q + r) * D;
                double* xr = xd[q + r];
                lo[r] = Vec4{};
                hi[r] = Vec4{};
                for (int v = 0; v < V; ++v) {
                    Vec4 xv = {};
                    if (v < PF) {
                        load_widened(row + 4 * v, xv);
                    } else if (v == PF && TL > 0) {
                        load_tail_widened<T, (TL > 0 ? TL : 1)>(row + 4 * v, xv);
                    }
                    __builtin_memcpy(xr + 4 * v, &xv, sizeof xv);
                    if (v <= PF) madd_exact<exact>(v % 2 == 0 ? lo[r] : hi[r], xv, wv[v]);
                }
            }
            Vec4 zlo, zhi;
            residuals4(lo, Vec4{}, zlo);  // (s0 + s1) + (s2 + s3) of each row (- 0)
            residuals4(hi, Vec4{}, zhi);  // (s4 + s5) + (s6 + s7)
            const Vec4 zv = zlo + zhi;
            __builtin_memcpy(z + q, &zv, sizeof zv);
        }
        for (; q < m; ++q) {  // the block's last rows (fewer than four): the shared body
            const T* row = xc + q * D;
            z[q] = logistic_row_logit(row, w, D);
            for (int j = 0; j < DP; ++j) xd[q][j] = j < D ? double(row[j]) : 0.0;
        }
        for (int r = 0; r < m; ++r) yd[r] = double(y[i0 + r]);
        logistic_chunk_terms(z, yd, m, loss, rt, ht);
        const auto add_row = [&](Vec4(&g)[V], int r) {
            const double rr = rt[r];
            const Vec4 rq = {rr, rr, rr, rr};
            for (int v = 0; v < V; ++v) {
                Vec4 xv;
                __builtin_memcpy(&xv, xd[r] + 4 * v, sizeof xv);
                g[v] += rq * xv;
            }
        };
        int r = 0;
        for (; r + 2 <= m; r += 2) {  // even rows into one set, odd rows into the other
            add_row(g_even, r);
            add_row(g_odd, r + 1);
        }
        if (r < m) add_row(g_even, r);  // m is even but for the block's last chunk
        if (hessian) weighted_hessian_tiles<DP>(xd, ht, m, hess);
    }
    out[0] = loss.total();
    if (hessian)  // the upper triangle (the backend reads no more)
        for (int j = 0; j < D; ++j)
            for (int k = j; k < D; ++k) out[1 + D + j * D + k] = hess[j * DP + k];
    for (int v = 0; v < V; ++v) {
        const Vec4 sum = g_even[v] + g_odd[v];
        for (int lane = 0; lane < 4 && 4 * v + lane < D; ++lane) out[1 + 4 * v + lane] = sum[lane];
    }
}

template <class T, int D, bool ones>
void logistic_block_fixed(const T* x, const T* y, const T* w, std::int64_t rows, std::int64_t,
                          bool hessian, double* out) {
    logistic_block_vec<T, D, ones>(x, y, w, rows, hessian, out);
}

// The specialised kernel for d columns (with ones: X holds d - 1 of them, the last is
// implicit ones), or nullptr.
template <class T, bool ones>
LogisticBlockFn<T> fixed_logistic_block_fn(std::int64_t d) {
    switch (d) {
        case 1:
            if constexpr (ones) return nullptr; else return logistic_block<T, 1, false>;
        case 2: return logistic_block<T, 2, ones>;
        case 3: return logistic_block<T, 3, ones>;
        case 4: return logistic_block_fixed<T, 4, ones>;
        case 5: return logistic_block_fixed<T, 5, ones>;
        case 8: return logistic_block_fixed<T, 8, ones>;
        case 9: return logistic_block_fixed<T, 9, ones>;
        case 16: return logistic_block_fixed<T, 16, ones>;
        case 17: return logistic_block_fixed<T, 17, ones>;
        case 32: return logistic_block_fixed<T, 32, ones>;
        case 33: return logistic_block_fixed<T, 33, ones>;
        default: return nullptr;
    }
}

// The kernel for d columns; with ones nullptr for the widths without a specialised kernel
// (the backend then copies the rows with their ones).
template <class T>
LogisticBlockFn<T> logistic_block_fn(std::int64_t d, bool ones = false) {
    if (ones) return fixed_logistic_block_fn<T, true>(d);
    const LogisticBlockFn<T> fixed = fixed_logistic_block_fn<T, false>(d);
    return fixed ? fixed : logistic_block<T, 0, false>;
}

}  // namespace DESCENT_CPU_ISA
}  // namespace descent::detail
