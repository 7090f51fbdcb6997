// The CUDA backend module, loaded on first use: part of the device registry (registry.cpp),
// which owns the one module handle of the process. Until a CUDA device is used, no CUDA
// library is mapped: a CPU-only program pays nothing for a CUDA build of descent.
// Verified by tests/test_cuda_module.cpp and tests/cli/cpu_startup.sh.
#pragma once

#include <string>

#include "backend/cuda_module_api.hpp"

namespace descent::detail {

// The module's table, loading libdescent_cuda.so on the first call (once, thread-safe). The
// first file that loads and matches this program's interface wins, in this order:
//   1. $DESCENT_CUDA_BACKEND, when set (then nothing else is tried);
//   2. where this build tree built it; 3. where `cmake --install` puts it (the configured
//   prefix); 4. next to the executable, and in ../lib from it (a relocated install);
//   5. the dynamic loader's own search (LD_LIBRARY_PATH, the program's RUNPATH, ld.so.cache).
// Throws descent::Error naming every path tried and why each failed, and how to fix it;
// every later call throws the same (the module is not looked for again).
const CudaModuleApi& cuda_module();
// The CUDA backend of cuda_module() (same error when the module cannot be loaded).
Backend& cuda_module_backend();
// The table when the module is already loaded, else nullptr; never loads it.
const CudaModuleApi* cuda_module_if_loaded() noexcept;
// Why loading failed; empty when the module loaded or no load was tried yet.
std::string cuda_module_error();
// Usable CUDA devices; 0 (never an exception) without a driver, a device or the module. Asks
// the driver (cuda_driver_probe.hpp) and loads the module only when the driver sees a device.
int cuda_module_device_count() noexcept;

}  // namespace descent::detail
