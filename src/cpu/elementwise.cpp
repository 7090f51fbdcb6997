// CPU backend: memory and elementwise primitives. The elementwise loops are
// cpu/elementwise_loops.hpp's, this file's baseline build or the processor's (cpu/loops_isa.hpp);
// the per-element math comes from shared/elementwise.hpp, the same functions the CUDA kernels
// call.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <type_traits>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "shared/dtype_visit.hpp"
#include "cpu/linear_mse_isa.hpp"
#include "cpu/loops_isa.hpp"
#include "cpu/cpu_backend.hpp"
#include "descent/error.hpp"

#define DESCENT_CPU_ISA baseline
#include "cpu/elementwise_loops.hpp"

namespace descent::detail {

CpuLoops cpu_loops_for(CpuIsa isa) {
    require_cpu_isa(isa, "the elementwise loops");
    switch (isa) {
#if defined(DESCENT_HAVE_AVX2_KERNELS)
        case CpuIsa::avx2: return avx2_cpu_loops();
#endif
#if defined(DESCENT_HAVE_AVX512_KERNELS)
        case CpuIsa::avx512: return avx512_cpu_loops();
#endif
        default:
            return {baseline::unary_array, baseline::binary_array, baseline::sum_axis_array,
                    baseline_update_tensors()};
    }
}

CpuBackend::CpuBackend()
    : m_cache(std::make_unique<CachingAllocator>([this](std::size_t bytes) { return system_allocate(bytes); },
                                                 [this](void* ptr) { system_free(ptr); })) {}

void* CpuBackend::system_allocate(std::size_t bytes) {
    // 64-byte alignment keeps rows SIMD-friendly; aligned_alloc needs a multiple of it.
    // From 64 KiB on, whole pages: such a buffer shares no page with another, so it can be
    // page-locked on its own (cudaHostRegister refuses a range overlapping one already
    // registered, e.g. X's last page holding the start of y: StreamedHost).
    constexpr std::size_t kPage = 4096, kWholePages = std::size_t(64) << 10;
    const std::size_t align = bytes >= kWholePages ? kPage : 64;
    if (bytes > std::numeric_limits<std::size_t>::max() - align)  // rounding up would wrap
        throw OutOfMemory("out of memory on the cpu (" + std::to_string(bytes) + " bytes)", bytes);
    const std::size_t rounded = ((bytes + align - 1) / align) * align;
    void* p = std::aligned_alloc(align, rounded == 0 ? align : rounded);
    if (p == nullptr)
        throw OutOfMemory("out of memory on the cpu (" + std::to_string(bytes) + " bytes)", bytes);
    m_system_allocations.fetch_add(1, std::memory_order_relaxed);
    return p;
}

void CpuBackend::system_free(void* ptr) noexcept {
    if (ptr == nullptr) return;
    std::free(ptr);
    m_system_frees.fetch_add(1, std::memory_order_relaxed);
}

// Inside a training loop's scope, through the cache: a step's tensors come back each step,
// and page-faulting fresh memory (the kernel zeroes it) cost large nets as much as their
// arithmetic. (The cache rounds to 512 bytes; a cached block of 64 KiB or more stays whole
// pages, as the system path gives.)
void* CpuBackend::allocate(std::size_t bytes, int) {
    m_requests.fetch_add(1, std::memory_order_relaxed);
    if (bytes == 0 || m_cache_scopes.load() == 0 || m_bypass_scopes.load() > 0)
        return system_allocate(bytes);
    return m_cache->allocate(bytes);
}

void CpuBackend::deallocate(void* ptr, int) noexcept {
    // A block from the cache goes back to it while a scope is open, else to the system.
    if (m_cache->deallocate_if_owned(ptr, m_cache_scopes.load() > 0)) return;
    system_free(ptr);
}

void CpuBackend::cache_allocations(bool on) {
    if (on) {
        m_cache_scopes.fetch_add(1);
    } else if (m_cache_scopes.fetch_sub(1) == 1) {
        m_cache->release_cached();
    }
}

void CpuBackend::bypass_allocation_cache(bool on) {
    if (on) {
        m_bypass_scopes.fetch_add(1);
    } else {
        m_bypass_scopes.fetch_sub(1);
    }
}

AllocatorStats CpuBackend::allocation_stats() const {
    AllocatorStats s = m_cache->stats();
    s.raw_allocations = m_system_allocations.load();
    s.raw_frees = m_system_frees.load();
    s.requests = m_requests.load();
    return s;
}

void CpuBackend::copy_from_host(void* dst, const void* src, std::size_t bytes, int) {
    if (bytes) std::memcpy(dst, src, bytes);
}
void CpuBackend::copy_to_host(void* dst, const void* src, std::size_t bytes, int) {
    if (bytes) std::memcpy(dst, src, bytes);
}
void CpuBackend::copy(void* dst, const void* src, std::size_t bytes, int) {
    if (bytes && dst != src) std::memmove(dst, src, bytes);
}

void CpuBackend::fill(Array out, double value) {
    visit_dtype(out.dtype, [&](auto t) {
        using T = decltype(t);
        T* o = static_cast<T*>(out.data);
        const T v = static_cast<T>(value);
        for (std::int64_t i = 0; i < out.numel; ++i) o[i] = v;
    });
}

void CpuBackend::cast(Array in, Array out) {
    visit_dtype(in.dtype, [&](auto ti) {
        using TI = decltype(ti);
        visit_dtype(out.dtype, [&](auto to) {
            using TO = decltype(to);
            const TI* x = static_cast<const TI*>(in.data);
            TO* o = static_cast<TO*>(out.data);
            for (std::int64_t i = 0; i < in.numel; ++i) o[i] = static_cast<TO>(x[i]);
        });
    });
}

void CpuBackend::unary(UnaryOp op, double alpha, Array in, Array out) {
    cpu_loops_for(best_cpu_isa()).unary(op, alpha, in, out);
}

void CpuBackend::binary(BinaryOp op, Array a, Array b, Array out, const BroadcastIndex& ix) {
    cpu_loops_for(best_cpu_isa()).binary(op, a, b, out, ix);
}

void CpuBackend::strided_copy(Array in, Array out, const BroadcastIndex& ix) {
    std::int64_t count = 1;
    for (int i = 0; i < ix.rank; ++i) count *= ix.shape[i];
    visit_dtype(out.dtype, [&](auto t) {
        using T = decltype(t);
        const T* x = static_cast<const T*>(in.data);
        T* o = static_cast<T*>(out.data);
        baseline::for_each_broadcast(ix, count,
                           [&](std::int64_t, std::int64_t ia, std::int64_t io) { o[io] = x[ia]; });
    });
}

}  // namespace descent::detail
