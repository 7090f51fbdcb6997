// Elementwise kernels: fill, cast, unary, broadcasting binary and strided copy. The
// per-element math is shared/elementwise.hpp, the same functions the CPU backend calls.
// Verified by the CUDA parity suite (tests/test_cuda_*.cpp) against the CPU backend.
#include "kernels.hpp"
#include "launch.cuh"

namespace descent::kernels {

namespace {

template <class T>
__global__ void fill_kernel(T* out, std::int64_t n, T value) {  // out is (n)
    for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < n;
         i += std::int64_t(gridDim.x) * blockDim.x)
        out[i] = value;
}

template <class TI, class TO>
__global__ void cast_kernel(const TI* in, TO* out, std::int64_t n) {
    for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < n;
         i += std::int64_t(gridDim.x) * blockDim.x)
        out[i] = static_cast<TO>(in[i]);
}

template <class T>
__global__ void unary_kernel(UnaryOp op, T alpha, const T* in, T* out, std::int64_t n) {
    for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < n;
         i += std::int64_t(gridDim.x) * blockDim.x)
        out[i] = detail::apply_unary(op, in[i], alpha);
}

// Offset of output element i in operand k, from the row-major output coordinates.
__device__ inline std::int64_t operand_offset(const BroadcastIndex& ix, int k, std::int64_t i) {
    std::int64_t offset = 0;
    for (int dim = ix.rank - 1; dim >= 0; --dim) {
        const std::int64_t c = i % ix.shape[dim];
        i /= ix.shape[dim];
        offset += c * ix.strides[k][dim];
    }
    return offset;
}

template <class T>
__global__ void binary_kernel(BinaryOp op, const T* a, const T* b, T* out, std::int64_t n,
                              BroadcastIndex ix) {
    for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < n;
         i += std::int64_t(gridDim.x) * blockDim.x)
        out[i] = detail::apply_binary(op, a[operand_offset(ix, 0, i)], b[operand_offset(ix, 1, i)]);
}

template <class T>
__global__ void strided_copy_kernel(const T* in, T* out, std::int64_t n, BroadcastIndex ix) {
    for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < n;
         i += std::int64_t(gridDim.x) * blockDim.x)
        out[operand_offset(ix, 1, i)] = in[operand_offset(ix, 0, i)];
}

}  // namespace

void fill(Array out, double value, cudaStream_t stream) {
    if (out.numel == 0) return;
    detail::visit_dtype(out.dtype, [&](auto t) {
        using T = decltype(t);
        fill_kernel<T><<<grid_for(out.numel), kThreads, 0, stream>>>(
            static_cast<T*>(out.data), out.numel, static_cast<T>(value));
    });
    DESCENT_CUDA_CHECK_LAUNCH("fill_kernel");
}

void cast(Array in, Array out, cudaStream_t stream) {
    if (in.numel == 0) return;
    detail::visit_dtype(in.dtype, [&](auto ti) {
        using TI = decltype(ti);
        detail::visit_dtype(out.dtype, [&](auto to) {
            using TO = decltype(to);
            cast_kernel<TI, TO><<<grid_for(in.numel), kThreads, 0, stream>>>(
                static_cast<const TI*>(in.data), static_cast<TO*>(out.data), in.numel);
        });
    });
    DESCENT_CUDA_CHECK_LAUNCH("cast_kernel");
}

void unary(UnaryOp op, double alpha, Array in, Array out, cudaStream_t stream) {
    if (in.numel == 0) return;
    detail::visit_dtype(in.dtype, [&](auto t) {
        using T = decltype(t);
        unary_kernel<T><<<grid_for(in.numel), kThreads, 0, stream>>>(
            op, static_cast<T>(alpha), static_cast<const T*>(in.data), static_cast<T*>(out.data),
            in.numel);
    });
    DESCENT_CUDA_CHECK_LAUNCH("unary_kernel");
}

void binary(BinaryOp op, Array a, Array b, Array out, const BroadcastIndex& index,
            cudaStream_t stream) {
    if (out.numel == 0) return;
    detail::visit_dtype(out.dtype, [&](auto t) {
        using T = decltype(t);
        binary_kernel<T><<<grid_for(out.numel), kThreads, 0, stream>>>(
            op, static_cast<const T*>(a.data), static_cast<const T*>(b.data),
            static_cast<T*>(out.data), out.numel, index);
    });
    DESCENT_CUDA_CHECK_LAUNCH("binary_kernel");
}

void strided_copy(Array in, Array out, const BroadcastIndex& index, cudaStream_t stream) {
    std::int64_t count = 1;
    for (int i = 0; i < index.rank; ++i) count *= index.shape[i];
    if (count == 0) return;
    detail::visit_dtype(out.dtype, [&](auto t) {
        using T = decltype(t);
        strided_copy_kernel<T><<<grid_for(count), kThreads, 0, stream>>>(
            static_cast<const T*>(in.data), static_cast<T*>(out.data), count, index);
    });
    DESCENT_CUDA_CHECK_LAUNCH("strided_copy_kernel");
}

}  // namespace descent::kernels
