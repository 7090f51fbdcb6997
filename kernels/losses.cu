// mse_loss on the device: fixed chunks per block, per-block partial sums, then one block that
// combines them with a fixed tree. No floating-point atomics: bitwise reproducible.
// (The fused linear-MSE pass is kernels/linear_mse.cu.) Verified by the CUDA parity suite.
#include "kernels.hpp"
#include "reduce.cuh"

namespace descent::kernels {

namespace {

constexpr std::int64_t kMseChunk = kThreads * 16;  // elements per block

template <class T>
__global__ void mse_partial_kernel(const T* pred, const T* target, std::int64_t n,
                                   double* partials) {
    __shared__ double shared[kThreads];
    const std::int64_t start = blockIdx.x * kMseChunk;
    const std::int64_t stop = min(n, start + kMseChunk);
    double acc = 0.0;
    for (std::int64_t i = start + threadIdx.x; i < stop; i += kThreads) {
        const double r = double(pred[i]) - double(target[i]);
        acc += r * r;
    }
    const double total = block_tree_sum(acc, shared);
    if (threadIdx.x == 0) partials[blockIdx.x] = total;
}

template <class T>
__global__ void mse_final_kernel(const double* partials, std::int64_t n_partials, std::int64_t n,
                                 T* out) {
    __shared__ double shared[kThreads];
    double acc = 0.0;
    for (std::int64_t b = threadIdx.x; b < n_partials; b += kThreads) acc += partials[b];
    const double total = block_tree_sum(acc, shared);
    if (threadIdx.x == 0) *out = static_cast<T>(total / double(n));
}

}  // namespace

std::int64_t mse_scratch_doubles(std::int64_t numel) { return (numel + kMseChunk - 1) / kMseChunk; }

void mse(Array pred, Array target, Array out, double* scratch, cudaStream_t stream) {
    const std::int64_t n_partials = mse_scratch_doubles(pred.numel);
    detail::visit_dtype(pred.dtype, [&](auto t) {
        using T = decltype(t);
        mse_partial_kernel<T><<<static_cast<unsigned>(n_partials), kThreads, 0, stream>>>(
            static_cast<const T*>(pred.data), static_cast<const T*>(target.data), pred.numel,
            scratch);
        DESCENT_CUDA_CHECK_LAUNCH("mse_partial_kernel");
        mse_final_kernel<T><<<1, kThreads, 0, stream>>>(scratch, n_partials, pred.numel,
                                                        static_cast<T*>(out.data));
        DESCENT_CUDA_CHECK_LAUNCH("mse_final_kernel");
    });
}

}  // namespace descent::kernels
