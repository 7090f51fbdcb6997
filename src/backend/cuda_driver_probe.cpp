// The driver probe behind device_count() before the CUDA module is loaded: dlopen the driver
// library (what the CUDA runtime itself opens) and ask it through two driver-API calls,
// declared here by hand so that the core library needs no CUDA header. On a machine without
// a driver this is one failed dlopen and maps nothing.
#include "backend/cuda_driver_probe.hpp"

#include <dlfcn.h>

namespace descent::detail {

namespace {

int probe() noexcept {
    // Kept open when it loads: cuInit has started the driver, and the CUDA runtime (when
    // the module is loaded later) opens the same library again.
    void* driver = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (driver == nullptr) return 0;
    using Init = int (*)(unsigned int);       // CUresult cuInit(unsigned int flags)
    using GetCount = int (*)(int*);           // CUresult cuDeviceGetCount(int* count)
    const auto init = reinterpret_cast<Init>(dlsym(driver, "cuInit"));
    const auto get_count = reinterpret_cast<GetCount>(dlsym(driver, "cuDeviceGetCount"));
    int count = 0;
    // CUDA_SUCCESS is 0; anything else (no device, stub library, driver too old) means none.
    if (init == nullptr || get_count == nullptr || init(0) != 0 || get_count(&count) != 0)
        return 0;
    return count > 0 ? count : 0;
}

}  // namespace

int cuda_driver_device_count() noexcept {
    static const int count = probe();
    return count;
}

}  // namespace descent::detail
