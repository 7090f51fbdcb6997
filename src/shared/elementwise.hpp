// Elementwise formulas shared by the CPU backend and the CUDA kernels: the per-element body
// of every unary and binary op, and the ordering max/min/argmax reductions pick by. Verified
// by the op gradchecks (CPU) and the CUDA parity suite.
#pragma once

#include <cmath>
#include <cstdint>

#include "shared/hd.hpp"

namespace descent::detail {

// The largest rank a tensor may have: strided elementwise indexing (BroadcastIndex) holds
// this many dimensions.
constexpr int kMaxRank = 6;

// Unary ops; the *_scalar ones and pow take their scalar operand as `alpha`.
enum class UnaryOp {
    neg, square, pow, sqrt, exp, log, tanh, sigmoid, relu,
    step,         // 1 where x > 0 else 0 (the derivative of relu)
    add_scalar,   // x + alpha
    mul_scalar,   // x * alpha
    div_scalar,   // x / alpha (a true division, so results match numpy's x / s exactly)
    rsub_scalar,  // alpha - x
    rdiv_scalar,  // alpha / x
    abs,          // |x|
    sign,         // -1, 0 or 1 (the derivative of abs, as torch's sign: 0 at 0, NaN at NaN)
    log1p,        // log(1 + x), accurate for small x
    clamp_min,    // max(x, alpha); NaN stays NaN (as torch.clamp)
    clamp_max,    // min(x, alpha); NaN stays NaN
};

// The comparisons give 1 or 0 in the operands' dtype (a mask); every comparison with a NaN is
// false but ne, as in IEEE arithmetic and torch.
enum class BinaryOp {
    add, sub, mul, div,
    maximum, minimum,  // a NaN in either operand gives NaN (torch.maximum / minimum)
    eq, ne, lt, le, gt, ge,
    // An activation's backward in one pass, a = the incoming gradient g, b = what the forward
    // saved; the same roundings, in the same order, as the composed rule in ops.cpp:
    tanh_grad,     // g (1 - t²), b = t = tanh(x)
    sigmoid_grad,  // g s (1 - s), b = s = sigmoid(x)
    relu_grad,     // g step(b), b = x or relu(x) (both are > 0 at the same places)
};

template <class T>
DESCENT_HD T apply_unary(UnaryOp op, T x, T alpha) {
    switch (op) {
        case UnaryOp::neg: return -x;
        case UnaryOp::square: return x * x;
        case UnaryOp::pow: return std::pow(x, alpha);
        case UnaryOp::sqrt: return std::sqrt(x);
        case UnaryOp::exp: return std::exp(x);
        case UnaryOp::log: return std::log(x);
        case UnaryOp::tanh: return std::tanh(x);
        // Split by sign so that exp never overflows.
        case UnaryOp::sigmoid: {
            if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
            const T e = std::exp(x);
            return e / (T(1) + e);
        }
        case UnaryOp::relu: return x > T(0) ? x : T(0);
        case UnaryOp::step: return x > T(0) ? T(1) : T(0);
        case UnaryOp::add_scalar: return x + alpha;
        case UnaryOp::mul_scalar: return x * alpha;
        case UnaryOp::div_scalar: return x / alpha;
        case UnaryOp::rsub_scalar: return alpha - x;
        case UnaryOp::rdiv_scalar: return alpha / x;
        case UnaryOp::abs: return std::fabs(x);
        case UnaryOp::sign: return x > T(0) ? T(1) : x < T(0) ? T(-1) : x;  // keeps 0 and NaN
        case UnaryOp::log1p: return std::log1p(x);
        // Written so that a NaN x fails the comparison and is returned.
        case UnaryOp::clamp_min: return x < alpha ? alpha : x;
        case UnaryOp::clamp_max: return x > alpha ? alpha : x;
    }
    return x;
}

// A product and a difference rounded each on its own on the device too: nvcc contracts
// a * b + c into one fma, which would give the fused gradient ops other bits than the separate
// ops (and the CPU) they stand for.
template <class T>
DESCENT_HD T mul_rounded(T a, T b) {
#ifdef __CUDA_ARCH__
    if constexpr (sizeof(T) == sizeof(float)) return __fmul_rn(a, b); else return __dmul_rn(a, b);
#else
    return a * b;
#endif
}
template <class T>
DESCENT_HD T sub_rounded(T a, T b) {
#ifdef __CUDA_ARCH__
    if constexpr (sizeof(T) == sizeof(float)) return __fsub_rn(a, b); else return __dsub_rn(a, b);
#else
    return a - b;
#endif
}

template <class T>
DESCENT_HD T apply_binary(BinaryOp op, T a, T b) {
    switch (op) {
        case BinaryOp::add: return a + b;
        case BinaryOp::sub: return a - b;
        case BinaryOp::mul: return a * b;
        case BinaryOp::div: return a / b;
        case BinaryOp::maximum: return (a != a || a > b) ? a : b;  // b when b is NaN
        case BinaryOp::minimum: return (a != a || a < b) ? a : b;
        case BinaryOp::eq: return a == b ? T(1) : T(0);
        case BinaryOp::ne: return a != b ? T(1) : T(0);
        case BinaryOp::lt: return a < b ? T(1) : T(0);
        case BinaryOp::le: return a <= b ? T(1) : T(0);
        case BinaryOp::gt: return a > b ? T(1) : T(0);
        case BinaryOp::ge: return a >= b ? T(1) : T(0);
        case BinaryOp::tanh_grad: return mul_rounded(a, sub_rounded(T(1), mul_rounded(b, b)));
        case BinaryOp::sigmoid_grad: return mul_rounded(mul_rounded(a, b), sub_rounded(T(1), b));
        case BinaryOp::relu_grad: return mul_rounded(a, b > T(0) ? T(1) : T(0));
    }
    return a;
}

// Whether candidate (v, i) wins over (w, j) in a max (largest) or min reduction, i and j being
// positions along the reduced axis. A total order, so any reduction tree (the CPU's scan, a
// CUDA block's tree) picks the same winner: a NaN beats every number (it propagates, as in
// torch) and among equal values, or NaNs, the first position wins.
template <class T>
DESCENT_HD bool extremum_wins(bool largest, T v, std::int64_t i, T w, std::int64_t j) {
    const bool v_nan = v != v, w_nan = w != w;
    if (v_nan || w_nan) return v_nan && w_nan ? i < j : v_nan;
    if (v == w) return i < j;
    return largest ? v > w : v < w;
}

}  // namespace descent::detail
