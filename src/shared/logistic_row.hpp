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
// (selects, no calls), so loops over rows vectorise and every build and thread count rounds
// alike. Accuracy: within 2 ulp for exp (degree-13 Taylor polynomial on |r| <= ln2/2, 1.8
// ulp measured), about 1 ulp for log1p (fdlibm's kernel). The CUDA kernels use them as they
// are (logistic_row_terms); the CPU blocks, for speed, take e from their own table-driven exp
// (cpu/logistic_block.hpp, within 2.5 ulp) into logistic_row_core_e and sum the loss's log1p
// parts as products (log1p_product_step), so the two backends agree to ~1e-15, not bitwise.
// Checked against the composed autodiff graph (std::exp, std::log) to 1e-12 in
// tests/test_fused_classification.cpp, and CPU against CUDA in tests/test_cuda_parity.cpp.
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

// exp(x) for x <= 0 (NaN gives NaN), within 2 ulp, subnormal results included; 0 below
// about -745.1. x = k ln2 + r with k = round(x / ln2), |r| <= ln2/2 (Cody-Waite, two-part
// ln2); exp(r) by its Taylor polynomial of degree 13 (truncation < 5e-18 relative); then
// times 2^k as 2^k1 * 2^k2, k1 + k2 = k, both normal even where 2^k is not.
DESCENT_HD double exp_nonpositive(double x) {
    using namespace logistic_constants;
    const double xc = x < -746.0 ? -746.0 : x;  // exp(-746) rounds to 0 anyway; NaN passes
    const double t = xc * kLog2e + kShifter;    // 1.5 * 2^52 + k: k in the low bits
    const double kf = t - kShifter;
    const double r = (xc - kf * kLn2Hi) - kf * kLn2Lo;
    // Estrin's scheme: the same polynomial in a tree of depth 4 instead of a chain of 13
    // multiply-adds (the chain's latency, not its operations, bounded the CPU loop).
    const double r2 = r * r;
    const double a0 = 1.0 + r, a1 = 0.5 + r * (1.0 / 6.0), a2 = 1.0 / 24.0 + r * (1.0 / 120.0),
                 a3 = 1.0 / 720.0 + r * (1.0 / 5040.0), a4 = 1.0 / 40320.0 + r * (1.0 / 362880.0),
                 a5 = 1.0 / 3628800.0 + r * (1.0 / 39916800.0),
                 a6 = 1.0 / 479001600.0 + r * (1.0 / 6227020800.0);
    const double r4 = r2 * r2;
    const double b0 = a0 + r2 * a1, b1 = a2 + r2 * a3, b2 = a4 + r2 * a5;
    const double r8 = r4 * r4;
    const double c0 = b0 + r4 * b1, c1 = b2 + r4 * a6;
    const double p = c0 + r8 * c1;
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

// The per-row terms from the logit z and the label y (0 or 1), all but the log1p: the loss
// is plain + log1p(e).
struct LogisticRowCore {
    double e;      // exp(-|z|), in [0, 1]
    double inv_u;  // 1 / (1 + e)
    double plain;  // max(z, 0) - z y, >= 0
    double r;      // σ(z) - y
    double h;      // σ(z) (1 - σ(z))
};

// From z, y and e = exp(-|z|) (the CPU computes e with its own table-driven exp, see
// src/cpu/logistic_block.hpp; logistic_row_core below with exp_nonpositive).
DESCENT_HD LogisticRowCore logistic_row_core_e(double z, double y, double e) {
    LogisticRowCore t;
    t.e = e;
    t.inv_u = 1.0 / (1.0 + t.e);
    const double q = t.e * t.inv_u;  // σ(-|z|) = min(σ(z), 1 - σ(z)), never cancelled
    t.plain = (z > 0.0 ? z : 0.0) - z * y;
    // σ(z) - y as (1 - y) - (1 - σ(z)) for z >= 0: full relative precision where σ -> 1.
    const double r_pos = (1.0 - y) - q, r_neg = q - y;
    t.r = z >= 0.0 ? r_pos : r_neg;
    t.h = q * t.inv_u;  // e / (1 + e)²
    return t;
}

DESCENT_HD LogisticRowCore logistic_row_core(double z, double y) {
    const double minus_z = -z;
    return logistic_row_core_e(z, y, exp_nonpositive(z < 0.0 ? z : minus_z));
}

struct LogisticTerms {
    double loss;  // max(z, 0) - z y + log1p(exp(-|z|))
    double r;     // σ(z) - y
    double h;     // σ(z) (1 - σ(z))
};

DESCENT_HD LogisticTerms logistic_row_terms(double z, double y) {
    const LogisticRowCore c = logistic_row_core(z, y);
    return {c.plain + log1p_unit(c.e, c.inv_u), c.r, c.h};
}

// The CPU blocks' form of Σ log1p(e_i) over many rows (src/cpu/logistic_block.hpp): the
// product Π (1 + e_i) kept as 1 + E, E <- (E + e) + E e (every term >= 0, so each step rounds
// relative to E: about 1e-16 per row, unlike 1 + E itself), and one log1p(E) at the end. One
// multiply and two adds a row instead of log1p's division and polynomial. E stays finite for
// up to 1023 rows (each factor is at most 2).
DESCENT_HD double log1p_product_step(double E, double e) { return (E + e) + E * e; }

// z = x_row·w in a fixed order: eight partial sums, s_l = Σ x_j w_j over j ≡ l (mod 8) in
// increasing j, combined as ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7)). Eight
// independent chains, so the CPU forms the products eight at a time (one AVX-512 vector, or
// two 4-wide ones) and reduces eight rows together; a zero-padded tail only adds exact zeros.
template <class T>
DESCENT_HD double logistic_row_logit(const T* x_row, const T* w, std::int64_t d) {
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0, s4 = 0.0, s5 = 0.0, s6 = 0.0, s7 = 0.0;
    std::int64_t j = 0;
    for (; j + 8 <= d; j += 8) {
        s0 += double(x_row[j]) * double(w[j]);
        s1 += double(x_row[j + 1]) * double(w[j + 1]);
        s2 += double(x_row[j + 2]) * double(w[j + 2]);
        s3 += double(x_row[j + 3]) * double(w[j + 3]);
        s4 += double(x_row[j + 4]) * double(w[j + 4]);
        s5 += double(x_row[j + 5]) * double(w[j + 5]);
        s6 += double(x_row[j + 6]) * double(w[j + 6]);
        s7 += double(x_row[j + 7]) * double(w[j + 7]);
    }
    const std::int64_t tail = d - j;  // 0..7 columns into lanes 0..tail-1
    if (tail > 0) s0 += double(x_row[j]) * double(w[j]);
    if (tail > 1) s1 += double(x_row[j + 1]) * double(w[j + 1]);
    if (tail > 2) s2 += double(x_row[j + 2]) * double(w[j + 2]);
    if (tail > 3) s3 += double(x_row[j + 3]) * double(w[j + 3]);
    if (tail > 4) s4 += double(x_row[j + 4]) * double(w[j + 4]);
    if (tail > 5) s5 += double(x_row[j + 5]) * double(w[j + 5]);
    if (tail > 6) s6 += double(x_row[j + 6]) * double(w[j + 6]);
    return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
}

}  // namespace descent::detail
