// exp(-|z|) for the CPU kernels, table-driven (the logistic blocks' e = exp(-|z|),
// cpu/logistic_block.hpp; the f32 tanh's exp(-2|x|), cpu/tanh_f32.hpp), compiled once per
// instruction set in the including file's namespace (DESCENT_CPU_ISA). The scalar form and the
// AVX2/AVX-512 forms do the same operations in the same order (no fused multiply-adds:
// -ffp-contract=off), so every build gets bitwise the same values.
#pragma once

#include <cmath>
#include <cstdint>

#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "shared/logistic_row.hpp"

#ifndef DESCENT_CPU_ISA
#error "define DESCENT_CPU_ISA before including cpu/exp_neg_abs.hpp"
#endif

namespace descent::detail::DESCENT_CPU_ISA {

// exp(-|z|), table-driven: -|z| = (k + j/16) ln2 + r with |r| <= ln2/32,
// exp(-|z|) = 2^k 2^(j/16) exp(r), 2^(j/16) from a table of 16 doubles (each correctly
// rounded), exp(r) by its Taylor polynomial of degree 7 (truncation < 2e-18) in Estrin's
// scheme, the scaling by 2^k rounded once (subnormal results included). Within 2.5 ulp (2.3
// measured against long double), as shared/logistic_row.hpp's exp_nonpositive (which CUDA
// uses) but in about half its operations: the exp was the largest cost of the pass. The same
// operations in the same order in every form below (scalar, AVX2, AVX-512), so every build
// gets bitwise the same e (a NaN's sign aside). Below about -745.1 the result is 0.
alignas(64) inline constexpr double kExp2Sixteenths[16] = {
    1.0,                1.0442737824274138, 1.0905077326652577, 1.1387886347566916,
    1.189207115002721,  1.241857812073484,  1.2968395546510096, 1.3542555469368927,
    1.4142135623730951, 1.4768261459394993, 1.5422108254079407, 1.6104903319492543,
    1.681792830507429,  1.7562521603732995, 1.8340080864093424, 1.9152065613971474};

namespace exp_table {
constexpr double kInvLn2x16 = 16.0 * logistic_constants::kLog2e;
constexpr double kLn2HiDiv16 = logistic_constants::kLn2Hi / 16.0;  // 32 bits: k * it exact
constexpr double kLn2LoDiv16 = logistic_constants::kLn2Lo / 16.0;
}  // namespace exp_table

// The reduction both users share, for xc <= 0 (or NaN): xc = K ln2/16 + r, t = 1.5 * 2^52 + K
// (K, hence j = K mod 16, in t's low bits), kf = K, and the parts of exp(r) - 1 - r's Estrin
// tree: exp(r) = (1 + r) + r2 a1 + r4 b1, exp(r) - 1 = r + r2 a1 + r4 b1 (degree 7).
struct ExpReduction {
    double t, kf, r, r2, a1, r4, b1;
};

inline ExpReduction exp_reduce(double xc) {
    using namespace logistic_constants;
    using namespace exp_table;
    ExpReduction e;
    e.t = xc * kInvLn2x16 + kShifter;
    e.kf = e.t - kShifter;
    e.r = (xc - e.kf * kLn2HiDiv16) - e.kf * kLn2LoDiv16;
    e.r2 = e.r * e.r;
    e.a1 = 0.5 + e.r * (1.0 / 6.0);
    const double a2 = 1.0 / 24.0 + e.r * (1.0 / 120.0), a3 = 1.0 / 720.0 + e.r * (1.0 / 5040.0);
    e.r4 = e.r2 * e.r2;
    e.b1 = a2 + e.r2 * a3;
    return e;
}

inline double exp_neg_abs(double z) {
    using namespace logistic_constants;
    const double x0 = 0.0 - std::fabs(z);
    const double xc = x0 < -746.0 ? -746.0 : x0;  // exp(-746) rounds to 0; NaN passes
    const ExpReduction e = exp_reduce(xc);
    const double p = ((1.0 + e.r) + e.r2 * e.a1) + e.r4 * e.b1;
    const std::uint64_t bits = double_bits(e.t);
    const double tp = kExp2Sixteenths[bits & 15] * p;
    // 2^k with -k = ceil(-K / 16) in [0, 1077], as 2^k1 2^k2 (both normal): tp 2^k1 is exact,
    // the second product rounds once, as AVX-512's scalef does.
    const std::uint64_t minus_k = ((kShifterBits - bits) + 15) >> 4;
    const std::uint64_t m1 = minus_k >> 1, m2 = minus_k - m1;
    return (tp * double_from_bits((1023 - m1) << 52)) * double_from_bits((1023 - m2) << 52);
}

#if defined(__AVX512F__)
struct ExpReduction8 {  // as ExpReduction, 8 lanes
    __m512d t, kf, r, r2, a1, r4, b1;
};

inline ExpReduction8 exp_reduce8(__m512d xc) {
    using namespace logistic_constants;
    using namespace exp_table;
    const auto c = [](double v) { return _mm512_set1_pd(v); };
    ExpReduction8 e;
    e.t = _mm512_add_pd(_mm512_mul_pd(xc, c(kInvLn2x16)), c(kShifter));
    e.kf = _mm512_sub_pd(e.t, c(kShifter));
    e.r = _mm512_sub_pd(_mm512_sub_pd(xc, _mm512_mul_pd(e.kf, c(kLn2HiDiv16))),
                        _mm512_mul_pd(e.kf, c(kLn2LoDiv16)));
    e.r2 = _mm512_mul_pd(e.r, e.r);
    e.a1 = _mm512_add_pd(c(0.5), _mm512_mul_pd(e.r, c(1.0 / 6.0)));
    const __m512d a2 = _mm512_add_pd(c(1.0 / 24.0), _mm512_mul_pd(e.r, c(1.0 / 120.0)));
    const __m512d a3 = _mm512_add_pd(c(1.0 / 720.0), _mm512_mul_pd(e.r, c(1.0 / 5040.0)));
    e.r4 = _mm512_mul_pd(e.r2, e.r2);
    e.b1 = _mm512_add_pd(a2, _mm512_mul_pd(e.r2, a3));
    return e;
}

// 2^(j/16) from the table (t's low 4 bits), and k = floor(K / 16).
inline __m512d exp_table8(const ExpReduction8& e) {
    return _mm512_permutex2var_pd(_mm512_load_pd(kExp2Sixteenths), _mm512_castpd_si512(e.t),
                                  _mm512_load_pd(kExp2Sixteenths + 8));
}
inline __m512d exp_whole_powers8(const ExpReduction8& e) {
    return _mm512_roundscale_pd(_mm512_mul_pd(e.kf, _mm512_set1_pd(1.0 / 16.0)),
                                _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
}

inline __m512d exp_neg_abs8(__m512d z) {
    const auto c = [](double v) { return _mm512_set1_pd(v); };
    const __m512d x0 = _mm512_sub_pd(_mm512_setzero_pd(), _mm512_abs_pd(z));
    const __m512d xc = _mm512_max_pd(c(-746.0), x0);  // max returns x0 when it is NaN
    const ExpReduction8 e = exp_reduce8(xc);
    const __m512d p = _mm512_add_pd(_mm512_add_pd(_mm512_add_pd(c(1.0), e.r), _mm512_mul_pd(e.r2, e.a1)),
                                    _mm512_mul_pd(e.r4, e.b1));
    return _mm512_scalef_pd(_mm512_mul_pd(exp_table8(e), p), exp_whole_powers8(e));
}
#elif defined(__AVX2__)
struct ExpReduction4 {  // as ExpReduction, 4 lanes
    __m256d t, kf, r, r2, a1, r4, b1;
};

inline ExpReduction4 exp_reduce4(__m256d xc) {
    using namespace logistic_constants;
    using namespace exp_table;
    const auto c = [](double v) { return _mm256_set1_pd(v); };
    ExpReduction4 e;
    e.t = _mm256_add_pd(_mm256_mul_pd(xc, c(kInvLn2x16)), c(kShifter));
    e.kf = _mm256_sub_pd(e.t, c(kShifter));
    e.r = _mm256_sub_pd(_mm256_sub_pd(xc, _mm256_mul_pd(e.kf, c(kLn2HiDiv16))),
                        _mm256_mul_pd(e.kf, c(kLn2LoDiv16)));
    e.r2 = _mm256_mul_pd(e.r, e.r);
    e.a1 = _mm256_add_pd(c(0.5), _mm256_mul_pd(e.r, c(1.0 / 6.0)));
    const __m256d a2 = _mm256_add_pd(c(1.0 / 24.0), _mm256_mul_pd(e.r, c(1.0 / 120.0)));
    const __m256d a3 = _mm256_add_pd(c(1.0 / 720.0), _mm256_mul_pd(e.r, c(1.0 / 5040.0)));
    e.r4 = _mm256_mul_pd(e.r2, e.r2);
    e.b1 = _mm256_add_pd(a2, _mm256_mul_pd(e.r2, a3));
    return e;
}

// 2^(j/16) from the table (t's low 4 bits), and -k = ceil(-K / 16) as integers.
inline __m256d exp_table4(const ExpReduction4& e) {
    return _mm256_i64gather_pd(
        kExp2Sixteenths, _mm256_and_si256(_mm256_castpd_si256(e.t), _mm256_set1_epi64x(15)), 8);
}
inline __m256i exp_minus_whole_powers4(const ExpReduction4& e) {
    using namespace logistic_constants;
    return _mm256_srli_epi64(
        _mm256_add_epi64(_mm256_sub_epi64(_mm256_set1_epi64x(static_cast<long long>(kShifterBits)),
                                          _mm256_castpd_si256(e.t)),
                         _mm256_set1_epi64x(15)),
        4);
}

inline __m256d exp_neg_abs4(__m256d z) {
    const auto c = [](double v) { return _mm256_set1_pd(v); };
    const __m256d x0 = _mm256_sub_pd(_mm256_setzero_pd(), _mm256_andnot_pd(c(-0.0), z));
    const __m256d xc = _mm256_max_pd(c(-746.0), x0);  // max returns x0 when it is NaN
    const ExpReduction4 e = exp_reduce4(xc);
    const __m256d p = _mm256_add_pd(_mm256_add_pd(_mm256_add_pd(c(1.0), e.r), _mm256_mul_pd(e.r2, e.a1)),
                                    _mm256_mul_pd(e.r4, e.b1));
    const __m256i minus_k = exp_minus_whole_powers4(e);
    const __m256i m1 = _mm256_srli_epi64(minus_k, 1), m2 = _mm256_sub_epi64(minus_k, m1);
    const __m256i bias = _mm256_set1_epi64x(1023);
    const __m256d s1 = _mm256_castsi256_pd(_mm256_slli_epi64(_mm256_sub_epi64(bias, m1), 52));
    const __m256d s2 = _mm256_castsi256_pd(_mm256_slli_epi64(_mm256_sub_epi64(bias, m2), 52));
    return _mm256_mul_pd(_mm256_mul_pd(_mm256_mul_pd(exp_table4(e), p), s1), s2);
}
#endif

// e[q] = exp(-|z[q]|) for q < m.
inline void exp_neg_abs_chunk(const double* z, int m, double* e) {
    int q = 0;
#if defined(__AVX512F__)
    for (; q + 8 <= m; q += 8) _mm512_storeu_pd(e + q, exp_neg_abs8(_mm512_loadu_pd(z + q)));
#elif defined(__AVX2__)
    for (; q + 4 <= m; q += 4) _mm256_storeu_pd(e + q, exp_neg_abs4(_mm256_loadu_pd(z + q)));
#endif
    for (; q < m; ++q) e[q] = exp_neg_abs(z[q]);
}

}  // namespace descent::detail::DESCENT_CPU_ISA
