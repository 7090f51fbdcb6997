// Streamed synthetic data: one thread per row, the row function shared with the CPU
// (shared/synthetic_row.hpp), so a chunk generated on the device is bitwise the CPU's.
// Verified by tests/test_cuda_training.cpp (streamed training against the in-memory run).
#include "shared/synthetic_row.hpp"
#include "kernels.hpp"
#include "launch.cuh"

namespace descent::kernels {

namespace {

template <class T>
__global__ void synthetic_rows_kernel(detail::SyntheticRows spec, std::int64_t begin,
                                      std::int64_t count, std::int64_t cols, T* X, T* y) {
    for (std::int64_t k = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; k < count;
         k += std::int64_t(gridDim.x) * blockDim.x)
        detail::synthetic_row(spec.seed, spec.noise, spec.features, spec.intercept, spec.truth,
                              begin + k, X + k * cols, y + k);
}

}  // namespace

void synthetic_rows(const detail::SyntheticRows& spec, std::int64_t begin, std::int64_t count,
                    Array X, Array y, cudaStream_t stream) {
    if (count == 0) return;
    const std::int64_t cols = spec.features + (spec.intercept ? 1 : 0);
    detail::visit_dtype(X.dtype, [&](auto t) {
        using T = decltype(t);
        synthetic_rows_kernel<T><<<grid_for(count), kThreads, 0, stream>>>(
            spec, begin, count, cols, static_cast<T*>(X.data), static_cast<T*>(y.data));
    });
    DESCENT_CUDA_CHECK_LAUNCH("synthetic_rows_kernel");
}

}  // namespace descent::kernels
