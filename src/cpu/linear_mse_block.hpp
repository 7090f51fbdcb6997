// The per-block kernels of the CPU linear-MSE pass, compiled three times: for the baseline
// x86-64 instruction set (src/cpu/linear_mse.cpp), for AVX2 + FMA (src/cpu/linear_mse_avx2.cpp) and
// for AVX-512 (src/cpu/linear_mse_avx512.cpp), each in its own namespace (DESCENT_CPU_ISA) so the
// instantiations never collide; the backend picks the widest the processor runs
// (cpu/linear_mse_isa.hpp). Every build gives bitwise the same sums. By d: 1 (and the
// Hessian for 2 and 3) a scalar kernel with four sets of sums; 2 and 3 two- and three-vector
// kernels with the same sums; 4-33 among the specialised sizes the 4-wide vector kernel
// (AVX-512: 8-wide where the 4-wide chunks pair up); any other d a plain loop over the
// shared per-row body.
// Verified by tests/test_cpu_isa.cpp (all builds, bitwise, and against a long-double sum),
// tests/test_loss_hessian.cpp and tests/test_cpu_threads.cpp.
#pragma once

#include <algorithm>
#include <cstdint>
#include <type_traits>

#if defined(__AVX__)
#include <immintrin.h>
#endif

#include "cpu/linear_mse_isa.hpp"
#include "shared/linear_mse_row.hpp"

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
        const double r = linear_row_residual(row, w, target_at(y, i), d);
        loss += linear_row_accumulate_grad(row, r, d, grad);
        if (hessian) linear_row_accumulate_hessian(row, d, hess);
    }
    out[0] = loss;
}

// 4 doubles; GCC/Clang vector extensions, so the baseline build splits it into SSE2 pairs
// and the wider builds use one ymm register. a * b + c stays a multiply and an add (the wider
// files are compiled with -ffp-contract=off), as in the scalar code.
typedef double Vec4 __attribute__((vector_size(32)));

#if defined(__AVX512F__)
// The AVX-512 build's tiles: four rows of the Hessian by 16 columns (two zmm registers; 8 at
// the end of a row), where each multiply-add takes its x_j straight from memory as an embedded
// broadcast used for both registers: 6 loads and 8 multiply-adds per row for 64 sums, against
// 18 instructions for 4 x 4 tiles in AVX2. (Loads, not multiply-adds, limited 4 x 8 tiles.) Every sum is formed as
// in the 4 x 4 tiles (even rows onto the running sum, odd rows from zero, added at the end),
// so the upper triangle is bitwise the same; the tiles on the diagonal cover a few more lower
// entries, which are not read. (Rotations of each row's 8 values cover an 8 x 8 diagonal
// block in 5 multiply-adds instead of 8, but the permutes or the unaligned loads they need
// made the whole no faster on this machine: measured, not kept.)
template <int D, bool exact_products, int KB>
void hessian_tile_512(const double (*xd)[D], int rows, int j0, int k0, double* hess) {
    const auto madd = [](__m512d& a, const double& xj, const __m512d& xk) {
        if constexpr (exact_products) {
            a = _mm512_fmadd_pd(_mm512_set1_pd(xj), xk, a);
        } else {
            a = _mm512_add_pd(a, _mm512_mul_pd(_mm512_set1_pd(xj), xk));
        }
    };
    __m512d a[4][KB], b[4][KB];
    for (int q = 0; q < 4; ++q)
        for (int c = 0; c < KB; ++c) {
            a[q][c] = _mm512_loadu_pd(hess + (j0 + q) * D + k0 + 8 * c);
            b[q][c] = _mm512_setzero_pd();
        }
    int r = 0;
    for (; r + 2 <= rows; r += 2) {
        __m512d xk0[KB], xk1[KB];
        for (int c = 0; c < KB; ++c) {
            xk0[c] = _mm512_loadu_pd(&xd[r][k0 + 8 * c]);
            xk1[c] = _mm512_loadu_pd(&xd[r + 1][k0 + 8 * c]);
        }
        for (int q = 0; q < 4; ++q)
            for (int c = 0; c < KB; ++c) {
                madd(a[q][c], xd[r][j0 + q], xk0[c]);
                madd(b[q][c], xd[r + 1][j0 + q], xk1[c]);
            }
    }
    if (r < rows)
        for (int c = 0; c < KB; ++c) {
            const __m512d xk = _mm512_loadu_pd(&xd[r][k0 + 8 * c]);
            for (int q = 0; q < 4; ++q) madd(a[q][c], xd[r][j0 + q], xk);
        }
    for (int q = 0; q < 4; ++q)
        for (int c = 0; c < KB; ++c)
            _mm512_storeu_pd(hess + (j0 + q) * D + k0 + 8 * c, _mm512_add_pd(a[q][c], b[q][c]));
}

template <int D, bool exact_products>
void hessian_tiles_512(const double (*xd)[D], int rows, double* hess) {
    for (int j0 = 0; j0 < D; j0 += 4) {
        int k0 = j0 / 8 * 8;
        for (; k0 + 16 <= D; k0 += 16) hessian_tile_512<D, exact_products, 2>(xd, rows, j0, k0, hess);
        if (k0 < D) hessian_tile_512<D, exact_products, 1>(xd, rows, j0, k0, hess);
    }
}
#endif

