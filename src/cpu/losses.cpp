// CPU backend: mse_loss's value in one pass, summed in double in index order (twin of
// kernels/losses.cu; the fused linear-MSE pass is src/cpu/linear_mse.cpp).
#include "cpu/cpu_backend.hpp"
#include "shared/dtype_visit.hpp"

namespace descent::detail {

void CpuBackend::mse(Array pred, Array target, Array out) {
    visit_dtype(pred.dtype, [&](auto t) {
        using T = decltype(t);
        const T* p = static_cast<const T*>(pred.data);
        const T* y = static_cast<const T*>(target.data);
        double total = 0.0;
        for (std::int64_t i = 0; i < pred.numel; ++i) {
            const double r = double(p[i]) - double(y[i]);
            total += r * r;
        }
        *static_cast<T*>(out.data) = static_cast<T>(total / double(pred.numel));
    });
}

}  // namespace descent::detail
