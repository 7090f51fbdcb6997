// The CUDA backend: device memory, copies, and the kernels in kernels/. Each device gets one
// stream on which every op is queued in order; the host synchronises only where it reads.
// Built into the module libdescent_cuda.so, never into the core library: the core reaches
// these through the module's table (module_entry.cpp, backend/cuda_module_api.hpp).
#pragma once

#include "backend/backend.hpp"
#include "descent/device.hpp"

namespace descent::detail {

// Number of usable CUDA devices; 0 (never an exception) without a driver or a device.
int cuda_device_count();

// The process-wide CUDA backend (handed to the device registry by the module's table).
Backend& cuda_backend();

// The caching allocator's counters for one device, and releasing every device's cache.
DeviceMemoryStats cuda_memory_stats(int device);
void cuda_empty_cache();
// Kernel and graph launch counters for one device.
DeviceLaunchStats cuda_launch_stats(int device);

}  // namespace descent::detail
