// Page-locked host memory of its own (cudaMallocHost), freed with the object: the staging
// buffers of host streaming (host_chunks.cpp) and of a distributed pass's sums
// (distributed_pass.cpp).
#pragma once

#include <cstddef>
#include <cstdio>
#include <utility>

#include <cuda_runtime_api.h>

#include "cuda/cuda_check.hpp"

namespace descent::detail {

class PinnedBuffer {
public:
    PinnedBuffer() = default;
    PinnedBuffer(std::size_t bytes, int device) : m_device(device) {
        DESCENT_CUDA_CHECK(cudaMallocHost(&m_ptr, bytes));
    }
    ~PinnedBuffer() {
        if (m_ptr == nullptr) return;
        const cudaError_t status = cudaFreeHost(m_ptr);
        if (status != cudaSuccess && status != cudaErrorCudartUnloading)  // never throws
            std::fprintf(stderr, "descent: cudaFreeHost failed on cuda:%d: %s\n", m_device,
                         cudaGetErrorString(status));
    }
    PinnedBuffer(PinnedBuffer&& other) noexcept
        : m_ptr(std::exchange(other.m_ptr, nullptr)), m_device(other.m_device) {}
    PinnedBuffer& operator=(PinnedBuffer&& other) noexcept {
        std::swap(m_ptr, other.m_ptr);
        std::swap(m_device, other.m_device);
        return *this;
    }
    PinnedBuffer(const PinnedBuffer&) = delete;
    PinnedBuffer& operator=(const PinnedBuffer&) = delete;
    void* get() const { return m_ptr; }
    template <class T>
    T* as() const { return static_cast<T*>(m_ptr); }

private:
    void* m_ptr = nullptr;
    int m_device = 0;
};

}  // namespace descent::detail
