// A stand-in for libdescent_cuda.so built from other sources: it exports the entry point but
// reports an interface digest this build does not have, so the loader must refuse it
// (test_cuda_module [mismatch]) before touching anything else in its table.
#include "backend/cuda_module_api.hpp"

extern "C" __attribute__((visibility("default"))) const descent::detail::CudaModuleApi*
descent_cuda_backend_v1() noexcept {
    static const descent::detail::CudaModuleApi api{descent::detail::kCudaModuleAbi,
                                                    "0.0.0-not-this-descent",
                                                    nullptr,
                                                    nullptr,
                                                    nullptr,
                                                    nullptr,
                                                    nullptr};
    return &api;
}
