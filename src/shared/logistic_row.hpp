// Per-row body of the fused logistic-regression pass (binary cross-entropy with logits),
// shared by the CPU blocks (src/cpu/logistic.cpp) and the CUDA kernels (kernels/logistic.cu).
// For row x_i, weights w and label y_i in {0, 1}:
//     z_i    = x_i·w                                   (logistic_row_logit)
//     loss_i = max(z_i, 0) - z_i y_i + log1p(exp(-|z_i|))
//     r_i    = σ(z_i) - y_i                            (the gradient's row weight)
//     h_i    = σ(z_i) (1 - σ(z_i))                     (the Hessian's row weight)
// all from one e = exp(-|z_i|) in [0, 1], so nothing overflows at any |z| (e underflows to 0
// past |z| ~ 745: at |z| = 1e4 the loss term is exactly |z| on the wrong side and 0 on the
// right one). The pass adds loss_i, r_i x_i and h_i x_i x_iᵀ into double sums.
//
// exp and log1p are computed here, not by the math library: branch-free double arithmetic
// (selects, no calls), so the CPU loops vectorise and every build and thread count rounds
// alike, and both backends run the same formula. Accuracy: about 1 ulp each (Taylor
// polynomial of degree 13 on |r| <= ln2/2; fdlibm's log1p kernel), checked against the
// composed autodiff graph (std::exp, std::log) to 1e-12 in tests/test_fused_classification.cpp.
#pragma once

#include <cstdint>
#include <cstring>

#include "shared/hd.hpp"

