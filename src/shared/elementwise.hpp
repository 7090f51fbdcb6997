// Elementwise formulas shared by the CPU backend and the CUDA kernels: the per-element body
// of every unary and binary op. Verified by the op gradchecks (CPU) and the CUDA parity suite.
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
    abs,          // |x| (norms in the curvature optimizers; not a differentiable op)
};

enum class BinaryOp { add, sub, mul, div };

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
    }
    return x;
}

template <class T>
DESCENT_HD T apply_binary(BinaryOp op, T a, T b) {
    switch (op) {
        case BinaryOp::add: return a + b;
        case BinaryOp::sub: return a - b;
        case BinaryOp::mul: return a * b;
        case BinaryOp::div: return a / b;
    }
    return a;
}

}  // namespace descent::detail
