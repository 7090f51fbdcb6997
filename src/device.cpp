// Device names and the CUDA device query. Without a driver or a device the query answers 0,
// never throws: a CPU-only machine is a normal place to run descent. The CUDA queries go to
// the CUDA backend module (backend/cuda_module.hpp) and never load it to answer "nothing":
// the device count asks the driver first, and the stats of a module never loaded are zero.
#include <algorithm>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <cctype>
#include <ostream>

#include "descent/device.hpp"
#include "descent/dtype.hpp"
#include "backend/backend.hpp"
#include "descent/error.hpp"
#include "text.hpp"

#ifdef DESCENT_WITH_CUDA
#include "backend/cuda_module.hpp"
#endif

namespace descent {

std::string Device::str() const {
    return is_cpu() ? std::string("cpu") : "cuda:" + std::to_string(index);
}

std::ostream& operator<<(std::ostream& os, const Device& d) { return os << d.str(); }

Device parse_device(const std::string& text) {
    if (text == "cpu") return Device::cpu();
    if (text == "cuda") return Device::cuda(0);
    if (text.rfind("cuda:", 0) == 0) {
        const std::string ordinal = text.substr(5);
        const bool digits = !ordinal.empty() && ordinal.size() <= 3 &&
                            std::all_of(ordinal.begin(), ordinal.end(),
                                        [](unsigned char c) { return std::isdigit(c) != 0; });
        if (digits) return Device::cuda(std::stoi(ordinal));
    }
    throw Error("unknown device '" + detail::shown_field(text) + "' (expected cpu, cuda or cuda:N)");
}

DType parse_dtype(const std::string& text) {
    if (text == "f32" || text == "float32" || text == "float") return DType::f32;
    if (text == "f64" || text == "float64" || text == "double") return DType::f64;
    throw Error("unknown dtype '" + detail::shown_field(text) + "' (expected f32 or f64)");
}

bool built_with_cuda() {
#ifdef DESCENT_WITH_CUDA
    return true;
#else
    return false;
#endif
}

int device_count() {
#ifdef DESCENT_WITH_CUDA
    return detail::cuda_module_device_count();
#else
    return 0;
#endif
}

bool cuda_available() { return device_count() > 0; }

std::string cuda_unavailable_reason() {
    if (!built_with_cuda()) return "this build of descent has no CUDA support";
    if (device_count() > 0) return {};
#ifdef DESCENT_WITH_CUDA
    // A driver that sees a device but a module that would not load: say why.
    if (std::string why = detail::cuda_module_error(); !why.empty()) return why;
#endif
    return "no CUDA device found";
}

void set_cpu_threads(int threads) {
    if (threads < 1) throw Error("set_cpu_threads: needs at least 1 thread, got " + std::to_string(threads));
#ifdef _OPENMP
    omp_set_num_threads(threads);
#endif
}

int cpu_threads() {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

void synchronize(Device device) {
    if (device.is_cpu()) return;
    detail::backend_for(device).synchronize(device.index);
}

DeviceMemoryStats cuda_memory_stats(int device) {
#ifdef DESCENT_WITH_CUDA
    // Not loaded: no device was ever used, so every counter is zero.
    if (const detail::CudaModuleApi* cuda = detail::cuda_module_if_loaded())
        return cuda->memory_stats(device);
    return {};
#else
    (void)device;
    return {};
#endif
}

CpuMemoryStats cpu_memory_stats() {
    const detail::AllocatorStats s = detail::backend_for(Device::cpu()).allocation_stats();
    CpuMemoryStats out;
    out.system_allocations = s.raw_allocations;
    out.system_frees = s.raw_frees;
    out.requests = s.requests;
    out.bytes_in_use = s.bytes_in_use;
    out.bytes_cached = s.bytes_cached;
    return out;
}

DeviceLaunchStats cuda_launch_stats(int device) {
#ifdef DESCENT_WITH_CUDA
    if (const detail::CudaModuleApi* cuda = detail::cuda_module_if_loaded())
        return cuda->launch_stats(device);
    return {};
#else
    (void)device;
    return {};
#endif
}

void cuda_empty_cache() {
#ifdef DESCENT_WITH_CUDA
    if (const detail::CudaModuleApi* cuda = detail::cuda_module_if_loaded()) cuda->empty_cache();
#endif
}

}  // namespace descent
