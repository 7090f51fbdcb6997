// tanh for f32 values, computed in double, one source built for the baseline x86-64
// instruction set (src/cpu/linalg.cpp), AVX2 and AVX-512 (src/cpu/gemm_avx2.cpp,
// gemm_avx512.cpp, with no FMA contraction), bitwise alike in every build. With a = min(|x|,
// 10) (f32's tanh is 1 from 9.01 on) and e = exp(-2a) written as s (1 + q): s = 2^(K/16) from
// cpu/exp_neg_abs.hpp's table and the reduction -2a = K ln2/16 + r, |r| <= ln2/32, and
// q = exp(r) - 1 by its Taylor polynomial without the constant term (degree 7, Estrin), so
// that 1 - e = (1 - s) - s q and 1 + e = (1 + s) + s q lose nothing to cancellation, even for
// tiny x (s = 1 there). tanh |x| = (1 - e) / (1 + e) without a double division (the divider
// held the AVX-512 loop to a third of its speed): r = 1 / (1 + e) in f32 (relative error
// < 6e-8), q0 = (1 - e) r, then one Newton step q0 + ((1 - e) - q0 (1 + e)) r, whose error is
// the square of r's plus double roundings. In all a few double ulps, far below f32's half ulp:
// the correctly rounded tanh but in the rarest ties. x's sign is put back on |tanh|, so -0
// gives -0; NaN gives NaN (the input's, quieted), ±inf ±1. 8 (AVX-512) or 4 (AVX2) lanes at a
// time with the scalar form's operations (glibc's tanhf, a call per element, took most of a
// small net's step). Verified by tests/test_cpu_backend.cpp (10^6 values against the double
// tanh) and tests/test_cpu_isa.cpp (every build alike).
#pragma once

#include <cstdint>

#include "cpu/exp_neg_abs.hpp"
#include "cpu/linear_mse_isa.hpp"

#ifndef DESCENT_CPU_ISA
#error "define DESCENT_CPU_ISA before including cpu/tanh_f32.hpp"
#endif