// hess (D x D, upper triangle used) += xdᵀ xd for `rows` rows of xd (rows x D, widened to
// double), in 4 x 4 tiles whose 16 sums stay in registers over all the rows: one load of
// x[r][k0..k0+3] and four broadcasts feed 16 multiply-adds. The per-row rank-1 update it
// replaces reloaded and restored every Hessian entry, and its triangle loops (k from j)
// vectorised poorly. Tiles on the diagonal also sum a few lower entries, which are not read.
//
// exact_products: the rows were widened from f32, so every product x_j x_k is exact in
// double, and a fused multiply-add rounds exactly as the separate multiply and add do. The
// AVX2 build then uses FMA (half the floating-point instructions) and still gives bitwise
// the baseline build's sums; f64 rows keep the separate multiply and add. (The AVX-512
// build hands multiples of 8 to hessian_tiles_512.)
template <int D, bool exact_products>
void hessian_tiles(const double (*xd)[D], int rows, double* hess) {
    static_assert(D % 4 == 0, "4 x 4 tiles");
#if defined(__AVX512F__)
    if constexpr (D % 8 == 0) {
        hessian_tiles_512<D, exact_products>(xd, rows, hess);
        return;
    }
#endif
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

// 4 floats, and the index vector of a 4-lane shuffle.
typedef float Float4 __attribute__((vector_size(16)));

// v = x[0..3] widened to double (one conversion instruction for f32 rows).
template <class T>
inline void load_widened(const T* x, Vec4& v) {
    if constexpr (std::is_same_v<T, float>) {
#if defined(__AVX__)
        v = _mm256_cvtps_pd(_mm_loadu_ps(x));  // GCC's generic conversion goes via the stack
#else
        Float4 f;
        __builtin_memcpy(&f, x, sizeof f);
        v = __builtin_convertvector(f, Vec4);
#endif
    } else {
        __builtin_memcpy(&v, x, sizeof v);
    }
}

// The targets of rows i..i+3 widened (zeros when there is no y: see target_at).
template <class T>
inline void load_targets(const T* y, std::int64_t i, Vec4& v) {
    if (y != nullptr) {
        load_widened(y + i, v);
    } else {
        v = Vec4{};
    }
}

// s += a * b where every product is exact (f32 values widened to double): a fused
// multiply-add then rounds exactly as the separate multiply and add, so the AVX2 build may
// use it and still match the baseline build bit for bit. Otherwise a multiply and an add.
template <bool exact_products>
inline void madd_exact(Vec4& s, const Vec4& a, const Vec4& b) {
#if defined(__FMA__)
    if constexpr (exact_products) {
        s = _mm256_fmadd_pd(a, b, s);
        return;
    }
#endif
    s += a * b;
}

// The residuals of four rows from their dot-product vectors (lane k of s[q]: the shared
// per-row body's partial sum s_k of row q), each as ((s0 + s1) + (s2 + s3)) - y: the order
// of linear_row_residual, value for value, with one transpose for four rows instead of a
// horizontal reduction per row.
inline void residuals4(const Vec4 (&s)[4], const Vec4& y, Vec4& r) {
    const Vec4 ab = __builtin_shufflevector(s[0], s[1], 0, 4, 2, 6) +
                    __builtin_shufflevector(s[0], s[1], 1, 5, 3, 7);  // a01 b01 a23 b23
    const Vec4 cd = __builtin_shufflevector(s[2], s[3], 0, 4, 2, 6) +
                    __builtin_shufflevector(s[2], s[3], 1, 5, 3, 7);  // c01 d01 c23 d23
    r = (__builtin_shufflevector(ab, cd, 0, 1, 4, 5) + __builtin_shufflevector(ab, cd, 2, 3, 6, 7)) - y;
}

// Software prefetch of the rows kAheadBytes ahead of the 4-row group at row i, past the
// block's end too (the same thread usually takes the next block; a prefetch never faults, and
// the address is formed as an integer, not as an out-of-range pointer). Without it the loads
// of a group stalled the arithmetic often enough to leave the pass at ~1.3x the floor whenever
// the memory ran at its fastest (~63 GB/s, 2 threads, d = 16 f32); with it ~1.0x. A hint
// only: no effect on any value.
// S: the values a row holds in X (D, or D - 1 for RowGroups' implicit ones).
template <class T, int S>
inline void prefetch_ahead(const T* x, std::int64_t i) {
    constexpr std::int64_t kAheadBytes = 16384;
    constexpr std::int64_t kGroupBytes = 4 * S * std::int64_t(sizeof(T));
    const std::uintptr_t at = reinterpret_cast<std::uintptr_t>(x + i * S) + kAheadBytes;
    for (std::int64_t line = 0; line < kGroupBytes; line += 64)
        __builtin_prefetch(reinterpret_cast<const void*>(at + std::uintptr_t(line)));
}

// Where a block kernel's rows of D columns come from. Stored (ones = false): X holds the D
// columns of each row. Implicit ones (a model's implicit intercept, LinearModel's
// fit_intercept): X holds the first D - 1 and the last column is all ones, never stored.
// The vector kernels' 4-row groups load X's values and put the 1 in its lane in the register
// (load_row_chunk, load_row_chunk8, and shuffles in the d = 2, 3 kernels); group() gives the
// rest (a block's last rows, the d < 4 Hessian kernel, the logistic chunks) as D-column rows:
// the stored rows themselves, or the rows copied with their ones into a buffer of G rows that
// stays in L1. Either way the kernel does the arithmetic of a stored ones column (bitwise the
// same sums) and X is read once, the prefetch running on X's own rows (kStride). Copying each
// 4096-row block with its ones before the kernel, the earlier way (still cpu/row_blocks.hpp's
// BlockRows, for the widths without a specialised kernel), went through L2 with nothing
// overlapping it: an epoch took 1.4-2x the stored column's.
template <class T, int D, bool ones, int G>
class RowGroups {
public:
    static constexpr int kStride = ones ? D - 1 : D;  // values a row holds in X
    static_assert(kStride >= 1, "an implicit ones column needs a stored column beside it");

    explicit RowGroups(const T* x) : m_x(x) {}

    // Rows [i, i + rows), rows <= G, as D-column rows.
    const T* group(std::int64_t i, std::int64_t rows = G) {
        const T* src = m_x + i * kStride;
        if constexpr (!ones) {
            return src;
        } else {
            const std::int64_t n = std::min<std::int64_t>(rows, G);  // (lets GCC see the bound)
            for (std::int64_t q = 0; q < n; ++q) {
                for (int j = 0; j < kStride; ++j) m_buffer[q * D + j] = src[q * kStride + j];
                m_buffer[q * D + kStride] = T(1);
            }
            return m_buffer;
        }
    }

private:
    const T* m_x;
    alignas(64) T m_buffer[ones ? G * D : 1];
};

// d = 2, loss and gradient: four rows (eight values) at a time in two vectors, the same sums
// as linear_mse_block_fixed_impl<T, 2> value for value (four sets, row mod 4), without its
// scalar per-row work (~4 cycles a row, twice the memory floor). The shared per-row body's
// residual for d = 2 is ((((0 + p0) + p1) + 0) + 0) - y with p_j = x_j w_j; that equals
// ((p0 + p1) + 0) - y exactly (the two differ at most in the sign of a zero, which adding +0
// makes positive), so the pair sums need one add of zero instead of three.
template <class T, bool ones>
void linear_mse_block_d2(const T* x, const T* y, const T* w, std::int64_t rows, double* out) {
    RowGroups<T, 2, ones, 4> src(x);  // the block's last rows
    const Vec4 one = {1.0, 1.0, 1.0, 1.0};
    const Vec4 w2 = {double(w[0]), double(w[1]), double(w[0]), double(w[1])};
    const Vec4 zero = {};
    // lanes of g01: (g0, g1) of sets 0 and 1; of g23: sets 2 and 3.
    Vec4 g01 = {}, g23 = {}, loss4 = {};
    std::int64_t i = 0;
    for (; i + 4 <= rows; i += 4) {
        prefetch_ahead<T, decltype(src)::kStride>(x, i);
        Vec4 xa, xb, yv;
        if constexpr (ones) {  // x holds x0 of rows i..i+3; the rows' ones made in registers
            Vec4 v;
            load_widened(x + i, v);
            xa = __builtin_shufflevector(v, one, 0, 4, 1, 4);
            xb = __builtin_shufflevector(v, one, 2, 4, 3, 4);
        } else {
            load_widened(x + 2 * i, xa);      // rows i, i + 1
            load_widened(x + 2 * i + 4, xb);  // rows i + 2, i + 3
        }
        load_targets(y, i, yv);
        const Vec4 pa = xa * w2, pb = xb * w2;
        const Vec4 r = ((__builtin_shufflevector(pa, pb, 0, 2, 4, 6) +
                         __builtin_shufflevector(pa, pb, 1, 3, 5, 7)) + zero) - yv;
        loss4 += r * r;
        g01 += __builtin_shufflevector(r, r, 0, 0, 1, 1) * xa;
        g23 += __builtin_shufflevector(r, r, 2, 2, 3, 3) * xb;
    }
    double loss[4], g[2][4];
    __builtin_memcpy(loss, &loss4, sizeof loss);
    __builtin_memcpy(g[0], &g01, sizeof g01);
    __builtin_memcpy(g[1], &g23, sizeof g23);
    for (; i < rows; ++i) {  // the block's last rows go to set 0
        const T* row = src.group(i, 1);
        const double r = linear_row_residual(row, w, target_at(y, i), 2);
        loss[0] += r * r;
        for (int j = 0; j < 2; ++j) g[0][j] += r * double(row[j]);
    }
    out[0] = (loss[0] + loss[1]) + (loss[2] + loss[3]);
    for (int j = 0; j < 2; ++j) out[1 + j] = (g[0][j] + g[0][2 + j]) + (g[1][j] + g[1][2 + j]);
}

// d = 3, loss and gradient: four rows (twelve values) in three vectors, the same sums as
// linear_mse_block_fixed_impl<T, 3> value for value (four sets, row mod 4), without its
// scalar per-row work (2.7x the memory floor). Lanes: x0 = (x00 x01 x02 x10), x1 = (x11 x12
// x20 x21), x2 = (x22 x30 x31 x32), each times the weights in the same rotation. The shared
// residual for d = 3 is ((((0 + p0) + p1) + p2) + 0 + 0 + 0) - y; that equals
// (((p0 + p1) + p2) + 0) - y exactly (they differ at most in the sign of a zero, which adding
// +0 makes positive). The gradient sets fall on distinct lanes: (set q, column j) is lane
// 3q + j of (g0 g1 g2).
template <class T, bool ones>
void linear_mse_block_d3(const T* x, const T* y, const T* w, std::int64_t rows, double* out) {
    RowGroups<T, 3, ones, 4> src(x);  // the block's last rows
    const Vec4 one = {1.0, 1.0, 1.0, 1.0};
    const double w0 = double(w[0]), w1 = double(w[1]), w2 = double(w[2]);
    const Vec4 wa = {w0, w1, w2, w0}, wb = {w1, w2, w0, w1}, wc = {w2, w0, w1, w2};
    const Vec4 zero = {};
    Vec4 g0 = {}, g1 = {}, g2 = {}, loss4 = {};
    std::int64_t i = 0;
    for (; i + 4 <= rows; i += 4) {
        prefetch_ahead<T, decltype(src)::kStride>(x, i);
        Vec4 xa, xb, xc, yv;
        if constexpr (ones) {  // x holds (a b) of rows i..i+3; the rows (a b 1) made in registers
            Vec4 v0, v1;
            load_widened(x + 2 * i, v0);      // a0 b0 a1 b1
            load_widened(x + 2 * i + 4, v1);  // a2 b2 a3 b3
            xa = __builtin_shufflevector(v0, one, 0, 1, 4, 2);                        // a0 b0 1 a1
            xb = __builtin_shufflevector(__builtin_shufflevector(v0, v1, 3, 3, 4, 5), one, 0, 4, 2, 3);  // b1 1 a2 b2
            xc = __builtin_shufflevector(v1, one, 4, 2, 3, 4);                        // 1 a3 b3 1
        } else {
            load_widened(x + 3 * i, xa);
            load_widened(x + 3 * i + 4, xb);
            load_widened(x + 3 * i + 8, xc);
        }
        load_targets(y, i, yv);
        const Vec4 pa = xa * wa, pb = xb * wb, pc = xc * wc;
        // the first, second and third product of each of the four rows
        const Vec4 first = __builtin_shufflevector(__builtin_shufflevector(pa, pb, 0, 3, 6, 6), pc, 0, 1, 2, 5);
        const Vec4 second = __builtin_shufflevector(__builtin_shufflevector(pa, pb, 1, 4, 7, 7), pc, 0, 1, 2, 6);
        const Vec4 third = __builtin_shufflevector(__builtin_shufflevector(pa, pb, 2, 5, 5, 5), pc, 0, 1, 4, 7);
        const Vec4 r = (((first + second) + third) + zero) - yv;
        loss4 += r * r;
        g0 += __builtin_shufflevector(r, r, 0, 0, 0, 1) * xa;
        g1 += __builtin_shufflevector(r, r, 1, 1, 2, 2) * xb;
        g2 += __builtin_shufflevector(r, r, 2, 3, 3, 3) * xc;
    }
    double loss[4], lanes[12];
    __builtin_memcpy(loss, &loss4, sizeof loss);
    __builtin_memcpy(lanes, &g0, sizeof g0);
    __builtin_memcpy(lanes + 4, &g1, sizeof g1);
    __builtin_memcpy(lanes + 8, &g2, sizeof g2);
    double (*g)[3] = reinterpret_cast<double (*)[3]>(lanes);  // g[set][column]
    for (; i < rows; ++i) {  // the block's last rows go to set 0
        const T* row = src.group(i, 1);
        const double r = linear_row_residual(row, w, target_at(y, i), 3);
        loss[0] += r * r;
        for (int j = 0; j < 3; ++j) g[0][j] += r * double(row[j]);
    }
    out[0] = (loss[0] + loss[1]) + (loss[2] + loss[3]);
    for (int j = 0; j < 3; ++j) out[1 + j] = (g[0][j] + g[1][j]) + (g[2][j] + g[3][j]);
}

// The end of a vector kernel's block: its last rows (fewer than four) through the shared
// per-row body into set 0 of the loss and the gradient sums g, then out = [the four loss
// sets as (s0 + s1) + (s2 + s3), g, the Hessian sums]. hess holds the D x D sums with a row
// stride of HS (HS > D: the kernel's panel rows were padded to whole vectors).
template <class T, int D, int HS, bool hessian>
void finish_block(const T* x, const T* y, const T* w, std::int64_t rows, double (&loss)[4],
                  double (&g)[D], double* hess, double* out) {
    for (std::int64_t i = 0; i < rows; ++i) {
        const T* row = x + i * D;
        const double r = linear_row_residual(row, w, target_at(y, i), D);
        loss[0] += linear_row_accumulate_grad(row, r, D, g);
        if constexpr (hessian)
            for (int j = 0; j < D; ++j)
                for (int k = j; k < D; ++k) hess[j * HS + k] += double(row[j]) * double(row[k]);
    }
    out[0] = (loss[0] + loss[1]) + (loss[2] + loss[3]);
    for (int j = 0; j < D; ++j) out[1 + j] = g[j];
    if constexpr (hessian)
        for (int j = 0; j < D; ++j)
            for (int k = 0; k < D; ++k) out[1 + D + j * D + k] = hess[j * HS + k];
}

// x[0..TL) widened to double in the low lanes of v, zeros above (AVX2: a masked load; nothing
// past the row is read).
template <class T, int TL>
inline void load_tail_widened(const T* x, Vec4& v) {
#if defined(__AVX2__)
    const __m128i mask = _mm_setr_epi32(TL > 0 ? -1 : 0, TL > 1 ? -1 : 0, TL > 2 ? -1 : 0, 0);
    if constexpr (std::is_same_v<T, float>) {
        v = _mm256_cvtps_pd(_mm_maskload_ps(x, mask));
    } else {
        v = _mm256_maskload_pd(x, _mm256_cvtepi32_epi64(mask));
    }
#else
    v = Vec4{};
    for (int t = 0; t < TL; ++t) v[t] = double(x[t]);
#endif
}

// The tail columns 4C .. D-1 of a row (D not a multiple of 4) in the shared residual's order:
// linear_row_residual adds them, one by one, to its first partial sum (lane 0 of s).
// ones: the last tail column is the implicit ones (RowGroups), not read from X.
template <class T, int TL, bool ones = false>
inline void add_tail_products(const T* tail, const double (&wt)[TL], Vec4& s) {
    double s0 = s[0];
    for (int t = 0; t < TL; ++t) s0 += (ones && t == TL - 1 ? 1.0 : double(tail[t])) * wt[t];
    s[0] = s0;
}

// Columns 4c .. 4c + 3 of a row of D columns widened (the D % 4 tail zero-padded), the row
// read from X where it holds D values, or D - 1 with the last column the implicit ones
// (ones): those chunks load the stored values and put the 1 in its lane in the register.
// (Staging a group of rows with their ones in memory instead, the kernels' 4-wide loads
// waited on the staging's narrower stores (store forwarding fails): 2.5-2.8x the stored
// column's epoch at d = 1 and 3, f64.)
template <class T, int D, bool ones>
inline void load_row_chunk(const T* row, int c, Vec4& v) {
    constexpr int C = D / 4, TL = D % 4;
    if constexpr (!ones) {
        if (c < C) {
            load_widened(row + 4 * c, v);
        } else {
            load_tail_widened<T, (TL > 0 ? TL : 1)>(row + 4 * C, v);
        }
    } else {
        constexpr int CO = (D - 1) / 4, LO = (D - 1) % 4;  // the ones column's chunk and lane
        if (c < CO) {
            load_widened(row + 4 * c, v);
        } else {
            if constexpr (LO > 0) {
                load_tail_widened<T, LO>(row + 4 * CO, v);
            } else {
                v = Vec4{};
            }
            v[LO] = 1.0;
        }
    }
}

// Rows of d = D >= 4 in explicit 4-wide vectors: the compiler left the per-row dot product
// scalar (~60 instructions a row at d = 16, compute-bound at twice the memory floor on a
// fast-memory machine). Four rows at a time: their dot products (lanes = the four partial
// sums of linear_row_residual; the D % 4 tail columns added to lane 0 one by one, as it
// does), one transpose into four residuals, the loss in four sets (row mod 4, combined as
// (s0 + s1) + (s2 + s3)), the gradient in one set of D/4 vectors (and the tail's scalars).
// For the Hessian the widened rows go to the panel for hessian_tiles, the tail zero-padded
// to a whole vector (the padded sums are not read).
template <class T, int D, bool hessian, bool ones>
void linear_mse_block_vec(const T* x, const T* y, const T* w, std::int64_t rows, double* out) {
    RowGroups<T, D, ones, 4> src(x);  // the block's last rows
    constexpr int S = decltype(src)::kStride;  // values a row holds in X
    constexpr int C = D / 4, TL = D % 4;  // whole 4-wide chunks, then TL tail columns
    static_assert(C >= 1, "d >= 4");
    constexpr int DP = 4 * (C + (TL > 0 ? 1 : 0));  // a Hessian panel row, padded
    constexpr bool exact = std::is_same_v<T, float>;
    constexpr int kPanel = 64;  // rows per Hessian panel: 64 x DP doubles, at most 18 KiB
    // Gradient sets: one for d >= 8 (D/4 independent chains already); four for d < 8, one per
    // row of the four (its single chain of adds was the limit), combined as (g0 + g1) + (g2 + g3)
    // like linear_mse_block_fixed_impl's sets.
    constexpr int G = C == 1 ? 4 : 1;
    constexpr int TA = TL > 0 ? TL : 1;
    constexpr int CT = C + (TL > 0 ? 1 : 0);  // chunks with the tail's (zero-padded)
    Vec4 wv[C], grad[G][CT] = {}, loss4 = {};
    double wt[TA] = {};
    for (int c = 0; c < C; ++c) load_widened(w + 4 * c, wv[c]);
    for (int t = 0; t < TL; ++t) wt[t] = double(w[4 * C + t]);
    double hess[hessian ? DP * DP : 1] = {};  // at most 9 KiB (D = 33)
    double panel[hessian ? kPanel : 1][DP];
    int in_panel = 0;
    std::int64_t i = 0;
    for (; i + 4 <= rows; i += 4) {
        prefetch_ahead<T, S>(x, i);
        Vec4 s[4];
        for (int q = 0; q < 4; ++q) {
            const T* row = x + (i + q) * S;
            Vec4 xv;
            load_row_chunk<T, D, ones>(row, 0, xv);
            s[q] = Vec4{};
            madd_exact<exact>(s[q], xv, wv[0]);
            for (int c = 1; c < C; ++c) {
                load_row_chunk<T, D, ones>(row, c, xv);
                madd_exact<exact>(s[q], xv, wv[c]);
            }
            if constexpr (TL > 0) add_tail_products<T, TL, ones>(row + 4 * C, wt, s[q]);
        }
        Vec4 yv, r;
        load_targets(y, i, yv);
        residuals4(s, yv, r);
        loss4 += r * r;
        const auto add_row = [&](auto lane) {  // lane: the row q, a compile-time constant
            constexpr int q = decltype(lane)::value;
            const Vec4 rq = __builtin_shufflevector(r, r, q, q, q, q);
            const T* row = x + (i + q) * S;
            for (int c = 0; c < CT; ++c) {
                Vec4 xv;
                load_row_chunk<T, D, ones>(row, c, xv);
                grad[q % G][c] += rq * xv;
                if constexpr (hessian) __builtin_memcpy(&panel[in_panel + q][4 * c], &xv, sizeof xv);
            }
        };
        add_row(std::integral_constant<int, 0>{});
        add_row(std::integral_constant<int, 1>{});
        add_row(std::integral_constant<int, 2>{});
        add_row(std::integral_constant<int, 3>{});
        if constexpr (hessian) {
            in_panel += 4;
            if (in_panel == kPanel) {
                hessian_tiles<DP, exact>(panel, in_panel, hess);
                in_panel = 0;
            }
        }
    }
    if constexpr (hessian)
        if (in_panel > 0) hessian_tiles<DP, exact>(panel, in_panel, hess);
    double loss[4], g[D];
    __builtin_memcpy(loss, &loss4, sizeof loss);
    for (int c = 0; c < CT; ++c) {
        Vec4 sum = grad[0][c];
        if constexpr (G == 4) sum = (grad[0][c] + grad[1][c]) + (grad[2][c] + grad[3][c]);
        for (int lane = 0; lane < 4 && 4 * c + lane < D; ++lane) g[4 * c + lane] = sum[lane];
    }
    finish_block<T, D, DP, hessian>(src.group(i, rows - i), targets_from(y, i), w, rows - i, loss,
                                    g, hess, out);
}

// The sums for d = 1, 2, 3 (used for d = 1, and for 2 and 3 with the Hessian; larger d goes
// to linear_mse_block_vec): each row is
// widened to double once into a local array and the sums live in local arrays, so the
// compiler unrolls and vectorises the loops. The residual of each row is the shared per-row
// body's, value for value. Rows go four at a time into four sets of loss/gradient sums (row
// mod 4), combined at the end as (s0 + s1) + (s2 + s3): four dependency chains instead of
// one; the Hessian's upper triangle is updated once per four rows. An order fixed by the
// block alone (never by threads).
template <class T, int D, bool hessian, bool ones>
void linear_mse_block_fixed_impl(const T* x, const T* y, const T* w, std::int64_t rows,
                                 double* out) {
    static_assert(D < 4, "d = 1, 2, 3");
    RowGroups<T, D, ones, 4> src(x);
    double wd[D];
    for (int j = 0; j < D; ++j) wd[j] = double(w[j]);
    double loss[4] = {}, grad[4][D] = {};
    double hess[hessian ? D * D : 1] = {};
    std::int64_t i = 0;
    for (; i + 4 <= rows; i += 4) {
        double xd[4][D];
        const T* xg = src.group(i);
        for (int q = 0; q < 4; ++q) {
            for (int j = 0; j < D; ++j) xd[q][j] = double(xg[q * D + j]);
            const double r = linear_row_residual(xd[q], wd, double(target_at(y, i + q)), D);
            loss[q] += r * r;
            for (int j = 0; j < D; ++j) grad[q][j] += r * xd[q][j];
        }
        if constexpr (hessian) {
            for (int j = 0; j < D; ++j) {
                double* h = hess + j * D;
                const double a0 = xd[0][j], a1 = xd[1][j], a2 = xd[2][j], a3 = xd[3][j];
                for (int k = j; k < D; ++k)
                    h[k] += (a0 * xd[0][k] + a1 * xd[1][k]) + (a2 * xd[2][k] + a3 * xd[3][k]);
            }
        }
    }
    for (; i < rows; ++i) {  // the block's last rows go to set 0
        double xd[D];
        const T* row = src.group(i, 1);
        for (int j = 0; j < D; ++j) xd[j] = double(row[j]);
        const double r = linear_row_residual(xd, wd, double(target_at(y, i)), D);
        loss[0] += r * r;
        for (int j = 0; j < D; ++j) grad[0][j] += r * xd[j];
        if constexpr (hessian)
            for (int j = 0; j < D; ++j)
                for (int k = j; k < D; ++k) hess[j * D + k] += xd[j] * xd[k];
    }
    out[0] = (loss[0] + loss[1]) + (loss[2] + loss[3]);
    for (int j = 0; j < D; ++j) out[1 + j] = (grad[0][j] + grad[1][j]) + (grad[2][j] + grad[3][j]);
    if constexpr (hessian)
        for (int k = 0; k < D * D; ++k) out[1 + D + k] = hess[k];
}

#if defined(__AVX512F__)
// x[0..7] widened to double in one zmm register.
template <class T>
inline __m512d load8_widened(const T* x) {
    if constexpr (std::is_same_v<T, float>) {
        return _mm512_cvtps_pd(_mm256_loadu_ps(x));
    } else {
        return _mm512_loadu_pd(x);
    }
}

// x[0..TL) widened to double in the low lanes of a zmm register, zeros above (a masked load:
// nothing past the row is read).
template <class T, int TL>
inline __m512d load_tail8_widened(const T* x) {
    constexpr __mmask8 kMask = (1u << TL) - 1;
    if constexpr (std::is_same_v<T, float>) {
        return _mm512_cvtps_pd(_mm256_maskz_loadu_ps(kMask, x));
    } else {
        return _mm512_maskz_loadu_pd(kMask, x);
    }
}

// Columns 8c .. 8c + 7 of a row of D columns (D % 8 < 4) widened, the tail zero-padded, with
// the implicit ones put in their lane in the register (ones), as load_row_chunk.
template <class T, int D, bool ones>
inline __m512d load_row_chunk8(const T* row, int c) {
    constexpr int C = D / 8, TL = D % 4;
    if constexpr (!ones) {
        return c < C ? load8_widened(row + 8 * c)
                     : load_tail8_widened<T, (TL > 0 ? TL : 1)>(row + 8 * C);
    } else {
        constexpr int CO = (D - 1) / 8, LO = (D - 1) % 8;  // the ones column's chunk and lane
        if (c < CO) return load8_widened(row + 8 * c);
        __m512d v = _mm512_setzero_pd();
        if constexpr (LO > 0) v = load_tail8_widened<T, LO>(row + 8 * CO);
        return _mm512_mask_blend_pd(__mmask8(1u << LO), v, _mm512_set1_pd(1.0));
    }
}

// The AVX-512 build's rows for d >= 8 whose whole 4-wide chunks pair into 8-wide ones (d / 4
// even; the D % 4 tail as in linear_mse_block_vec): linear_mse_block_vec with the rows and the
// gradient in 8-wide registers (half the conversions, multiplies and adds), the dot products'
// products formed eight at a time and added in linear_row_residual's order four lanes at a
// time (((0 + p[0..3]) + p[4..7]) + p[8..11]) + ...: the same values as the 4-wide build's
// fused multiply-adds (f32: exact products) or multiplies and adds (f64), bit for bit.
// This leaves the fused multiply-add units to the Hessian tiles, which are bound by them.
template <class T, int D, bool hessian, bool ones>
void linear_mse_block_vec512(const T* x, const T* y, const T* w, std::int64_t rows, double* out) {
    RowGroups<T, D, ones, 4> src(x);  // the block's last rows
    constexpr int S = decltype(src)::kStride;  // values a row holds in X
    constexpr int C = D / 8, TL = D % 4;  // whole 8-wide chunks, then TL tail columns
    static_assert(C >= 1 && (D / 4) % 2 == 0, "d / 4 even, d >= 8");
    constexpr int DP = 8 * (C + (TL > 0 ? 1 : 0));  // a Hessian panel row, padded
    constexpr int TA = TL > 0 ? TL : 1;
    constexpr int kPanel = 64;  // rows per Hessian panel, as linear_mse_block_vec
    constexpr int CT = C + (TL > 0 ? 1 : 0);  // 8-wide chunks with the tail's (zero-padded)
    __m512d wv[C], grad[CT];
    double wt[TA] = {};
    for (int c = 0; c < C; ++c) wv[c] = load8_widened(w + 8 * c);
    for (int c = 0; c < CT; ++c) grad[c] = _mm512_setzero_pd();
    for (int t = 0; t < TL; ++t) wt[t] = double(w[8 * C + t]);
    Vec4 loss4 = {};
    double hess[hessian ? DP * DP : 1] = {};
    double panel[hessian ? kPanel : 1][DP];
    int in_panel = 0;
    std::int64_t i = 0;
    for (; i + 4 <= rows; i += 4) {
        prefetch_ahead<T, S>(x, i);
        Vec4 s[4];
        __m512d xv[4][CT];
        for (int q = 0; q < 4; ++q) {
            const T* row = x + (i + q) * S;
            Vec4 acc = {};
            if constexpr (TL > 0) xv[q][C] = load_row_chunk8<T, D, ones>(row, C);
            for (int c = 0; c < C; ++c) {
                xv[q][c] = load_row_chunk8<T, D, ones>(row, c);
                const __m512d p = _mm512_mul_pd(xv[q][c], wv[c]);
                acc += _mm512_castpd512_pd256(p);
                acc += _mm512_extractf64x4_pd(p, 1);
            }
            if constexpr (TL > 0) add_tail_products<T, TL, ones>(row + 8 * C, wt, acc);
            s[q] = acc;
        }
        Vec4 yv, r;
        load_targets(y, i, yv);
        residuals4(s, yv, r);
        loss4 += r * r;
        for (int q = 0; q < 4; ++q) {
            const __m512d rq = _mm512_set1_pd(r[q]);
            for (int c = 0; c < CT; ++c) {
                grad[c] = _mm512_add_pd(grad[c], _mm512_mul_pd(rq, xv[q][c]));
                if constexpr (hessian) _mm512_storeu_pd(&panel[in_panel + q][8 * c], xv[q][c]);
            }
        }
        if constexpr (hessian) {
            in_panel += 4;
            if (in_panel == kPanel) {
                hessian_tiles<DP, std::is_same_v<T, float>>(panel, in_panel, hess);
                in_panel = 0;
            }
        }
    }
    if constexpr (hessian)
        if (in_panel > 0) hessian_tiles<DP, std::is_same_v<T, float>>(panel, in_panel, hess);
    double loss[4], g[D];
    __builtin_memcpy(loss, &loss4, sizeof loss);
    for (int c = 0; c < C; ++c) _mm512_storeu_pd(g + 8 * c, grad[c]);
    if constexpr (TL > 0) {
        alignas(64) double tail[8];
        _mm512_store_pd(tail, grad[C]);
        for (int t = 0; t < TL; ++t) g[8 * C + t] = tail[t];
    }
    finish_block<T, D, DP, hessian>(src.group(i, rows - i), targets_from(y, i), w, rows - i, loss,
                                    g, hess, out);
}
#endif

// ones: X holds D - 1 columns and the last is all ones (RowGroups); D >= 2 then.
template <class T, int D, bool ones>
void linear_mse_block_fixed(const T* x, const T* y, const T* w, std::int64_t rows, std::int64_t,
                            bool hessian, double* out) {
#if defined(__AVX512F__)
    if constexpr (D >= 8 && (D / 4) % 2 == 0) {
        if (hessian) {
            linear_mse_block_vec512<T, D, true, ones>(x, y, w, rows, out);
        } else {
            linear_mse_block_vec512<T, D, false, ones>(x, y, w, rows, out);
        }
        return;
    }
#endif
    if constexpr (D >= 4) {
        if (hessian) {
            linear_mse_block_vec<T, D, true, ones>(x, y, w, rows, out);
        } else {
            linear_mse_block_vec<T, D, false, ones>(x, y, w, rows, out);
        }
    } else if (hessian) {
        linear_mse_block_fixed_impl<T, D, true, ones>(x, y, w, rows, out);
    } else if constexpr (D == 2) {
        linear_mse_block_d2<T, ones>(x, y, w, rows, out);
    } else if constexpr (D == 3) {
        linear_mse_block_d3<T, ones>(x, y, w, rows, out);
    } else {
        linear_mse_block_fixed_impl<T, D, false, ones>(x, y, w, rows, out);
    }
}

// The specialised kernel for d columns (with ones: X holds d - 1 of them, the last is
// implicit ones), or nullptr.
template <class T, bool ones>
BlockFn<T> fixed_block_fn(std::int64_t d) {
    switch (d) {
        case 1:
            if constexpr (ones) return nullptr; else return linear_mse_block_fixed<T, 1, false>;
        case 2: return linear_mse_block_fixed<T, 2, ones>;
        case 3: return linear_mse_block_fixed<T, 3, ones>;
        case 4: return linear_mse_block_fixed<T, 4, ones>;
        case 5: return linear_mse_block_fixed<T, 5, ones>;
        case 8: return linear_mse_block_fixed<T, 8, ones>;
        case 9: return linear_mse_block_fixed<T, 9, ones>;
        case 16: return linear_mse_block_fixed<T, 16, ones>;
        case 17: return linear_mse_block_fixed<T, 17, ones>;
        case 32: return linear_mse_block_fixed<T, 32, ones>;
        case 33: return linear_mse_block_fixed<T, 33, ones>;
        default: return nullptr;
    }
}

// The kernel for d columns; with ones only the specialised widths have one, and the rest
// get nullptr (the backend then copies each block with its ones: cpu/row_blocks.hpp's
// BlockRows).
template <class T>
BlockFn<T> block_fn(std::int64_t d, bool ones = false) {
    if (ones) return fixed_block_fn<T, true>(d);
    const BlockFn<T> fixed = fixed_block_fn<T, false>(d);
    return fixed ? fixed : linear_mse_block_any<T>;
}

}  // namespace descent::detail::DESCENT_CPU_ISA
