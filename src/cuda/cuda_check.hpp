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

// Counts one kernel launch on the current device for cuda_launch_stats() (src/cuda/
// cuda_backend.cpp). A kernel recorded into a graph while the device is capturing is not a
// launch (the graph's kernels are counted when it launches). Never throws.
void note_kernel_launch() noexcept;

}  // namespace descent::detail

#define DESCENT_CUDA_CHECK(expr) ::descent::detail::cuda_check((expr), #expr, __FILE__, __LINE__)
#define DESCENT_CUBLAS_CHECK(expr) \
    ::descent::detail::cublas_check((expr), #expr, __FILE__, __LINE__)
// After a kernel launch (exactly one per launch, so it also counts them): catches bad launch
// configurations at once (not asynchronous faults).
#define DESCENT_CUDA_CHECK_LAUNCH(name)                                             \
    (::descent::detail::cuda_check(cudaGetLastError(), name, __FILE__, __LINE__), \
     ::descent::detail::note_kernel_launch())