namespace descent::detail::DESCENT_CPU_ISA {

namespace tanh_constants {
constexpr double kClamp = 10.0;
constexpr std::uint64_t kSign = 0x8000000000000000ull;
}  // namespace tanh_constants

inline float tanh_f32_one(float xf) {
    using namespace logistic_constants;
    using namespace tanh_constants;
    const double x = double(xf);
    const double ax = double_from_bits(double_bits(x) & ~kSign);
    const double a = kClamp < ax ? kClamp : ax;
    const ExpReduction e = exp_reduce(-2.0 * a);
    const double q = (e.r + e.r2 * e.a1) + e.r4 * e.b1;
    // s = 2^(j/16) 2^k, K = 16 k + j, k in [-29, 0]: a power of two times the table, exact.
    const std::uint64_t bits = double_bits(e.t);
    const std::uint64_t minus_k = ((kShifterBits - bits) + 15) >> 4;
    const double s = kExp2Sixteenths[bits & 15] * double_from_bits((1023 - minus_k) << 52);
    const double sq = s * q;
    const double num = (1.0 - s) - sq, den = (1.0 + s) + sq;
    const double rf = double(1.0f / static_cast<float>(den));
    const double q0 = num * rf;
    const double mag = q0 + (num - q0 * den) * rf;
    const double signed_mag = double_from_bits(double_bits(mag) | (double_bits(x) & kSign));
    return static_cast<float>(x != x ? x : signed_mag);
}

#if defined(__AVX512F__)
// (GCC 12 takes the _mm512_undefined_pd() inside these intrinsics for an uninitialised read.)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
inline __m256 tanh_f32_8(__m256 xf) {
    using namespace logistic_constants;
    using namespace tanh_constants;
    const auto c = [](double v) { return _mm512_set1_pd(v); };
    const __m512d x = _mm512_cvtps_pd(xf);
    const __m512d ax = _mm512_abs_pd(x);
    const __m512d a = _mm512_min_pd(c(kClamp), ax);
    const ExpReduction8 e = exp_reduce8(_mm512_mul_pd(c(-2.0), a));
    const __m512d q = _mm512_add_pd(_mm512_add_pd(e.r, _mm512_mul_pd(e.r2, e.a1)), _mm512_mul_pd(e.r4, e.b1));
    const __m512d s = _mm512_scalef_pd(exp_table8(e), exp_whole_powers8(e));
    const __m512d sq = _mm512_mul_pd(s, q);
    const __m512d num = _mm512_sub_pd(_mm512_sub_pd(c(1.0), s), sq);
    const __m512d den = _mm512_add_pd(_mm512_add_pd(c(1.0), s), sq);
    const __m512d rf = _mm512_cvtps_pd(_mm256_div_ps(_mm256_set1_ps(1.0f), _mm512_cvtpd_ps(den)));
    const __m512d q0 = _mm512_mul_pd(num, rf);
    const __m512d mag = _mm512_add_pd(q0, _mm512_mul_pd(_mm512_sub_pd(num, _mm512_mul_pd(q0, den)), rf));
    const __m512d signed_mag = _mm512_or_pd(mag, _mm512_and_pd(x, c(-0.0)));
    return _mm512_cvtpd_ps(_mm512_mask_blend_pd(_mm512_cmp_pd_mask(x, x, _CMP_UNORD_Q), signed_mag, x));
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#elif defined(__AVX2__)
inline __m128 tanh_f32_4(__m128 xf) {
    using namespace logistic_constants;
    using namespace tanh_constants;
    const auto c = [](double v) { return _mm256_set1_pd(v); };
    const __m256d x = _mm256_cvtps_pd(xf);
    const __m256d ax = _mm256_andnot_pd(c(-0.0), x);
    const __m256d a = _mm256_min_pd(c(kClamp), ax);
    const ExpReduction4 e = exp_reduce4(_mm256_mul_pd(c(-2.0), a));
    const __m256d q = _mm256_add_pd(_mm256_add_pd(e.r, _mm256_mul_pd(e.r2, e.a1)), _mm256_mul_pd(e.r4, e.b1));
    const __m256d scale = _mm256_castsi256_pd(
        _mm256_slli_epi64(_mm256_sub_epi64(_mm256_set1_epi64x(1023), exp_minus_whole_powers4(e)), 52));
    const __m256d s = _mm256_mul_pd(exp_table4(e), scale);
    const __m256d sq = _mm256_mul_pd(s, q);
    const __m256d num = _mm256_sub_pd(_mm256_sub_pd(c(1.0), s), sq);
    const __m256d den = _mm256_add_pd(_mm256_add_pd(c(1.0), s), sq);
    const __m256d rf = _mm256_cvtps_pd(_mm_div_ps(_mm_set1_ps(1.0f), _mm256_cvtpd_ps(den)));
    const __m256d q0 = _mm256_mul_pd(num, rf);
    const __m256d mag = _mm256_add_pd(q0, _mm256_mul_pd(_mm256_sub_pd(num, _mm256_mul_pd(q0, den)), rf));
    const __m256d signed_mag = _mm256_or_pd(mag, _mm256_and_pd(x, c(-0.0)));
    return _mm256_cvtpd_ps(_mm256_blendv_pd(signed_mag, x, _mm256_cmp_pd(x, x, _CMP_UNORD_Q)));
}
#endif

inline void tanh_f32(const float* x, float* out, std::int64_t n) {
    std::int64_t i = 0;
#if defined(__AVX512F__)
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, tanh_f32_8(_mm256_loadu_ps(x + i)));
#elif defined(__AVX2__)
    for (; i + 4 <= n; i += 4) _mm_storeu_ps(out + i, tanh_f32_4(_mm_loadu_ps(x + i)));
#endif
    for (; i < n; ++i) out[i] = tanh_f32_one(x[i]);
}

}  // namespace descent::detail::DESCENT_CPU_ISA
