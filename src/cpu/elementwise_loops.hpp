// The CPU backend's elementwise loops (unary ops, broadcasting binary ops, the walk over a
// broadcast index) and axis sums, one source built for the baseline x86-64 instruction set
// (src/cpu/elementwise.cpp), AVX2 and AVX-512 (src/cpu/loops_avx2.cpp, loops_avx512.cpp),
// chosen at run time (cpu/loops_isa.hpp). The per-element math is shared/elementwise.hpp's (the
// CUDA kernels call it too), the op a template argument so that the loops vectorise; the wider
// builds only compute wider (no FMA contraction, sums in index order), so every build gives
// bitwise the same values (tests/test_cpu_isa.cpp).
#pragma once

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "backend/backend.hpp"
#include "cpu/tanh_f32.hpp"
#include "shared/dtype_visit.hpp"

#ifndef DESCENT_CPU_ISA
#error "define DESCENT_CPU_ISA before including cpu/elementwise_loops.hpp"
#endif

namespace descent::detail::DESCENT_CPU_ISA {

// Elementwise work below this many elements runs on the calling thread (a team costs more).
constexpr std::int64_t kParallelElements = std::int64_t(1) << 15;
constexpr std::int64_t kParallelTanhF32 = std::int64_t(1) << 15;

template <UnaryOp OP, class T>
void unary_loop(const T* x, T* o, std::int64_t n, T a) {
    const auto f = [a](T v) {
        return apply_unary(OP, v, a);
    };
    if constexpr (OP == UnaryOp::tanh && std::is_same_v<T, float>) {
        // f32 tanh: this build's vectorised kernel (cpu/tanh_f32.hpp), in chunks.
        const auto kernel = tanh_f32;
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

inline void unary_array(UnaryOp op, double alpha, Array in, Array out) {
    visit_dtype(in.dtype, [&](auto t) {
        using T = decltype(t);
        unary_dispatch<T>(op, static_cast<const T*>(in.data), static_cast<T*>(out.data),
                          in.numel, static_cast<T>(alpha));
    });
}

inline void binary_array(BinaryOp op, Array a, Array b, Array out, const BroadcastIndex& ix) {
    visit_dtype(out.dtype, [&](auto t) {
        using T = decltype(t);
        binary_dispatch<T>(op, ix, out.numel, static_cast<const T*>(a.data),
                           static_cast<const T*>(b.data), static_cast<T*>(out.data));
    });
}

// out (outer, inner) = scale * the sums over the middle axis of in (outer, len, inner), each in
// double in index order; the vectors run along inner.
inline void sum_axis_array(Array in, Array out, std::int64_t outer, std::int64_t len,
                           std::int64_t inner, double scale) {
    visit_dtype(in.dtype, [&](auto t) {
        using T = decltype(t);
        const T* x = static_cast<const T*>(in.data);
        T* o = static_cast<T*>(out.data);
        constexpr std::int64_t kOnStack = 256;  // a bias row's sums: no allocation
        double on_stack[kOnStack];
        std::vector<double> on_heap(static_cast<std::size_t>(inner > kOnStack ? inner : 0));
        double* acc = inner > kOnStack ? on_heap.data() : on_stack;
        for (std::int64_t p = 0; p < outer; ++p) {
            std::fill(acc, acc + inner, 0.0);
            const T* block = x + p * len * inner;
            for (std::int64_t l = 0; l < len; ++l)
                for (std::int64_t i = 0; i < inner; ++i) acc[i] += double(block[l * inner + i]);
            for (std::int64_t i = 0; i < inner; ++i) o[p * inner + i] = static_cast<T>(scale * acc[i]);
        }
    });
}

}  // namespace descent::detail::DESCENT_CPU_ISA
