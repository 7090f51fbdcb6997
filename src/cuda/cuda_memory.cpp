// Device memory for the CUDA backend: checked cudaMalloc/cudaFree (the raw allocator under
// the caching allocator), out-of-memory errors that report the bytes asked for and free, and
// the DeviceBuffer RAII type (scratch space, served by the caching allocator).
#include <cstdio>
#include <string>

#include "cuda/cuda_backend.hpp"
#include "cuda/cuda_check.hpp"
#include "cuda/cuda_memory.hpp"
#include "cuda/device_buffer.hpp"
#include "descent/error.hpp"

namespace descent::detail {

void throw_cuda_error(const char* call, const char* file, int line, const char* message) {
    throw CudaError(call, file, line, message);
}

DeviceGuard::DeviceGuard(int device_index) {
    DESCENT_CUDA_CHECK(cudaGetDevice(&m_previous));
    if (m_previous != device_index) DESCENT_CUDA_CHECK(cudaSetDevice(device_index));
    m_changed = m_previous != device_index;
}

DeviceGuard::~DeviceGuard() {
    if (m_changed) cudaSetDevice(m_previous);  // best effort; destructors never throw
}

void* cuda_allocate(std::size_t bytes, int device_index) {
    DeviceGuard guard(device_index);
    void* ptr = nullptr;
    if (bytes == 0) return nullptr;
    const cudaError_t status = cudaMalloc(&ptr, bytes);
    if (status == cudaErrorMemoryAllocation) {
        cudaGetLastError();  // clear the sticky-free error state before querying
        std::size_t free_bytes = 0, total_bytes = 0;
        cudaMemGetInfo(&free_bytes, &total_bytes);
        throw CudaError("cudaMalloc(" + std::to_string(bytes) + " bytes)", __FILE__, __LINE__,
                        "out of memory on cuda:" + std::to_string(device_index) + ": asked for " +
                            std::to_string(bytes) + " bytes, " + std::to_string(free_bytes) +
                            " of " + std::to_string(total_bytes) + " bytes free");
    }
    DESCENT_CUDA_CHECK(status);
    return ptr;
}

void cuda_free(void* ptr, int device_index) noexcept {
    if (ptr == nullptr) return;
    int previous = 0;
    cudaGetDevice(&previous);
    if (previous != device_index) cudaSetDevice(device_index);
    const cudaError_t status = cudaFree(ptr);
    if (status != cudaSuccess && status != cudaErrorCudartUnloading)
        std::fprintf(stderr, "descent: cudaFree failed on cuda:%d: %s\n", device_index,
                     cudaGetErrorString(status));
    if (previous != device_index) cudaSetDevice(previous);
}

DeviceBuffer::DeviceBuffer(std::size_t bytes, int device_index)
    : m_ptr(cuda_backend().allocate(bytes, device_index)), m_bytes(bytes), m_device(device_index) {}

DeviceBuffer::~DeviceBuffer() {
    if (m_ptr) cuda_backend().deallocate(m_ptr, m_device);
}

}  // namespace descent::detail
