// CPU backend: the dropout mask, element by element from shared/dropout.hpp (what the CUDA
// kernel computes too); each element its own, so any thread count gives the same mask.
#include "cpu/cpu_backend.hpp"
#include "shared/dropout.hpp"
#include "shared/dtype_visit.hpp"

namespace descent::detail {

void CpuBackend::dropout_mask(Array out, double p, std::uint64_t seed, std::uint64_t offset) {
    visit_dtype(out.dtype, [&](auto t) {
        using T = decltype(t);
        T* o = static_cast<T*>(out.data);
        const std::int64_t n = out.numel;
#pragma omp parallel for schedule(static) if (n >= 32768)
        for (std::int64_t i = 0; i < n; ++i)
            o[i] = static_cast<T>(dropout_keep_scale(seed, offset + std::uint64_t(i), p));
    });
}

}  // namespace descent::detail
