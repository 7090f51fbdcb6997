// CPU backend: memory and elementwise primitives. The per-element math comes from
// shared/elementwise.hpp, the same functions the CUDA kernels call.
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>

#include "shared/dtype_visit.hpp"
#include "cpu/cpu_backend.hpp"
#include "descent/error.hpp"

namespace descent::detail {

void* CpuBackend::allocate(std::size_t bytes, int) {
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
    return p;
}

void CpuBackend::deallocate(void* ptr, int) noexcept { std::free(ptr); }

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
    visit_dtype(in.dtype, [&](auto t) {
        using T = decltype(t);
        const T* x = static_cast<const T*>(in.data);
        T* o = static_cast<T*>(out.data);
        const T a = static_cast<T>(alpha);
        for (std::int64_t i = 0; i < in.numel; ++i) o[i] = apply_unary(op, x[i], a);
    });
}

namespace {

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
        // Advance the outer coordinates like an odometer.
        for (int dim = last - 1; dim >= 0; --dim) {
            ++coord[dim];
            base_a += ix.strides[0][dim];
            base_b += ix.strides[1][dim];
            if (coord[dim] < ix.shape[dim]) break;
            base_a -= coord[dim] * ix.strides[0][dim];
            base_b -= coord[dim] * ix.strides[1][dim];
            coord[dim] = 0;
        }
    }
}

}  // namespace

void CpuBackend::binary(BinaryOp op, Array a, Array b, Array out, const BroadcastIndex& ix) {
    visit_dtype(out.dtype, [&](auto t) {
        using T = decltype(t);
        const T* x = static_cast<const T*>(a.data);
        const T* y = static_cast<const T*>(b.data);
        T* o = static_cast<T*>(out.data);
        for_each_broadcast(ix, out.numel, [&](std::int64_t i, std::int64_t ia, std::int64_t ib) {
            o[i] = apply_binary(op, x[ia], y[ib]);
        });
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
