// Choosing the CPU linear-MSE block kernels for the processor: the baseline build, or the
// AVX2 build of the same code (src/cpu/losses_avx2.cpp) where the processor has both.
#pragma once

#include <cstdint>
#include <type_traits>

namespace descent::detail {

// Partial sums of one block of rows: (x, y, w, rows, d, hessian, out).
template <class T>
using BlockFn = void (*)(const T*, const T*, const T*, std::int64_t, std::int64_t, bool, double*);

// True when the AVX2 kernels were built and the processor runs them (checked once).
bool use_avx2();

#ifdef DESCENT_HAVE_AVX2_KERNELS
BlockFn<float> avx2_block_fn_f32(std::int64_t d);
BlockFn<double> avx2_block_fn_f64(std::int64_t d);
#endif

template <class T>
BlockFn<T> avx2_block_fn(std::int64_t d) {
#ifdef DESCENT_HAVE_AVX2_KERNELS
    if constexpr (std::is_same_v<T, float>) {
        return avx2_block_fn_f32(d);
    } else {
        return avx2_block_fn_f64(d);
    }
#else
    (void)d;
    return nullptr;  // never called: use_avx2() is false
#endif
}

}  // namespace descent::detail
