// The one symbol libdescent_cuda.so exports (everything else is hidden by descent_cuda.map):
// the table through which the core library reaches this backend (backend/cuda_module_api.hpp).
// Calling it initialises nothing: CUDA starts on the first device query or device use.
#include "backend/cuda_module_api.hpp"
#include "cuda/cuda_backend.hpp"
#include "descent_cuda_interface.hpp"

namespace {

int device_count() noexcept { return descent::detail::cuda_device_count(); }

}  // namespace

extern "C" __attribute__((visibility("default"))) const descent::detail::CudaModuleApi*
descent_cuda_backend_v1() noexcept {
    using namespace descent::detail;
    static const CudaModuleApi api{kCudaModuleAbi,    DESCENT_CUDA_INTERFACE, &device_count,
                                   &cuda_backend,     &cuda_memory_stats,     &cuda_launch_stats,
                                   &cuda_empty_cache};
    return &api;
}
