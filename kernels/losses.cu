// Fused losses on the device. linear_mse reads each row of X from memory once per pass:
// block b owns rows [b*kRowsPerBlock, (b+1)*kRowsPerBlock), forms the residuals with the
// shared per-row body (descent/detail/linear_mse_row.hpp), and writes per-block partial sums;
// a second kernel combines the partials with a fixed tree. No floating-point atomics, so
// the result is bitwise reproducible. Verified by the CUDA parity suite against the CPU path.
#include "descent/detail/linear_mse_row.hpp"
#include "kernels.hpp"
#include "launch.cuh"

namespace descent::kernels {

namespace {

constexpr std::int64_t kRowsPerBlock = kThreads;      // one row per thread
constexpr std::int64_t kMseChunk = kThreads * 16;     // elements per block in mse

__device__ double block_tree_sum(double value, double* shared) {
    shared[threadIdx.x] = value;
    __syncthreads();
    for (int width = kThreads / 2; width > 0; width /= 2) {
        if (threadIdx.x < width) shared[threadIdx.x] += shared[threadIdx.x + width];
        __syncthreads();
    }
    const double total = shared[0];
    __syncthreads();
    return total;
}

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

// partials is (n_blocks, stride) with stride = 1 + d (+ d*d): loss, grad, Hessian sums.
template <class T>
__global__ void linear_mse_partial_kernel(const T* X, const T* y, const T* w, std::int64_t n,
                                          std::int64_t d, bool hessian, std::int64_t stride,
                                          double* partials) {
    // X is (n, d) row-major, y is (n), w is (d)
    __shared__ double residual[kRowsPerBlock];
    __shared__ double shared[kThreads];
    const std::int64_t start = blockIdx.x * kRowsPerBlock;
    const std::int64_t rows = min(kRowsPerBlock, n - start);
    const T* Xb = X + start * d;

    double r = 0.0;
    if (threadIdx.x < rows)
        r = detail::linear_row_residual(Xb + threadIdx.x * d, w, y[start + threadIdx.x], d);
    residual[threadIdx.x] = r;
    double* out = partials + blockIdx.x * stride;
    const double loss = block_tree_sum(r * r, shared);  // also syncs `residual`
    if (threadIdx.x == 0) out[0] = loss;

    // The block's rows were just read, so these column passes hit cache, not DRAM.
    for (std::int64_t j = threadIdx.x; j < d; j += kThreads) {
        double acc = 0.0;
        for (std::int64_t i = 0; i < rows; ++i) acc += residual[i] * double(Xb[i * d + j]);
        out[1 + j] = acc;
    }
    if (hessian) {
        for (std::int64_t p = threadIdx.x; p < d * d; p += kThreads) {
            const std::int64_t j = p / d, k = p % d;
            double acc = 0.0;
            if (k >= j)
                for (std::int64_t i = 0; i < rows; ++i)
                    acc += double(Xb[i * d + j]) * double(Xb[i * d + k]);
            out[1 + d + p] = acc;
        }
    }
}

// One block per output entry e: sums column e of the partials with a fixed tree, scales it
// and writes loss, gradient or (both triangles of) the Hessian.
template <class T>
__global__ void linear_mse_final_kernel(const double* partials, std::int64_t n_blocks,
                                        std::int64_t stride, std::int64_t n, std::int64_t d,
                                        T* loss, T* grad, T* hess) {
    __shared__ double shared[kThreads];
    const std::int64_t e = blockIdx.x;
    if (e > d) {  // Hessian entry: only the upper triangle was accumulated
        const std::int64_t p = e - 1 - d, j = p / d, k = p % d;
        if (k < j) return;
    }
    double acc = 0.0;
    for (std::int64_t b = threadIdx.x; b < n_blocks; b += kThreads) acc += partials[b * stride + e];
    const double total = block_tree_sum(acc, shared);
    if (threadIdx.x != 0) return;
    const double inv_n = 1.0 / double(n);
    if (e == 0) {
        *loss = static_cast<T>(total * inv_n);
    } else if (e <= d) {
        grad[e - 1] = static_cast<T>(2.0 * inv_n * total);
    } else {
        const std::int64_t p = e - 1 - d, j = p / d, k = p % d;
        const T v = static_cast<T>(2.0 * inv_n * total);
        hess[j * d + k] = v;
        hess[k * d + j] = v;
    }
}

std::int64_t row_blocks(std::int64_t n) { return (n + kRowsPerBlock - 1) / kRowsPerBlock; }

}  // namespace

std::int64_t mse_scratch_doubles(std::int64_t numel) { return (numel + kMseChunk - 1) / kMseChunk; }

std::int64_t linear_mse_scratch_doubles(std::int64_t n, std::int64_t d, bool hessian) {
    return row_blocks(n) * (1 + d + (hessian ? d * d : 0));
}

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

void linear_mse(Array X, Array y, Array w, std::int64_t n, std::int64_t d, Array loss,
                Array grad, const Array* hessian, double* scratch, cudaStream_t stream) {
    const bool want_h = hessian != nullptr;
    const std::int64_t stride = 1 + d + (want_h ? d * d : 0);
    const std::int64_t n_blocks = row_blocks(n);
    detail::visit_dtype(X.dtype, [&](auto t) {
        using T = decltype(t);
        linear_mse_partial_kernel<T><<<static_cast<unsigned>(n_blocks), kThreads, 0, stream>>>(
            static_cast<const T*>(X.data), static_cast<const T*>(y.data),
            static_cast<const T*>(w.data), n, d, want_h, stride, scratch);
        DESCENT_CUDA_CHECK_LAUNCH("linear_mse_partial_kernel");
        linear_mse_final_kernel<T><<<static_cast<unsigned>(stride), kThreads, 0, stream>>>(
            scratch, n_blocks, stride, n, d, static_cast<T*>(loss.data),
            static_cast<T*>(grad.data), want_h ? static_cast<T*>(hessian->data) : nullptr);
        DESCENT_CUDA_CHECK_LAUNCH("linear_mse_final_kernel");
    });
}

}  // namespace descent::kernels
