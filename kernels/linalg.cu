// Matrix product (cuBLAS), transpose and axis sums. Sums accumulate in double in a fixed
// order (fixed block size, fixed tree), so the same input gives bitwise the same output.
// Verified by the CUDA parity suite against the CPU backend.
#include <climits>
#include <string>

#include "descent/error.hpp"
#include "kernels.hpp"
#include "launch.cuh"
#include "reduce.cuh"

namespace descent::kernels {

namespace {

int checked_int(std::int64_t v, const char* what) {
    if (v > INT_MAX)
        throw Error(std::string("matmul on cuda: ") + what + " = " + std::to_string(v) +
                    " exceeds cuBLAS's 32-bit limit");
    return static_cast<int>(v);
}

template <class T>
__global__ void transpose_kernel(const T* in, T* out, std::int64_t rows, std::int64_t cols) {
    // in is (rows, cols), out is (cols, rows)
    const std::int64_t n = rows * cols;
    for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < n;
         i += std::int64_t(gridDim.x) * blockDim.x) {
        const std::int64_t r = i / cols, c = i % cols;
        out[c * rows + r] = in[i];
    }
}

// One thread per output element, summing its `len` inputs in order. For short axes.
template <class T>
__global__ void sum_axis_thread_kernel(const T* in, T* out, std::int64_t outer, std::int64_t len,
                                       std::int64_t inner, double scale) {
    // in is (outer, len, inner), out is (outer, inner)
    const std::int64_t n = outer * inner;
    for (std::int64_t o = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; o < n;
         o += std::int64_t(gridDim.x) * blockDim.x) {
        const std::int64_t p = o / inner, i = o % inner;
        const T* base = in + p * len * inner + i;
        double acc = 0.0;
        for (std::int64_t l = 0; l < len; ++l) acc += double(base[l * inner]);
        out[o] = static_cast<T>(scale * acc);
    }
}

// One block per output element: strided per-thread sums, then a fixed shared-memory tree.
template <class T>
__global__ void sum_axis_block_kernel(const T* in, T* out, std::int64_t len, std::int64_t inner,
                                      double scale) {
    __shared__ double shared[kThreads];
    const std::int64_t o = blockIdx.x;
    const std::int64_t p = o / inner, i = o % inner;
    const T* base = in + p * len * inner + i;
    double acc = 0.0;
    for (std::int64_t l = threadIdx.x; l < len; l += kThreads) acc += double(base[l * inner]);
    const double total = block_tree_sum(acc, shared);
    if (threadIdx.x == 0) out[o] = static_cast<T>(scale * total);
}

}  // namespace

void gemm(cublasHandle_t handle, bool trans_a, bool trans_b, std::int64_t m, std::int64_t n,
          std::int64_t k, double alpha, Array a, Array b, Array c) {
    if (m == 0 || n == 0) return;
    if (k == 0) {
        cudaStream_t stream = nullptr;
        DESCENT_CUBLAS_CHECK(cublasGetStream(handle, &stream));
        fill(c, 0.0, stream);
        return;
    }
    // Row-major C = op(A) op(B) is column-major Cᵀ = op(B)ᵀ op(A)ᵀ: swap the operands.
    const int mi = checked_int(m, "m"), ni = checked_int(n, "n"), ki = checked_int(k, "k");
    const cublasOperation_t op_b = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
    const cublasOperation_t op_a = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
    const int ldb = trans_b ? ki : ni, lda = trans_a ? mi : ki;
    if (c.dtype == DType::f32) {
        const float alpha_f = static_cast<float>(alpha), beta = 0.0f;
        DESCENT_CUBLAS_CHECK(cublasSgemm(handle, op_b, op_a, ni, mi, ki, &alpha_f,
                                         static_cast<const float*>(b.data), ldb,
                                         static_cast<const float*>(a.data), lda, &beta,
                                         static_cast<float*>(c.data), ni));
    } else {
        const double beta = 0.0;
        DESCENT_CUBLAS_CHECK(cublasDgemm(handle, op_b, op_a, ni, mi, ki, &alpha,
                                         static_cast<const double*>(b.data), ldb,
                                         static_cast<const double*>(a.data), lda, &beta,
                                         static_cast<double*>(c.data), ni));
    }
}

void transpose(Array in, Array out, std::int64_t rows, std::int64_t cols, cudaStream_t stream) {
    if (in.numel == 0) return;
    detail::visit_dtype(in.dtype, [&](auto t) {
        using T = decltype(t);
        transpose_kernel<T><<<grid_for(in.numel), kThreads, 0, stream>>>(
            static_cast<const T*>(in.data), static_cast<T*>(out.data), rows, cols);
    });
    DESCENT_CUDA_CHECK_LAUNCH("transpose_kernel");
}

namespace {

// One block: each thread the max of a strided share, then a tree. A NaN wins every
// comparison it meets, so it reaches the result.
template <class T>
__global__ void max_all_kernel(const T* in, std::int64_t n, T* out) {
    __shared__ T shared[kThreads];
    T m = in[0];
    for (std::int64_t i = threadIdx.x; i < n; i += kThreads) {
        const T v = in[i];
        if (v != v || v > m) m = v;
        if (m != m) break;
    }
    shared[threadIdx.x] = m;
    __syncthreads();
    for (int width = kThreads / 2; width > 0; width /= 2) {
        if (threadIdx.x < width) {
            const T other = shared[threadIdx.x + width];
            const T mine = shared[threadIdx.x];
            if (mine == mine && (other != other || other > mine)) shared[threadIdx.x] = other;
        }
        __syncthreads();
    }
    if (threadIdx.x == 0) *out = shared[0];
}

}  // namespace

void max_all(Array in, Array out, cudaStream_t stream) {
    detail::visit_dtype(in.dtype, [&](auto t) {
        using T = decltype(t);
        max_all_kernel<T><<<1, kThreads, 0, stream>>>(static_cast<const T*>(in.data), in.numel,
                                                      static_cast<T*>(out.data));
    });
    DESCENT_CUDA_CHECK_LAUNCH("max_all_kernel");
}

void sum_axis(Array in, Array out, std::int64_t outer, std::int64_t len, std::int64_t inner,
              double scale, cudaStream_t stream) {
    const std::int64_t n_out = outer * inner;
    if (n_out == 0) return;
    // The choice depends only on the shape, so results stay deterministic.
    const bool per_block = len > 64 && n_out < 65536;
    detail::visit_dtype(in.dtype, [&](auto t) {
        using T = decltype(t);
        const T* x = static_cast<const T*>(in.data);
        T* o = static_cast<T*>(out.data);
        if (per_block) {
            sum_axis_block_kernel<T><<<static_cast<unsigned>(n_out), kThreads, 0, stream>>>(
                x, o, len, inner, scale);
        } else {
            sum_axis_thread_kernel<T><<<grid_for(n_out), kThreads, 0, stream>>>(
                x, o, outer, len, inner, scale);
        }
    });
    DESCENT_CUDA_CHECK_LAUNCH("sum_axis_kernel");
}

}  // namespace descent::kernels
