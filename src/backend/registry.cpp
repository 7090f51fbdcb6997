// The device registry: maps a Device to the backend that serves it. The only global state
// in the library. Backends are created on first use and never destroyed, so that tensors
// released during static destruction can still free their storage.
#include "backend/backend.hpp"
#include "cpu/cpu_backend.hpp"
#include "descent/error.hpp"

#ifdef DESCENT_WITH_CUDA
#include "cuda/cuda_backend.hpp"
#endif

namespace descent::detail {

Backend& backend_for(const Device& device) {
    if (device.is_cpu()) {
        static Backend* const cpu = new CpuBackend();
        return *cpu;
    }
#ifdef DESCENT_WITH_CUDA
    return cuda_backend();
#else
    throw Error("device " + device.str() +
                ": descent was built without CUDA (configure with -DDESCENT_CUDA=ON)");
#endif
}

}  // namespace descent::detail
