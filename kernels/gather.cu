// The mini-batch row gather: one thread per element of the batch, so consecutive threads
// copy consecutive columns of a row (coalesced reads within a row, coalesced writes).
// Verified by the CUDA parity suite against the CPU backend (tests/test_cuda_parity.cpp).
#include "kernels.hpp"
#include "launch.cuh"

namespace descent::kernels {

namespace {

template <class T>
__global__ void gather_rows_kernel(const T* X, const T* y, std::int64_t d,
                                   detail::RowPermutation perm, std::int64_t begin,
                                   std::int64_t count, T* Xb, T* yb) {
    const std::int64_t total = count * (d + 1);  // d features and the target per row
    for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < total;
         i += std::int64_t(gridDim.x) * blockDim.x) {
        const std::int64_t k = i / (d + 1), j = i % (d + 1);
        const std::int64_t r = perm.row(begin + k);
        if (j < d)
            Xb[k * d + j] = X[r * d + j];
        else
            yb[k] = y[r];
    }
}

}  // namespace

void gather_rows(Array X, Array y, std::int64_t d, const detail::RowPermutation& perm,
                 std::int64_t begin, std::int64_t count, Array Xb, Array yb,
                 cudaStream_t stream) {
    if (count == 0) return;
    detail::visit_dtype(X.dtype, [&](auto t) {
        using T = decltype(t);
        gather_rows_kernel<T><<<grid_for(count * (d + 1)), kThreads, 0, stream>>>(
            static_cast<const T*>(X.data), static_cast<const T*>(y.data), d, perm, begin, count,
            static_cast<T*>(Xb.data), static_cast<T*>(yb.data));
    });
    DESCENT_CUDA_CHECK_LAUNCH("gather_rows_kernel");
}

}  // namespace descent::kernels
