// Host data streamed to one CUDA device in chunks, double buffered (Backend::host_chunks,
// used by StreamedHost in src/stream.cpp). Verified on a device by tests/test_cuda_training.cpp
// (host-streamed passes and training against the CPU and the in-memory device run).
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>

#include <cuda_runtime_api.h>

#include "backend/backend.hpp"

namespace descent::detail {

// `compute_stream` returns the device's stream, on which every op is queued (the backend's
// checked accessor: it refuses while another thread captures a graph on the device);
// `copy_stream` is the device's second stream, for the host-to-device copies; `pinned` counts
// the host bytes the returned object page-locks (DeviceMemoryStats::host_bytes_pinned).
std::unique_ptr<HostChunks> make_cuda_host_chunks(const HostRows& rows, int device,
                                                  std::function<cudaStream_t()> compute_stream,
                                                  cudaStream_t copy_stream,
                                                  std::atomic<std::size_t>& pinned);

}  // namespace descent::detail
