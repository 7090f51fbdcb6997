// Checked device allocation and the current-device guard used by the CUDA backend.
#pragma once

#include <cstddef>

namespace descent::detail {

// Makes `device_index` current for the guard's lifetime.
class DeviceGuard {
public:
    explicit DeviceGuard(int device_index);
    ~DeviceGuard();
    DeviceGuard(const DeviceGuard&) = delete;
    DeviceGuard& operator=(const DeviceGuard&) = delete;

private:
    int m_previous = 0;
    bool m_changed = false;
};

// Throws descent::CudaError (with bytes asked and free on out-of-memory).
void* cuda_allocate(std::size_t bytes, int device_index);
// Never throws; a failure is logged to stderr.
void cuda_free(void* ptr, int device_index) noexcept;

}  // namespace descent::detail
