// CPU backend: rows of the synthetic data set for streamed training, generated in place
// (threads split the rows; each row is a pure function of its index).
#include "shared/dtype_visit.hpp"
#include "cpu/cpu_backend.hpp"
#include "shared/synthetic_row.hpp"

namespace descent::detail {

void CpuBackend::synthetic_rows(const SyntheticRows& spec, std::int64_t begin, std::int64_t count,
                                Array X, Array y) {
    const std::int64_t cols = spec.features + (spec.intercept ? 1 : 0);
    visit_dtype(X.dtype, [&](auto t) {
        using T = decltype(t);
        T* xp = static_cast<T*>(X.data);
        T* yp = static_cast<T*>(y.data);
#pragma omp parallel for schedule(static) if (count > 4096)
        for (std::int64_t k = 0; k < count; ++k)
            synthetic_row(spec.seed, spec.noise, spec.features, spec.intercept, spec.truth,
                          begin + k, xp + k * cols, yp + k);
    });
}

}  // namespace descent::detail
