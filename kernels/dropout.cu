// The dropout mask on the device: one thread per element (grid-stride), each the value
// shared/dropout.hpp gives (the CPU's): the same mask on every device.
// Verified by the CUDA parity suite against the CPU backend (tests/test_cuda_parity.cpp).
#include <cstdint>

#include "kernels.hpp"
#include "launch.cuh"
#include "shared/dropout.hpp"

namespace descent::kernels {

namespace {

template <class T>
__global__ void dropout_mask_kernel(T* out, std::int64_t n, double p, std::uint64_t seed,
                                    std::uint64_t offset) {
    for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < n;
         i += std::int64_t(gridDim.x) * blockDim.x)
        out[i] = static_cast<T>(detail::dropout_keep_scale(seed, offset + std::uint64_t(i), p));
}

}  // namespace

void dropout_mask(Array out, double p, std::uint64_t seed, std::uint64_t offset,
                  cudaStream_t stream) {
    if (out.numel == 0) return;
    detail::visit_dtype(out.dtype, [&](auto t) {
        using T = decltype(t);
        dropout_mask_kernel<T><<<grid_for(out.numel), kThreads, 0, stream>>>(
            static_cast<T*>(out.data), out.numel, p, seed, offset);
        DESCENT_CUDA_CHECK_LAUNCH("dropout_mask_kernel");
    });
}

}  // namespace descent::kernels
