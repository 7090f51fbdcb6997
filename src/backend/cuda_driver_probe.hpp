// How many CUDA devices the driver sees, asked without loading the CUDA backend module: a
// `--device auto` run on a machine without a GPU must not map the CUDA runtime and its
// libraries (about 1 GB of address space) just to learn that there is nothing to use.
#pragma once

namespace descent::detail {

// Devices the CUDA driver (libcuda.so.1, dlopen'ed) reports; 0 without a driver, with a stub
// driver or when cuInit fails. Asked once per process; never throws. Part of the device
// registry (the answer is cached there).
int cuda_driver_device_count() noexcept;

}  // namespace descent::detail
