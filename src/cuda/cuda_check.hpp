// Checks every CUDA runtime and cuBLAS call: a failure throws descent::CudaError naming the
// call, the file and line, and CUDA's own message.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

namespace descent::detail {

[[noreturn]] void throw_cuda_error(const char* call, const char* file, int line,
                                   const char* message);

inline void cuda_check(cudaError_t status, const char* call, const char* file, int line) {
    if (status != cudaSuccess) throw_cuda_error(call, file, line, cudaGetErrorString(status));
}

inline void cublas_check(cublasStatus_t status, const char* call, const char* file, int line) {
    if (status != CUBLAS_STATUS_SUCCESS)
        throw_cuda_error(call, file, line, cublasGetStatusString(status));
}

}  // namespace descent::detail

#define DESCENT_CUDA_CHECK(expr) ::descent::detail::cuda_check((expr), #expr, __FILE__, __LINE__)
#define DESCENT_CUBLAS_CHECK(expr) \
    ::descent::detail::cublas_check((expr), #expr, __FILE__, __LINE__)
// After a kernel launch: catches bad launch configurations at once (not asynchronous faults).
#define DESCENT_CUDA_CHECK_LAUNCH(name) \
    ::descent::detail::cuda_check(cudaGetLastError(), name, __FILE__, __LINE__)
