// The interface between the core library and its CUDA backend module, libdescent_cuda.so
// (src/cuda/module_entry.cpp). The module is built separately and loaded with dlopen on the
// first use of a CUDA device (src/backend/cuda_module.cpp), so that a CPU-only process never
// maps the CUDA runtime, cuBLAS or cuSOLVER.
//
// The module exports one C symbol, kCudaModuleEntry, returning a CudaModuleApi. Core and
// module share C++ types across this boundary (Backend's vtable, the argument structs, the
// stats structs, descent::Error thrown from the module and caught by the core), so they must
// come from the same sources: `interface` is a digest of the headers that define those types
// (generated at build time, descent_cuda_interface.hpp), and the loader refuses a module
// whose digest differs from its own.
#pragma once

#include "backend/backend.hpp"
#include "descent/device.hpp"

namespace descent::detail {

// Bumped when the layout of CudaModuleApi changes (its first two members never move).
constexpr int kCudaModuleAbi = 1;
constexpr const char* kCudaModuleEntry = "descent_cuda_backend_v1";

struct CudaModuleApi {
    int abi;                // kCudaModuleAbi of the module
    const char* interface;  // DESCENT_CUDA_INTERFACE of the module
    // Usable CUDA devices; 0 (never an exception) without a driver or a device.
    int (*device_count)() noexcept;
    // The module's backend; lives until the process exits.
    Backend& (*backend)();
    DeviceMemoryStats (*memory_stats)(int device);
    DeviceLaunchStats (*launch_stats)(int device);
    void (*empty_cache)();  // throws descent::CudaError on a failed synchronisation
};

using CudaModuleEntry = const CudaModuleApi* (*)() noexcept;

}  // namespace descent::detail
