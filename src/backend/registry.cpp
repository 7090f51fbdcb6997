// The device registry: maps a Device to the backend that serves it. The only global state
// in the library (with the tests' override of the CPU backend, backend_override.hpp).
// Backends are created on first use and never destroyed, so that tensors released during
// static destruction can still free their storage. The CUDA backend lives in a separate
// module, libdescent_cuda.so, loaded on the first use of a cuda device (cuda_module.cpp):
// a process that only uses the cpu never maps a CUDA library.
#include <atomic>

#include "backend/backend.hpp"
#include "backend/backend_override.hpp"
#include "cpu/cpu_backend.hpp"
#include "descent/error.hpp"

#ifdef DESCENT_WITH_CUDA
#include "backend/cuda_module.hpp"
#endif

namespace descent::detail {

namespace {
// Set only by ScopedCpuBackendOverride (tests); null otherwise.
std::atomic<Backend*> g_cpu_override{nullptr};
}  // namespace

ScopedCpuBackendOverride::ScopedCpuBackendOverride(Backend& backend)
    : m_previous(g_cpu_override.exchange(&backend)) {}

ScopedCpuBackendOverride::~ScopedCpuBackendOverride() { g_cpu_override.store(m_previous); }

Backend& backend_for(const Device& device) {
    if (device.is_cpu()) {
        if (Backend* replacement = g_cpu_override.load(std::memory_order_acquire))
            return *replacement;
        static Backend* const cpu = new CpuBackend();
        return *cpu;
    }
#ifdef DESCENT_WITH_CUDA
    try {
        return cuda_module_backend();
    } catch (const Error& e) {
        throw Error("device " + device.str() + ": " + e.what());
    }
#else
    throw Error("device " + device.str() +
                ": descent was built without CUDA (configure with -DDESCENT_CUDA=ON)");
#endif
}

}  // namespace descent::detail
