// CPU backend: memory and elementwise primitives. The per-element math comes from
// shared/elementwise.hpp, the same functions the CUDA kernels call.
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
#include "cpu/cpu_backend.hpp"
#include "descent/error.hpp"

namespace descent::detail {

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

namespace {

// Elementwise work below this many elements runs on the calling thread (a team costs more).
constexpr std::int64_t kParallelElements = std::int64_t(1) << 15;
constexpr std::int64_t kParallelTanhF32 = std::int64_t(1) << 15;

template <UnaryOp OP, class T>
void unary_loop(const T* x, T* o, std::int64_t n, T a) {
    const auto f = [a](T v) {
        return apply_unary(OP, v, a);
    };
    if constexpr (OP == UnaryOp::tanh && std::is_same_v<T, float>) {
        // f32 tanh: the vectorised kernel of the processor (cpu/tanh_f32.hpp), in chunks.
        const TanhF32Fn kernel = tanh_f32_fn_for(best_cpu_isa());
        (void)f;
        // About 1.5 ns an element: a team pays off from a few thousand.
        if (n >= kParallelTanhF32) {
            constexpr std::int64_t chunk = 1024;
#pragma omp parallel for schedule(static)
            for (std::int64_t c = 0; c < (n + chunk - 1) / chunk; ++c)
                kernel(x + c * chunk, o + c * chunk, std::min<std::int64_t>(chunk, n - c * chunk));
        } else {
            kernel(x, o, n);
        }
        return;
    }
    if (n >= kParallelElements) {
#pragma omp parallel for schedule(static)
        for (std::int64_t i = 0; i < n; ++i) o[i] = f(x[i]);
    } else {
        for (std::int64_t i = 0; i < n; ++i) o[i] = f(x[i]);
    }
}

// The op as a template argument: its switch folds away and the loop vectorises.
template <class T>
void unary_dispatch(UnaryOp op, const T* x, T* o, std::int64_t n, T a) {
    switch (op) {
#define DESCENT_UNARY_CASE(name) \
    case UnaryOp::name: return unary_loop<UnaryOp::name>(x, o, n, a);
        DESCENT_UNARY_CASE(neg)
        DESCENT_UNARY_CASE(square)
        DESCENT_UNARY_CASE(pow)
        DESCENT_UNARY_CASE(sqrt)
        DESCENT_UNARY_CASE(exp)
        DESCENT_UNARY_CASE(log)
        DESCENT_UNARY_CASE(tanh)
        DESCENT_UNARY_CASE(sigmoid)
        DESCENT_UNARY_CASE(relu)
        DESCENT_UNARY_CASE(step)
        DESCENT_UNARY_CASE(add_scalar)
        DESCENT_UNARY_CASE(mul_scalar)
        DESCENT_UNARY_CASE(div_scalar)
        DESCENT_UNARY_CASE(rsub_scalar)
        DESCENT_UNARY_CASE(rdiv_scalar)
        DESCENT_UNARY_CASE(abs)
        DESCENT_UNARY_CASE(sign)
        DESCENT_UNARY_CASE(log1p)
        DESCENT_UNARY_CASE(clamp_min)
        DESCENT_UNARY_CASE(clamp_max)
#undef DESCENT_UNARY_CASE
    }
    for (std::int64_t i = 0; i < n; ++i) o[i] = apply_unary(op, x[i], a);  // a new op
}

}  // namespace

void CpuBackend::unary(UnaryOp op, double alpha, Array in, Array out) {
    visit_dtype(in.dtype, [&](auto t) {
        using T = decltype(t);
        unary_dispatch<T>(op, static_cast<const T*>(in.data), static_cast<T*>(out.data),
                          in.numel, static_cast<T>(alpha));
    });
}

namespace {

// Advances the outer coordinates (all but the last dimension) to the next row, like an
// odometer, with the operands' offsets.
inline void next_row(const BroadcastIndex& ix, std::int64_t* coord, std::int64_t& base_a,
                     std::int64_t& base_b) {
    for (int dim = ix.rank - 2; dim >= 0; --dim) {
        ++coord[dim];
        base_a += ix.strides[0][dim];
        base_b += ix.strides[1][dim];
        if (coord[dim] < ix.shape[dim]) return;
        base_a -= coord[dim] * ix.strides[0][dim];
        base_b -= coord[dim] * ix.strides[1][dim];
        coord[dim] = 0;
    }
}

// Walks every output coordinate in row-major order, calling f(out_index, offset_a, offset_b).
// The last dimension is the inner loop, so contiguous operands stream through memory.
template <class F>
void for_each_broadcast(const BroadcastIndex& ix, std::int64_t numel, F&& f) {
    if (numel == 0) return;
    if (ix.rank == 0) {
        f(0, 0, 0);
        return;
    }
    const int last = ix.rank - 1;
    const std::int64_t inner = ix.shape[last];
    const std::int64_t sa = ix.strides[0][last], sb = ix.strides[1][last];
    std::int64_t coord[kMaxRank] = {};
    std::int64_t base_a = 0, base_b = 0;
    for (std::int64_t start = 0; start < numel; start += inner) {
        for (std::int64_t j = 0; j < inner; ++j) f(start + j, base_a + j * sa, base_b + j * sb);
        next_row(ix, coord, base_a, base_b);
    }
}

}  // namespace

namespace {

// Rows [r0, r1) of the output (its last dimension's runs), each inner run with the strides
// of the two operands along it, for the op as a template argument: the common runs (both
// contiguous, or one a scalar along the run: a bias row, a column) are plain loops that
// vectorise.
template <BinaryOp OP, class T>
void binary_rows(const BroadcastIndex& ix, const T* x, const T* y, T* o, std::int64_t r0,
                 std::int64_t r1) {
    const auto f = [](T a, T b) { return apply_binary(OP, a, b); };
    const int last = ix.rank - 1;
    const std::int64_t inner = ix.shape[last];
    const std::int64_t sa = ix.strides[0][last], sb = ix.strides[1][last];
    // The coordinates of row r0 (the odometer's start).
    std::int64_t coord[kMaxRank] = {};
    std::int64_t base_a = 0, base_b = 0;
    for (std::int64_t rest = r0, dim = last - 1; dim >= 0; --dim) {
        coord[dim] = rest % ix.shape[dim];
        rest /= ix.shape[dim];
        base_a += coord[dim] * ix.strides[0][dim];
        base_b += coord[dim] * ix.strides[1][dim];
    }
    for (std::int64_t r = r0; r < r1; ++r) {
        T* out = o + r * inner;
        const T* a = x + base_a;
        const T* b = y + base_b;
        if (sa == 1 && sb == 1) {
            for (std::int64_t j = 0; j < inner; ++j) out[j] = f(a[j], b[j]);
        } else if (sa == 1 && sb == 0) {
            const T bv = *b;
            for (std::int64_t j = 0; j < inner; ++j) out[j] = f(a[j], bv);
        } else if (sa == 0 && sb == 1) {
            const T av = *a;
            for (std::int64_t j = 0; j < inner; ++j) out[j] = f(av, b[j]);
        } else {
            for (std::int64_t j = 0; j < inner; ++j) out[j] = f(a[j * sa], b[j * sb]);
        }
        next_row(ix, coord, base_a, base_b);
    }
}

template <BinaryOp OP, class T>
void binary_all(const BroadcastIndex& ix, std::int64_t numel, const T* x, const T* y, T* o) {
    if (numel == 0) return;
    if (ix.rank == 0) {
        o[0] = apply_binary(OP, x[0], y[0]);
        return;
    }
    const std::int64_t inner = ix.shape[ix.rank - 1];
    const std::int64_t rows = inner == 0 ? 0 : numel / inner;
    if (numel < kParallelElements || rows < 2) return binary_rows<OP>(ix, x, y, o, 0, rows);
#pragma omp parallel
    {
#ifdef _OPENMP
        const std::int64_t threads = omp_get_num_threads(), me = omp_get_thread_num();
#else
        const std::int64_t threads = 1, me = 0;
#endif
        const std::int64_t r0 = rows * me / threads, r1 = rows * (me + 1) / threads;
        if (r0 < r1) binary_rows<OP>(ix, x, y, o, r0, r1);
    }
}

template <class T>
void binary_dispatch(BinaryOp op, const BroadcastIndex& ix, std::int64_t numel, const T* x,
                     const T* y, T* o) {
    switch (op) {
#define DESCENT_BINARY_CASE(name) \
    case BinaryOp::name: return binary_all<BinaryOp::name>(ix, numel, x, y, o);
        DESCENT_BINARY_CASE(add)
        DESCENT_BINARY_CASE(sub)
        DESCENT_BINARY_CASE(mul)
        DESCENT_BINARY_CASE(div)
        DESCENT_BINARY_CASE(maximum)
        DESCENT_BINARY_CASE(minimum)
        DESCENT_BINARY_CASE(eq)
        DESCENT_BINARY_CASE(ne)
        DESCENT_BINARY_CASE(lt)
        DESCENT_BINARY_CASE(le)
        DESCENT_BINARY_CASE(gt)
        DESCENT_BINARY_CASE(ge)
        DESCENT_BINARY_CASE(tanh_grad)
        DESCENT_BINARY_CASE(sigmoid_grad)
        DESCENT_BINARY_CASE(relu_grad)
#undef DESCENT_BINARY_CASE
    }
    for_each_broadcast(ix, numel, [&](std::int64_t i, std::int64_t ia, std::int64_t ib) {
        o[i] = apply_binary(op, x[ia], y[ib]);  // a new op
    });
}

}  // namespace

void CpuBackend::binary(BinaryOp op, Array a, Array b, Array out, const BroadcastIndex& ix) {
    visit_dtype(out.dtype, [&](auto t) {
        using T = decltype(t);
        binary_dispatch<T>(op, ix, out.numel, static_cast<const T*>(a.data),
                           static_cast<const T*>(b.data), static_cast<T*>(out.data));
    });
}

void CpuBackend::strided_copy(Array in, Array out, const BroadcastIndex& ix) {
    std::int64_t count = 1;
    for (int i = 0; i < ix.rank; ++i) count *= ix.shape[i];
    visit_dtype(out.dtype, [&](auto t) {
        using T = decltype(t);
        const T* x = static_cast<const T*>(in.data);
        T* o = static_cast<T*>(out.data);
        for_each_broadcast(ix, count,
                           [&](std::int64_t, std::int64_t ia, std::int64_t io) { o[io] = x[ia]; });
    });
}

}  // namespace descent::detail
