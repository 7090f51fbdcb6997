// CPU backend: the mini-batch row gather. Each output row is independent, so threads split
// the rows; the result does not depend on the thread count.
#include <cstring>

#include "backend/dtype_visit.hpp"
#include "cpu/cpu_backend.hpp"

namespace descent::detail {

void CpuBackend::gather_rows(Array X, Array y, std::int64_t d, const RowPermutation& perm,
                             std::int64_t begin, std::int64_t count, Array Xb, Array yb) {
    visit_dtype(X.dtype, [&](auto t) {
        using T = decltype(t);
        const T* x = static_cast<const T*>(X.data);
        const T* yv = static_cast<const T*>(y.data);
        T* xb = static_cast<T*>(Xb.data);
        T* ybv = static_cast<T*>(yb.data);
        // Threads only pay off once the batch is a few hundred KB.
#pragma omp parallel for schedule(static) if (count * d > (1 << 16))
        for (std::int64_t k = 0; k < count; ++k) {
            const std::int64_t r = perm.row(begin + k);
            std::memcpy(xb + k * d, x + r * d, sizeof(T) * static_cast<std::size_t>(d));
            ybv[k] = yv[r];
        }
    });
}

}  // namespace descent::detail
