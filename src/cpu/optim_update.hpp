// The CPU backend's multi-tensor optimizer update: a loop over every element of every tensor
// calling the shared per-element rule (shared/optim_rules.hpp) that the CUDA kernel calls too,
// one source built for the baseline x86-64 instruction set (src/cpu/optim.cpp), AVX2 and
// AVX-512 (src/cpu/loops_avx2.cpp, loops_avx512.cpp), chosen at run time (cpu/loops_isa.hpp).
// The wider builds only compute wider (no FMA contraction; the square root and the divisions
// are correctly rounded in every width), so every build gives bitwise the same parameters and
// state (tests/test_cpu_isa.cpp).
#pragma once

#include "backend/backend.hpp"
#include "shared/dtype_visit.hpp"
#include "shared/optim_rules.hpp"

#ifndef DESCENT_CPU_ISA
#error "define DESCENT_CPU_ISA before including cpu/optim_update.hpp"
#endif

namespace descent::detail::DESCENT_CPU_ISA {

// The step with some flags fixed at compile time: the static members shadow UpdateStep's
// run-time ones inside the shared rules, so the loop below has no branch left and vectorises.
template <bool BLOG, bool FLAG>
struct PinnedStep : optim::UpdateStep {
    explicit PinnedStep(const optim::UpdateStep& s) : optim::UpdateStep(s) {}
    static constexpr bool blog = BLOG;
    static constexpr bool amsgrad = FLAG;   // adam
    static constexpr bool centered = FLAG;  // rmsprop
    static constexpr bool nesterov = FLAG;  // sgd
};

// One tensor's update with the rule and its flags known at compile time, the constants in a
// local copy (through the caller's reference the compiler must assume a write to p could change
// them) and the state pointers the rule uses never null.
template <optim::UpdateKind KIND, bool BLOG, bool FLAG, class T>
void update_tensor(const UpdateTensor& u) {
    const PinnedStep<BLOG, FLAG> s(u.step);
    T* p = static_cast<T*>(u.param);
    const T* g = static_cast<const T*>(u.grad);
    T* s0 = static_cast<T*>(u.state[0]);
    T* s1 = static_cast<T*>(u.state[1]);
    T* s2 = static_cast<T*>(u.state[2]);
    const std::int64_t n = u.numel;
    if constexpr (KIND == optim::UpdateKind::sgd) {
        if (s.momentum != 0.0)
            for (std::int64_t i = 0; i < n; ++i) optim::sgd_update(s, p[i], g[i], s0 + i);
        else
            for (std::int64_t i = 0; i < n; ++i) optim::sgd_update(s, p[i], g[i], static_cast<T*>(nullptr));
    } else if constexpr (KIND == optim::UpdateKind::adagrad) {
        for (std::int64_t i = 0; i < n; ++i) optim::adagrad_update(s, p[i], g[i], s0 + i);
    } else if constexpr (KIND == optim::UpdateKind::rmsprop) {
        for (std::int64_t i = 0; i < n; ++i)
            optim::rmsprop_update(s, p[i], g[i], s0 + i, s1 ? s1 + i : nullptr, FLAG ? s2 + i : nullptr);
    } else {
        for (std::int64_t i = 0; i < n; ++i)
            optim::adam_update(s, p[i], g[i], s0 + i, s1 + i, FLAG ? s2 + i : nullptr);
    }
}

template <optim::UpdateKind KIND, class T>
void update_tensor_pinned(const UpdateTensor& u) {
    const optim::UpdateStep& s = u.step;
    const bool flag = KIND == optim::UpdateKind::adam      ? s.amsgrad
                      : KIND == optim::UpdateKind::rmsprop ? s.centered
                      : KIND == optim::UpdateKind::sgd     ? s.nesterov
                                                           : false;
    if (s.blog) {
        if (flag) update_tensor<KIND, true, true, T>(u); else update_tensor<KIND, true, false, T>(u);
    } else {
        if (flag) update_tensor<KIND, false, true, T>(u); else update_tensor<KIND, false, false, T>(u);
    }
}

inline void update_tensors(DType dtype, const UpdateTensor* tensors, int count) {
    visit_dtype(dtype, [&](auto t) {
        using T = decltype(t);
        for (int k = 0; k < count; ++k) {
            switch (tensors[k].step.kind) {
                case optim::UpdateKind::sgd: update_tensor_pinned<optim::UpdateKind::sgd, T>(tensors[k]); break;
                case optim::UpdateKind::adagrad: update_tensor_pinned<optim::UpdateKind::adagrad, T>(tensors[k]); break;
                case optim::UpdateKind::rmsprop: update_tensor_pinned<optim::UpdateKind::rmsprop, T>(tensors[k]); break;
                case optim::UpdateKind::adam: update_tensor_pinned<optim::UpdateKind::adam, T>(tensors[k]); break;
            }
        }
    });
}

}  // namespace descent::detail::DESCENT_CPU_ISA
