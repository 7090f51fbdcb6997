// A test seam: while a ScopedCpuBackendOverride is alive, backend_for(cpu) returns the given
// backend instead of the CPU backend, so that tests can make an ordinary CPU run fail where a
// GPU run can (an allocation that runs out of memory, an optimizer update that throws) and
// check what a failure leaves behind. The library itself never installs one.
// Used by tests/test_exception_safety.cpp.
#pragma once

#include "backend/backend.hpp"

namespace descent::detail {

class ScopedCpuBackendOverride {
public:
    // `backend` must free what the CPU backend allocates and vice versa (derive it from
    // CpuBackend), since tensors may outlive the override; it must outlive the override.
    explicit ScopedCpuBackendOverride(Backend& backend);
    ~ScopedCpuBackendOverride();
    ScopedCpuBackendOverride(const ScopedCpuBackendOverride&) = delete;
    ScopedCpuBackendOverride& operator=(const ScopedCpuBackendOverride&) = delete;

private:
    Backend* m_previous;
};

}  // namespace descent::detail
