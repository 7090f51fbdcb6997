// The CPU matrix product's inner kernel, one source built for the baseline x86-64 instruction
// set (src/cpu/linalg.cpp), AVX2 (src/cpu/gemm_avx2.cpp) and AVX-512 (src/cpu/gemm_avx512.cpp),
// chosen at run time like the linear-MSE blocks (cpu/linear_mse_isa.hpp). Every entry of C is
// the same sum in every build and for any thread count: a double accumulator starting at 0,
// plus double(a_ip) * double(b_pj) for p = 0, 1, ..., k - 1, in that order (no FMA
// contraction: -ffp-contract=off, but the explicit fused multiply-adds of f32 operands, whose
// products are exact: multiply_add); the wider builds vectorise across the independent entries
// j of a row, never along p. Verified by tests/test_cpu_threads.cpp and tests/test_cpu_isa.cpp.
#pragma once

#include <cstdint>
#include <type_traits>

#if defined(__AVX2__) || defined(__FMA__)
#include <immintrin.h>
#endif

#include "cpu/linear_mse_isa.hpp"

#ifndef DESCENT_CPU_ISA
#error "define DESCENT_CPU_ISA before including cpu/gemm_rows.hpp"
#endif

namespace descent::detail::DESCENT_CPU_ISA {

// One tile of C: rows i .. i + ROWS, columns j .. j + COLS (at most kTileRows x kTileCols),
// its sums kept in registers across all of k (a row's sums in memory cost a load and a store
// per multiply-add); with the sizes known at compile time the j loops vectorise.
constexpr int kTileRows = 4;
constexpr int kTileCols = 8;

template <int ROWS, int COLS, class T>
inline void gemm_tile(bool trans_a, std::int64_t m, std::int64_t n, std::int64_t k, const T* A,
                      const T* B, std::int64_t i, std::int64_t j, double* out,
                      std::int64_t out_row0) {
    double acc[ROWS][COLS] = {};
    for (std::int64_t p = 0; p < k; ++p) {
        const T* b = B + p * n + j;
        double bd[COLS];
        for (int c = 0; c < COLS; ++c) bd[c] = double(b[c]);
        for (int r = 0; r < ROWS; ++r) {
            const double a = double(trans_a ? A[p * m + i + r] : A[(i + r) * k + p]);
            for (int c = 0; c < COLS; ++c) acc[r][c] += a * bd[c];
        }
    }
    for (int r = 0; r < ROWS; ++r)
        for (int c = 0; c < COLS; ++c) out[(i + r - out_row0) * n + j + c] = acc[r][c];
}

// The full tile (kTileCols = 8 columns) with explicit vectors of 4 doubles (GCC's vector
// extension: one ymm register in the AVX builds, two xmm in the baseline), since the
// compiler's own vectorisation of the loop above packed scalar products. The same operations
// per lane, so the same bits.
typedef double Doubles4 __attribute__((vector_size(32)));
typedef float Floats4 __attribute__((vector_size(16)));

template <class T>  // (an out-parameter: returning a 32-byte vector is an ABI matter without AVX)
inline void load4(const T* p, Doubles4& out) {
    if constexpr (sizeof(T) == sizeof(float)) {
#if defined(__AVX2__)
        out = Doubles4(_mm256_cvtps_pd(_mm_loadu_ps(reinterpret_cast<const float*>(p))));
#else
        Floats4 f;
        __builtin_memcpy(&f, p, sizeof f);
        out = __builtin_convertvector(f, Doubles4);
#endif
    } else {
        __builtin_memcpy(&out, p, sizeof out);
    }
}

// The 4 x 4 block at src (rows src, src + ld, ...) widened to double and stored transposed at
// dst (rows dst, dst + ldd, ...): dst[q * ldd + r] = src[r * ld + q], turned in registers.
template <class T>
inline void store_transposed4(const T* src, std::int64_t ld, double* dst, std::int64_t ldd) {
    Doubles4 r0, r1, r2, r3;
    load4(src, r0);
    load4(src + ld, r1);
    load4(src + 2 * ld, r2);
    load4(src + 3 * ld, r3);
    const Doubles4 t0 = __builtin_shufflevector(r0, r1, 0, 4, 2, 6);
    const Doubles4 t1 = __builtin_shufflevector(r0, r1, 1, 5, 3, 7);
    const Doubles4 t2 = __builtin_shufflevector(r2, r3, 0, 4, 2, 6);
    const Doubles4 t3 = __builtin_shufflevector(r2, r3, 1, 5, 3, 7);
    const Doubles4 c0 = __builtin_shufflevector(t0, t2, 0, 1, 4, 5);
    const Doubles4 c1 = __builtin_shufflevector(t1, t3, 0, 1, 4, 5);
    const Doubles4 c2 = __builtin_shufflevector(t0, t2, 2, 3, 6, 7);
    const Doubles4 c3 = __builtin_shufflevector(t1, t3, 2, 3, 6, 7);
    __builtin_memcpy(dst, &c0, sizeof c0);
    __builtin_memcpy(dst + ldd, &c1, sizeof c1);
    __builtin_memcpy(dst + 2 * ldd, &c2, sizeof c2);
    __builtin_memcpy(dst + 3 * ldd, &c3, sizeof c3);
}

// acc += a * b, a and b doubles widened from T. For f32 operands the product is exact in
// double (24 + 24 significant bits), so a fused multiply-add rounds once exactly where the
// separate multiply and add round: the same bits, in half the instructions, in the builds that
// have FMA. (f64 products round: those keep the multiply and the add.)
template <class T, class V>
inline void multiply_add(V& acc, const V& a, const V& b) {
#if defined(__FMA__)
    if constexpr (std::is_same_v<T, float> && sizeof(V) == 32) {
        acc = V(_mm256_fmadd_pd(__m256d(a), __m256d(b), __m256d(acc)));
        return;
    }
#endif
#if defined(__FMA__) && defined(__AVX512F__)
    if constexpr (std::is_same_v<T, float> && sizeof(V) == 64) {
        acc = V(_mm512_fmadd_pd(__m512d(a), __m512d(b), __m512d(acc)));
        return;
    }
#endif
    acc += a * b;
}

template <int ROWS, class T>
inline void gemm_tile8(bool trans_a, std::int64_t m, std::int64_t n, std::int64_t k, const T* A,
                       const T* B, std::int64_t i, std::int64_t j, double* out,
                       std::int64_t out_row0) {
    Doubles4 acc[ROWS][2];
    for (int r = 0; r < ROWS; ++r) acc[r][0] = acc[r][1] = Doubles4{0.0, 0.0, 0.0, 0.0};
    for (std::int64_t p = 0; p < k; ++p) {
        const T* b = B + p * n + j;
        Doubles4 lo, hi;
        load4(b, lo);
        load4(b + 4, hi);
        for (int r = 0; r < ROWS; ++r) {
            const double a = double(trans_a ? A[p * m + i + r] : A[(i + r) * k + p]);
            const Doubles4 av = {a, a, a, a};
            multiply_add<T>(acc[r][0], av, lo);
            multiply_add<T>(acc[r][1], av, hi);
        }
    }
    for (int r = 0; r < ROWS; ++r) {
        double* o = out + (i + r - out_row0) * n + j;
        __builtin_memcpy(o, &acc[r][0], sizeof(Doubles4));
        __builtin_memcpy(o + 4, &acc[r][1], sizeof(Doubles4));
    }
}

template <int ROWS, class T>
void gemm_row_tiles(bool trans_a, std::int64_t m, std::int64_t n, std::int64_t k, const T* A,
                    const T* B, std::int64_t i, double* out, std::int64_t out_row0) {
    std::int64_t j = 0;
    for (; j + kTileCols <= n; j += kTileCols)
        gemm_tile8<ROWS>(trans_a, m, n, k, A, B, i, j, out, out_row0);
    switch (n - j) {  // the last columns, their count known at compile time too
        case 1: return gemm_tile<ROWS, 1>(trans_a, m, n, k, A, B, i, j, out, out_row0);
        case 2: return gemm_tile<ROWS, 2>(trans_a, m, n, k, A, B, i, j, out, out_row0);
        case 3: return gemm_tile<ROWS, 3>(trans_a, m, n, k, A, B, i, j, out, out_row0);
        case 4: return gemm_tile<ROWS, 4>(trans_a, m, n, k, A, B, i, j, out, out_row0);
        case 5: return gemm_tile<ROWS, 5>(trans_a, m, n, k, A, B, i, j, out, out_row0);
        case 6: return gemm_tile<ROWS, 6>(trans_a, m, n, k, A, B, i, j, out, out_row0);
        case 7: return gemm_tile<ROWS, 7>(trans_a, m, n, k, A, B, i, j, out, out_row0);
        default: return;
    }
}

// acc (rows i0 .. i1 of C, n doubles each) = the products: A is (m, k) row-major, or (k, m)
// when trans_a (C = Aᵀ B); B is (k, n) row-major.
template <class T>
void gemm_rows(bool trans_a, std::int64_t m, std::int64_t n, std::int64_t k, const T* A,
               const T* B, std::int64_t i0, std::int64_t i1, double* acc) {
    for (std::int64_t i = i0; i < i1; i += kTileRows) {
        switch (i1 - i < kTileRows ? i1 - i : kTileRows) {
            case 1: gemm_row_tiles<1>(trans_a, m, n, k, A, B, i, acc, i0); break;
            case 2: gemm_row_tiles<2>(trans_a, m, n, k, A, B, i, acc, i0); break;
            case 3: gemm_row_tiles<3>(trans_a, m, n, k, A, B, i, acc, i0); break;
            default: gemm_row_tiles<kTileRows>(trans_a, m, n, k, A, B, i, acc, i0); break;
        }
    }
}

// --- The packed kernel: B already converted to doubles (k, n_pad), n_pad a multiple of 16 with
// zero columns past n, so every tile is whole (the extra columns are summed and not stored);
// A's tile of rows converted once per tile, [p][r], so its values are broadcast straight from
// memory. The sums are those above, in the same order: the two kernels give the same bits.
// A tile is 4 rows by two vectors of doubles: 8 columns in the baseline and AVX2 builds, 16 in
// the AVX-512 build.
#if defined(__AVX512F__)
constexpr int kPackedLanes = 8;
#else
constexpr int kPackedLanes = 4;
#endif
typedef double PackedVec __attribute__((vector_size(kPackedLanes * sizeof(double))));
constexpr int kPackedCols = 2 * kPackedLanes;
// Rows of a packed tile: 8 in the AVX-512 build (16 vectors of sums in its 32 registers: twice
// the multiply-adds in flight that the latency needs), 4 with 16 registers.
#if defined(__AVX512F__)
constexpr int kPackedRows = 8;
#else
constexpr int kPackedRows = 4;
#endif
static_assert(kPackedRows <= kGemmPackedRowsMax, "the callers' scratch holds kGemmPackedRowsMax k doubles");

// (An element-wise loop compiled to masked moves; an out-parameter as in load4.)
inline void splat(double x, PackedVec& out) {
#if defined(__AVX512F__)
    out = PackedVec{x, x, x, x, x, x, x, x};
#else
    out = PackedVec{x, x, x, x};
#endif
}

// out[0 .. kPackedLanes) = scaled (alpha times the sums) rounded to T, plus bias in T when
// given: the scalar epilogue's operations, lane by lane, without leaving the registers.
typedef float PackedFloats __attribute__((vector_size(kPackedLanes * sizeof(float))));
template <class T>
inline void store_packed(T* out, const PackedVec& scaled, const T* bias) {
    if constexpr (std::is_same_v<T, float>) {
        PackedFloats f = __builtin_convertvector(scaled, PackedFloats);
        if (bias != nullptr) {
            PackedFloats b;
            __builtin_memcpy(&b, bias, sizeof b);
            f += b;
        }
        __builtin_memcpy(out, &f, sizeof f);
    } else {
        PackedVec d = scaled;
        if (bias != nullptr) {
            PackedVec b;
            __builtin_memcpy(&b, bias, sizeof b);
            d += b;
        }
        __builtin_memcpy(out, &d, sizeof d);
    }
}

template <int ROWS, class T>
inline void gemm_packed_tile(std::int64_t k, const double* a, const double* b, std::int64_t n_pad,
                             std::int64_t cols, T* c, std::int64_t ldc, double alpha,
                             const T* bias) {
    PackedVec acc[ROWS][2];
    for (int r = 0; r < ROWS; ++r) acc[r][0] = acc[r][1] = PackedVec{};
    for (std::int64_t p = 0; p < k; ++p) {
        PackedVec lo, hi;
        __builtin_memcpy(&lo, b + p * n_pad, sizeof lo);
        __builtin_memcpy(&hi, b + p * n_pad + kPackedLanes, sizeof hi);
        for (int r = 0; r < ROWS; ++r) {
            PackedVec av;
            splat(a[p * ROWS + r], av);
            multiply_add<T>(acc[r][0], av, lo);
            multiply_add<T>(acc[r][1], av, hi);
        }
    }
    if (cols == kPackedCols) {  // a whole tile: stored from the registers
        PackedVec alpha_v;
        splat(alpha, alpha_v);
        for (int r = 0; r < ROWS; ++r) {
            store_packed(c + r * ldc, acc[r][0] * alpha_v, bias);
            store_packed(c + r * ldc + kPackedLanes, acc[r][1] * alpha_v, bias ? bias + kPackedLanes : nullptr);
        }
        return;
    }
    for (int r = 0; r < ROWS; ++r) {
        double sums[kPackedCols];
        __builtin_memcpy(sums, &acc[r][0], sizeof acc[r][0]);
        __builtin_memcpy(sums + kPackedLanes, &acc[r][1], sizeof acc[r][1]);
        T* out = c + r * ldc;
        if (bias != nullptr) {  // rounded to T first, then the bias added in T
            for (std::int64_t j = 0; j < cols; ++j) out[j] = static_cast<T>(static_cast<T>(alpha * sums[j]) + bias[j]);
        } else {
            for (std::int64_t j = 0; j < cols; ++j) out[j] = static_cast<T>(alpha * sums[j]);
        }
    }
}

template <int ROWS, class T>
void gemm_packed_rows(bool trans_a, std::int64_t m, std::int64_t n, std::int64_t k, const T* A,
                      const double* Bd, std::int64_t i, T* C, double alpha, const T* bias,
                      double* a_tile) {
    if (trans_a && ROWS % 4 == 0) {  // the tile's values of each p lie side by side in Aᵀ
        for (std::int64_t p = 0; p < k; ++p)
            for (int r = 0; r < ROWS; r += 4) {
                Doubles4 v;
                load4(A + p * m + i + r, v);
                __builtin_memcpy(a_tile + p * ROWS + r, &v, sizeof v);
            }
    } else if (ROWS % 4 == 0) {  // A's rows, turned 4 by 4 values at a time
        std::int64_t p = 0;
        for (; p + 4 <= k; p += 4)
            for (int r = 0; r < ROWS; r += 4)
                store_transposed4(A + (i + r) * k + p, k, a_tile + p * ROWS + r, ROWS);
        for (; p < k; ++p)
            for (int r = 0; r < ROWS; ++r) a_tile[p * ROWS + r] = double(A[(i + r) * k + p]);
    } else {
        for (std::int64_t p = 0; p < k; ++p)
            for (int r = 0; r < ROWS; ++r)
                a_tile[p * ROWS + r] = double(trans_a ? A[p * m + i + r] : A[(i + r) * k + p]);
    }
    const std::int64_t n_pad = gemm_packed_width(n);
    for (std::int64_t j = 0; j < n; j += kPackedCols)
        gemm_packed_tile<ROWS>(k, a_tile, Bd + j, n_pad, n - j < kPackedCols ? n - j : kPackedCols,
                               C + i * n + j, n, alpha, bias ? bias + j : nullptr);
}

// kPackedLanes values of T from p, widened to double. (GCC 12 takes the _mm512_undefined_pd()
// inside _mm512_cvtps_pd for an uninitialised read.)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
template <class T>
inline void load_packed(const T* p, PackedVec& out) {
#if defined(__AVX512F__)
    if constexpr (sizeof(T) == sizeof(float)) {
        out = PackedVec(_mm512_cvtps_pd(_mm256_loadu_ps(reinterpret_cast<const float*>(p))));
    } else {
        __builtin_memcpy(&out, p, sizeof out);
    }
#else
    load4(p, out);
#endif
}

// One row of C: c[j] = alpha * (the sum over p of a_p B_pj) for j in [j0, j1) (+ bias[j] in T,
// if not null), a the row's k values, B (k, n) read as stored and widened on the way (a row of
// C reads each of B's values once: packing it would cost as much as the product). Four vectors
// of sums at a time, kept in registers across all of k; each entry the ordered double sum.
template <class T>
void gemm_one_row(std::int64_t n, std::int64_t k, const T* a, const T* B, std::int64_t j0,
                  std::int64_t j1, T* c, double alpha, const T* bias) {
    constexpr int kVectors = 4;
    constexpr std::int64_t kWidth = kVectors * kPackedLanes;
    PackedVec alpha_v;
    splat(alpha, alpha_v);
    std::int64_t j = j0;
    for (; j + kWidth <= j1; j += kWidth) {
        PackedVec acc[kVectors] = {};
        for (std::int64_t p = 0; p < k; ++p) {
            PackedVec av;
            splat(double(a[p]), av);
            for (int v = 0; v < kVectors; ++v) {
                PackedVec bv;
                load_packed(B + p * n + j + v * kPackedLanes, bv);
                multiply_add<T>(acc[v], av, bv);
            }
        }
        for (int v = 0; v < kVectors; ++v)
            store_packed(c + j + v * kPackedLanes, acc[v] * alpha_v, bias ? bias + j + v * kPackedLanes : nullptr);
    }
    for (; j + kPackedLanes <= j1; j += kPackedLanes) {
        PackedVec acc = {};
        for (std::int64_t p = 0; p < k; ++p) {
            PackedVec av, bv;
            splat(double(a[p]), av);
            load_packed(B + p * n + j, bv);
            multiply_add<T>(acc, av, bv);
        }
        store_packed(c + j, acc * alpha_v, bias ? bias + j : nullptr);
    }
    for (; j < j1; ++j) {
        double sum = 0.0;
        for (std::int64_t p = 0; p < k; ++p) sum += double(a[p]) * double(B[p * n + j]);
        c[j] = bias != nullptr ? static_cast<T>(static_cast<T>(alpha * sum) + bias[j]) : static_cast<T>(alpha * sum);
    }
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

// The packed kernel's B: B (k, n) read as B[p * ld + j], or, when trans_b, Bᵀ stored (n, k)
// read as B[j * ld + p], converted to doubles (k, gemm_packed_width(n)), the columns past n
// zero. The transposed layout goes in 4 x 4 blocks turned in registers.
template <class T>
void gemm_pack_b(bool trans_b, std::int64_t n, std::int64_t k, const T* B, std::int64_t ld,
                 double* bd) {
    const std::int64_t n_pad = gemm_packed_width(n);
    std::int64_t j_done = 0;
    if (!trans_b) {
        for (std::int64_t p = 0; p < k; ++p)
            for (std::int64_t j = 0; j < n; ++j) bd[p * n_pad + j] = double(B[p * ld + j]);
        j_done = n;
    } else {
        for (; j_done + 4 <= n; j_done += 4) {
            const T* b = B + j_done * ld;
            std::int64_t p = 0;
            for (; p + 4 <= k; p += 4) {
                store_transposed4(b + p, ld, bd + p * n_pad + j_done, n_pad);
            }
            for (; p < k; ++p)
                for (int q = 0; q < 4; ++q) bd[p * n_pad + j_done + q] = double(b[q * ld + p]);
        }
        for (std::int64_t j = j_done; j < n; ++j)
            for (std::int64_t p = 0; p < k; ++p) bd[p * n_pad + j] = double(B[j * ld + p]);
        j_done = n;
    }
    for (std::int64_t p = 0; p < k; ++p)
        for (std::int64_t j = j_done; j < n_pad; ++j) bd[p * n_pad + j] = 0.0;
}

// C rows i0 .. i1 = alpha (A B) (+ bias along each row, if not null): A (m, k) row-major, or
// (k, m) when trans_a; Bd as above; a_scratch holds kGemmPackedRowsMax k doubles.
template <class T>
void gemm_packed(bool trans_a, std::int64_t m, std::int64_t n, std::int64_t k, const T* A,
                 const double* Bd, std::int64_t i0, std::int64_t i1, T* C, double alpha,
                 const T* bias, double* a_scratch) {
    for (std::int64_t i = i0; i < i1; i += kPackedRows) {
        switch (i1 - i < kPackedRows ? i1 - i : kPackedRows) {
            case 1: gemm_packed_rows<1>(trans_a, m, n, k, A, Bd, i, C, alpha, bias, a_scratch); break;
            case 2: gemm_packed_rows<2>(trans_a, m, n, k, A, Bd, i, C, alpha, bias, a_scratch); break;
            case 3: gemm_packed_rows<3>(trans_a, m, n, k, A, Bd, i, C, alpha, bias, a_scratch); break;
#if defined(__AVX512F__)
            case 4: gemm_packed_rows<4>(trans_a, m, n, k, A, Bd, i, C, alpha, bias, a_scratch); break;
            case 5: gemm_packed_rows<5>(trans_a, m, n, k, A, Bd, i, C, alpha, bias, a_scratch); break;
            case 6: gemm_packed_rows<6>(trans_a, m, n, k, A, Bd, i, C, alpha, bias, a_scratch); break;
            case 7: gemm_packed_rows<7>(trans_a, m, n, k, A, Bd, i, C, alpha, bias, a_scratch); break;
#endif
            default: gemm_packed_rows<kPackedRows>(trans_a, m, n, k, A, Bd, i, C, alpha, bias, a_scratch); break;
        }
    }
}

}  // namespace descent::detail::DESCENT_CPU_ISA