namespace descent::detail {

namespace logistic_constants {
constexpr double kLog2e = 1.4426950408889634074;     // 1 / ln 2
constexpr double kShifter = 6755399441055744.0;      // 0x1.8p52: x + it rounds x to an integer
constexpr std::uint64_t kShifterBits = 0x4338000000000000ull;
constexpr double kLn2Hi = 6.93147180369123816490e-01;  // 0x3fe62e42fee00000: 32 bits, k * it exact
constexpr double kLn2Lo = 1.90821492927058770002e-10;  // ln 2 - kLn2Hi
constexpr double kSqrt2m1 = 0.41421356237309503;       // just below sqrt(2) - 1
// fdlibm's log1p kernel (s_log1p.c, Lp1..Lp7): log(1+f) = f - f²/2 + s (f²/2 + R(s²)),
// s = f / (2 + f), for sqrt(1/2) - 1 <= f <= sqrt(2) - 1.
constexpr double kLp1 = 6.666666666666735130e-01;
constexpr double kLp2 = 3.999999999940941908e-01;
constexpr double kLp3 = 2.857142874366239149e-01;
constexpr double kLp4 = 2.222219843214978396e-01;
constexpr double kLp5 = 1.818357216161805012e-01;
constexpr double kLp6 = 1.531383769920937332e-01;
constexpr double kLp7 = 1.479819860511658591e-01;
}  // namespace logistic_constants

DESCENT_HD std::uint64_t double_bits(double v) {
#if defined(__CUDA_ARCH__)
    return static_cast<std::uint64_t>(__double_as_longlong(v));
#else
    std::uint64_t b;
    std::memcpy(&b, &v, sizeof b);
    return b;
#endif
}

DESCENT_HD double double_from_bits(std::uint64_t b) {
#if defined(__CUDA_ARCH__)
    return __longlong_as_double(static_cast<long long>(b));
#else
    double v;
    std::memcpy(&v, &b, sizeof v);
    return v;
#endif
}

// exp(x) for x <= 0 (NaN gives NaN), to about 1 ulp, subnormal results included; 0 below
// about -745.1. x = k ln2 + r with k = round(x / ln2), |r| <= ln2/2 (Cody-Waite, two-part
// ln2); exp(r) by its Taylor polynomial of degree 13 (truncation < 5e-18 relative); then
// times 2^k as 2^k1 * 2^k2, k1 + k2 = k, both normal even where 2^k is not.
DESCENT_HD double exp_nonpositive(double x) {
    using namespace logistic_constants;
    const double xc = x < -746.0 ? -746.0 : x;  // exp(-746) rounds to 0 anyway; NaN passes
    const double t = xc * kLog2e + kShifter;    // 1.5 * 2^52 + k: k in the low bits
    const double kf = t - kShifter;
    const double r = (xc - kf * kLn2Hi) - kf * kLn2Lo;
    double p = 1.0 / 6227020800.0;  // 1/13!
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    // -k = kShifterBits - bits(t) in [0, 1077]; split in halves m1 + m2.
    const std::uint64_t m = kShifterBits - double_bits(t);
    const std::uint64_t m1 = m >> 1, m2 = m - m1;
    const double s1 = double_from_bits((1023 - m1) << 52);
    const double s2 = double_from_bits((1023 - m2) << 52);
    return (p * s1) * s2;
}

// log1p(e) for e in [0, 1] (NaN gives NaN), to about 1 ulp, given inv_u = 1 / (1 + e) (the
// caller has it for the sigmoid): fdlibm's log1p. Below sqrt(2) - 1, log(1 + f) with f = e
// exactly; above, 1 + e = 2 (1 + f) with f = (1 + e)/2 - 1 in [sqrt(1/2) - 1, 0] (exact), plus
// the rounding error of 1 + e, e - ((1 + e) - 1) (exact), over 1 + e.
DESCENT_HD double log1p_unit(double e, double inv_u) {
    using namespace logistic_constants;
    // Both arms are computed, then selected: no branch, so loops over rows vectorise.
    const double u = 1.0 + e;
    const bool halve = e >= kSqrt2m1;
    const double f_halved = 0.5 * u - 1.0;
    const double c_halved = (e - (u - 1.0)) * inv_u;
    const double k = halve ? 1.0 : 0.0;
    const double f = halve ? f_halved : e;
    const double c = halve ? c_halved : 0.0;
    const double hfsq = 0.5 * f * f;
    const double s = f / (2.0 + f);
    const double z = s * s;
    const double R =
        z * (kLp1 + z * (kLp2 + z * (kLp3 + z * (kLp4 + z * (kLp5 + z * (kLp6 + z * kLp7))))));
    return k * kLn2Hi - ((hfsq - (s * (hfsq + R) + (k * kLn2Lo + c))) - f);
}

// The per-row terms from the logit z and the label y (0 or 1).
struct LogisticTerms {
    double loss;  // max(z, 0) - z y + log1p(exp(-|z|))
    double r;     // σ(z) - y
    double h;     // σ(z) (1 - σ(z))
};

DESCENT_HD LogisticTerms logistic_row_terms(double z, double y) {
    const double minus_z = -z;
    const double e = exp_nonpositive(z < 0.0 ? z : minus_z);  // exp(-|z|), in [0, 1]
    const double inv_u = 1.0 / (1.0 + e);
    const double q = e * inv_u;  // σ(-|z|) = min(σ(z), 1 - σ(z)), never cancelled
    LogisticTerms t;
    t.loss = ((z > 0.0 ? z : 0.0) - z * y) + log1p_unit(e, inv_u);
    // σ(z) - y as (1 - y) - (1 - σ(z)) for z >= 0: full relative precision where σ -> 1.
    const double r_pos = (1.0 - y) - q, r_neg = q - y;
    t.r = z >= 0.0 ? r_pos : r_neg;
    t.h = q * inv_u;  // e / (1 + e)²
    return t;
}

// z = x_row·w, in linear_row_residual's order: four partial sums (j mod 4) combined as
// (s0 + s1) + (s2 + s3).
template <class T>
DESCENT_HD double logistic_row_logit(const T* x_row, const T* w, std::int64_t d) {
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    std::int64_t j = 0;
    for (; j + 4 <= d; j += 4) {
        s0 += double(x_row[j]) * double(w[j]);
        s1 += double(x_row[j + 1]) * double(w[j + 1]);
        s2 += double(x_row[j + 2]) * double(w[j + 2]);
        s3 += double(x_row[j + 3]) * double(w[j + 3]);
    }
    for (; j < d; ++j) s0 += double(x_row[j]) * double(w[j]);
    return (s0 + s1) + (s2 + s3);
}

}  // namespace descent::detail
