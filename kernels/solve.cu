// SPD solve on the device with cuSOLVER: copy A and add the damping to its diagonal, potrf
// (Cholesky), then potrs. A symmetric matrix is the same in row- and column-major order, so
// no transposition is needed. Verified by the CUDA parity suite against the CPU solve.
#include <cusolverDn.h>

#include <cmath>
#include <string>
#include <vector>
#include <type_traits>

#include "descent/error.hpp"
#include "kernels.hpp"
#include "launch.cuh"

namespace descent::kernels {

namespace {

void cusolver_check(cusolverStatus_t status, const char* call, const char* file, int line) {
    if (status != CUSOLVER_STATUS_SUCCESS)
        detail::throw_cuda_error(call, file, line,
                                 ("cuSOLVER status " + std::to_string(int(status))).c_str());
}
#define DESCENT_CUSOLVER_CHECK(expr) cusolver_check((expr), #expr, __FILE__, __LINE__)

template <class T>
__global__ void add_diagonal_kernel(T* a, std::int64_t d, T value) {  // a is (d, d)
    for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < d;
         i += std::int64_t(gridDim.x) * blockDim.x)
        a[i * d + i] += value;
}

}  // namespace

std::int64_t spd_solve_workspace_bytes(cusolverDnHandle_t handle, DType dtype, std::int64_t d) {
    int lwork = 0;
    const int n = static_cast<int>(d);
    if (dtype == DType::f32) {
        DESCENT_CUSOLVER_CHECK(
            cusolverDnSpotrf_bufferSize(handle, CUBLAS_FILL_MODE_LOWER, n, nullptr, n, &lwork));
        return std::int64_t(lwork) * 4;
    }
    DESCENT_CUSOLVER_CHECK(
        cusolverDnDpotrf_bufferSize(handle, CUBLAS_FILL_MODE_LOWER, n, nullptr, n, &lwork));
    return std::int64_t(lwork) * 8;
}

std::int64_t spd_solve(cusolverDnHandle_t handle, Array A, Array b, std::int64_t d, double damping,
                       Array x, void* factor, void* workspace, std::int64_t workspace_bytes,
                       int* info, cudaStream_t stream) {
    const std::size_t elem = dtype_size(A.dtype);
    const int n = static_cast<int>(d);
    DESCENT_CUDA_CHECK(cudaMemcpyAsync(factor, A.data, elem * d * d, cudaMemcpyDeviceToDevice, stream));
    DESCENT_CUDA_CHECK(cudaMemcpyAsync(x.data, b.data, elem * d, cudaMemcpyDeviceToDevice, stream));
    int host_info = 0;
    std::int64_t pivot = -1;
    detail::visit_dtype(A.dtype, [&](auto t) {
        using T = decltype(t);
        if (damping != 0.0) {
            add_diagonal_kernel<T><<<grid_for(d), kThreads, 0, stream>>>(static_cast<T*>(factor), d,
                                                                         static_cast<T>(damping));
            DESCENT_CUDA_CHECK_LAUNCH("add_diagonal_kernel");
        }
        // The diagonal before and after factorisation, for the same relative pivot test as the
        // CPU (src/optim/cholesky.cpp): potrf only flags pivots that are exactly <= 0.
        std::vector<T> diag_a(static_cast<std::size_t>(d)), diag_l(static_cast<std::size_t>(d));
        const std::size_t pitch = sizeof(T) * static_cast<std::size_t>(d + 1);
        DESCENT_CUDA_CHECK(cudaMemcpy2DAsync(diag_a.data(), sizeof(T), factor, pitch, sizeof(T),
                                             static_cast<std::size_t>(d), cudaMemcpyDeviceToHost,
                                             stream));
        const int lwork = static_cast<int>(workspace_bytes / std::int64_t(sizeof(T)));
        if constexpr (std::is_same_v<T, float>) {
            DESCENT_CUSOLVER_CHECK(cusolverDnSpotrf(handle, CUBLAS_FILL_MODE_LOWER, n,
                                                    static_cast<float*>(factor), n,
                                                    static_cast<float*>(workspace), lwork, info));
        } else {
            DESCENT_CUSOLVER_CHECK(cusolverDnDpotrf(handle, CUBLAS_FILL_MODE_LOWER, n,
                                                    static_cast<double*>(factor), n,
                                                    static_cast<double*>(workspace), lwork, info));
        }
        // The host must know whether the factorisation failed: this is the one sync per solve.
        DESCENT_CUDA_CHECK(cudaMemcpy2DAsync(diag_l.data(), sizeof(T), factor, pitch, sizeof(T),
                                             static_cast<std::size_t>(d), cudaMemcpyDeviceToHost,
                                             stream));
        DESCENT_CUDA_CHECK(cudaMemcpyAsync(&host_info, info, sizeof(int), cudaMemcpyDeviceToHost, stream));
        DESCENT_CUDA_CHECK(cudaStreamSynchronize(stream));
        if (host_info < 0)
            throw Error("spd_solve: cuSOLVER potrf rejected argument " + std::to_string(-host_info));
        double scale = 0.0;
        for (const T v : diag_a) scale = std::max(scale, std::abs(double(v)));
        const double tiny = scale * 1e-14;
        const std::int64_t limit = host_info > 0 ? std::int64_t(host_info) - 1 : d;
        for (std::int64_t i = 0; i < limit && pivot < 0; ++i) {
            const double l = double(diag_l[static_cast<std::size_t>(i)]);
            if (!(l * l > tiny)) pivot = i;  // the pivot L_ii^2, as the CPU tests it
        }
        if (pivot < 0 && host_info > 0) pivot = std::int64_t(host_info) - 1;  // cuSOLVER counts from 1
        if (pivot >= 0) return;
        if constexpr (std::is_same_v<T, float>) {
            DESCENT_CUSOLVER_CHECK(cusolverDnSpotrs(handle, CUBLAS_FILL_MODE_LOWER, n, 1,
                                                    static_cast<const float*>(factor), n,
                                                    static_cast<float*>(x.data), n, info));
        } else {
            DESCENT_CUSOLVER_CHECK(cusolverDnDpotrs(handle, CUBLAS_FILL_MODE_LOWER, n, 1,
                                                    static_cast<const double*>(factor), n,
                                                    static_cast<double*>(x.data), n, info));
        }
    });
    return pivot;
}

}  // namespace descent::kernels
