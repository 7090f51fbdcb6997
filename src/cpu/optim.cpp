// CPU backend: the multi-tensor optimizer update, a loop over every element of every tensor
// calling the shared per-element rule (shared/optim_rules.hpp) that the CUDA kernel calls too.
#include "shared/dtype_visit.hpp"
#include "cpu/cpu_backend.hpp"
#include "shared/optim_rules.hpp"

namespace descent::detail {

namespace {

// One tensor's update with the rule known at compile time and its constants in a local copy
// (through the caller's reference the compiler must assume a write to p could change them):
// the loop-invariant tests then leave the loop, which vectorises.
template <optim::UpdateKind KIND, class T>
void update_tensor(const UpdateTensor& u) {
    const optim::UpdateStep s = u.step;
    T* p = static_cast<T*>(u.param);
    const T* g = static_cast<const T*>(u.grad);
    T* s0 = static_cast<T*>(u.state[0]);
    T* s1 = static_cast<T*>(u.state[1]);
    T* s2 = static_cast<T*>(u.state[2]);
    const std::int64_t n = u.numel;
    for (std::int64_t i = 0; i < n; ++i) {
        T* a = s0 ? s0 + i : nullptr;
        T* b = s1 ? s1 + i : nullptr;
        T* c = s2 ? s2 + i : nullptr;
        if constexpr (KIND == optim::UpdateKind::sgd) optim::sgd_update(s, p[i], g[i], a);
        else if constexpr (KIND == optim::UpdateKind::adagrad) optim::adagrad_update(s, p[i], g[i], a);
        else if constexpr (KIND == optim::UpdateKind::rmsprop) optim::rmsprop_update(s, p[i], g[i], a, b, c);
        else optim::adam_update(s, p[i], g[i], a, b, c);
    }
}

}  // namespace

void CpuBackend::optimizer_update(DType dtype, const UpdateTensor* tensors, int count, int) {
    visit_dtype(dtype, [&](auto t) {
        using T = decltype(t);
        for (int k = 0; k < count; ++k) {
            switch (tensors[k].step.kind) {
                case optim::UpdateKind::sgd: update_tensor<optim::UpdateKind::sgd, T>(tensors[k]); break;
                case optim::UpdateKind::adagrad: update_tensor<optim::UpdateKind::adagrad, T>(tensors[k]); break;
                case optim::UpdateKind::rmsprop: update_tensor<optim::UpdateKind::rmsprop, T>(tensors[k]); break;
                case optim::UpdateKind::adam: update_tensor<optim::UpdateKind::adam, T>(tensors[k]); break;
            }
        }
    });
}

}  // namespace descent::detail
