// CPU backend: the multi-tensor optimizer update, a loop over every element of every tensor
// calling the shared per-element rule (shared/optim_rules.hpp) that the CUDA kernel calls too.
#include "shared/dtype_visit.hpp"
#include "cpu/cpu_backend.hpp"

namespace descent::detail {

void CpuBackend::optimizer_update(DType dtype, const UpdateTensor* tensors, int count, int) {
    visit_dtype(dtype, [&](auto t) {
        using T = decltype(t);
        for (int k = 0; k < count; ++k) {
            const UpdateTensor& u = tensors[k];
            T* p = static_cast<T*>(u.param);
            const T* g = static_cast<const T*>(u.grad);
            T* s0 = static_cast<T*>(u.state[0]);
            T* s1 = static_cast<T*>(u.state[1]);
            T* s2 = static_cast<T*>(u.state[2]);
            for (std::int64_t i = 0; i < u.numel; ++i)
                optim::apply_update(u.step, p[i], g[i], s0 ? s0 + i : nullptr,
                                    s1 ? s1 + i : nullptr, s2 ? s2 + i : nullptr);
        }
    });
}

}  // namespace descent::detail
