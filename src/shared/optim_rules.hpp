// The per-element update of every elementwise optimizer, written once. The CPU backend's loop
// and the CUDA kernel both call apply_update(), so what the CPU tests verify is, line for line,
// what the GPU runs. Hyperparameters and bias corrections arrive precomputed in UpdateStep.
// Verified against the blog's numpy code and torch.optim (tests/test_optim_*.cpp).
//
// Two formula sets: `blog` keeps the blog post's evaluation order ((lr*g)/sqrt(s)); the
// torch set follows torch.optim (1.13 single-tensor path) op for op: addcmul(a, t1, t2, v)
// is a + (v*t1)*t2, addcdiv(a, t1, t2, v) is a + (v*t1)/t2, add(a, b, alpha) is a + alpha*b.
// With eps = 0 and no bias correction both sets are the same mathematics.
#pragma once

#include <cmath>
#include <cstdint>

#include "shared/hd.hpp"

namespace descent::optim {

enum class UpdateKind : int { sgd, adagrad, rmsprop, adam };

// Everything one step needs for one parameter tensor, computed on the host.
struct UpdateStep {
    UpdateKind kind = UpdateKind::sgd;
    bool blog = false;          // blog evaluation order (adagrad, rmsprop, adam)
    double lr = 0.0;            // sgd, rmsprop: lr; adagrad: lr / (1 + (step-1) lr_decay);
                                // adam: lr / (1 - beta1^step) (just lr without bias correction)
    double weight_decay = 0.0;  // L2 penalty folded into the gradient
    double decay_factor = 1.0;  // AdamW: parameters scale by 1 - lr*wd before the update
    double momentum = 0.0;      // sgd, rmsprop
    double dampening = 0.0;     // sgd
    bool nesterov = false;      // sgd
    bool first_step = false;    // sgd: the momentum buffer starts as the gradient itself
    double alpha = 0.0;         // rmsprop smoothing (the blog's decay rate)
    double eps = 0.0;
    bool centered = false;      // rmsprop
    double beta1 = 0.0, beta2 = 0.0;
    double bias_correction2_sqrt = 1.0;  // adam: sqrt(1 - beta2^step), 1 without correction
    bool amsgrad = false;
};

// The rules take the step as a template parameter: UpdateStep itself (flags read at run time),
// or a type derived from it that shadows a flag with a static constexpr member of the same name
// (cpu/optim.cpp), so that a CPU loop has no branch left and vectorises.

// State buffers per optimizer (element pointers, null when unused):
//   sgd: s0 = momentum_buffer
//   adagrad: s0 = sum
//   rmsprop: s0 = square_avg, s1 = momentum_buffer, s2 = grad_avg
//   adam: s0 = exp_avg, s1 = exp_avg_sq, s2 = max_exp_avg_sq

template <class T, class Step>
DESCENT_HD void sgd_update(const Step& s, T& p, T g, T* buf) {
    T d = g;
    if (s.weight_decay != 0.0) d = d + T(s.weight_decay) * p;
    if (s.momentum != 0.0) {
        const T b = s.first_step ? d : *buf * T(s.momentum) + T(1.0 - s.dampening) * d;
        *buf = b;
        d = s.nesterov ? d + T(s.momentum) * b : b;
    }
    p = p + T(-s.lr) * d;
}

template <class T, class Step>
DESCENT_HD void adagrad_update(const Step& s, T& p, T g, T* sum) {
    if (s.weight_decay != 0.0) g = g + T(s.weight_decay) * p;
    *sum = *sum + g * g;
    const T denom = std::sqrt(*sum) + T(s.eps);
    if (s.blog) {
        p = p - T(s.lr) * g / denom;  // blog: w -= lr * grad / np.sqrt(sum)
    } else {
        p = p + T(-s.lr) * g / denom;  // torch: addcdiv_(grad, std, value=-clr)
    }
}

template <class T, class Step>
DESCENT_HD void rmsprop_update(const Step& s, T& p, T g, T* square_avg, T* buf,
                               T* grad_avg) {
    if (s.weight_decay != 0.0) g = g + T(s.weight_decay) * p;
    if (s.blog) {
        *square_avg = T(1.0 - s.alpha) * (g * g) + T(s.alpha) * *square_avg;
    } else {
        *square_avg = *square_avg * T(s.alpha) + T(1.0 - s.alpha) * g * g;
    }
    T avg;
    if (s.centered) {
        *grad_avg = *grad_avg * T(s.alpha) + T(1.0 - s.alpha) * g;
        avg = std::sqrt(*square_avg + T(-1.0) * *grad_avg * *grad_avg);
    } else {
        avg = std::sqrt(*square_avg);
    }
    avg = avg + T(s.eps);
    if (s.momentum > 0.0) {
        *buf = *buf * T(s.momentum) + g / avg;
        p = p + T(-s.lr) * *buf;
    } else if (s.blog) {
        p = p - T(s.lr) * g / avg;
    } else {
        p = p + T(-s.lr) * g / avg;
    }
}

template <class T, class Step>
DESCENT_HD void adam_update(const Step& s, T& p, T g, T* exp_avg, T* exp_avg_sq,
                            T* max_exp_avg_sq) {
    if (s.decay_factor != 1.0) p = p * T(s.decay_factor);
    if (s.weight_decay != 0.0) g = g + T(s.weight_decay) * p;
    if (s.blog) {
        *exp_avg = T(1.0 - s.beta1) * g + T(s.beta1) * *exp_avg;
        *exp_avg_sq = T(1.0 - s.beta2) * (g * g) + T(s.beta2) * *exp_avg_sq;
    } else {
        *exp_avg = *exp_avg * T(s.beta1) + T(1.0 - s.beta1) * g;
        *exp_avg_sq = *exp_avg_sq * T(s.beta2) + T(1.0 - s.beta2) * g * g;
    }
    T second = *exp_avg_sq;
    if (s.amsgrad) {
        // torch.maximum: a NaN on either side wins. (Stored unconditionally: a loop vectorises.)
        const T kept = *max_exp_avg_sq;
        *max_exp_avg_sq = second != second || kept < second ? second : kept;
        second = *max_exp_avg_sq;
    }
    const T denom = std::sqrt(second) / T(s.bias_correction2_sqrt) + T(s.eps);
    if (s.blog) {
        p = p - T(s.lr) * *exp_avg / denom;  // blog: w -= lr * m / np.sqrt(v)
    } else {
        p = p + T(-s.lr) * *exp_avg / denom;  // torch: addcdiv_(exp_avg, denom, value=-step_size)
    }
}

template <class T>
DESCENT_HD void apply_update(const UpdateStep& s, T& p, T g, T* s0, T* s1, T* s2) {
    switch (s.kind) {
        case UpdateKind::sgd: sgd_update(s, p, g, s0); break;
        case UpdateKind::adagrad: adagrad_update(s, p, g, s0); break;
        case UpdateKind::rmsprop: rmsprop_update(s, p, g, s0, s1, s2); break;
        case UpdateKind::adam: adam_update(s, p, g, s0, s1, s2); break;
    }
}

}  // namespace descent::optim
