// Choosing the CPU logistic block kernel (cpu/logistic_block.hpp) for an instruction set, as
// cpu/linear_mse_isa.hpp does for the linear-MSE blocks (same CpuIsa, same availability
// checks). Every build gives bitwise the same sums.
#pragma once

#include <cstdint>

#include "cpu/linear_mse_isa.hpp"

namespace descent::detail {

// Partial sums of one block of rows: (x, y, w, rows, d, hessian, out), out = [loss, grad (d),
// hessian (d*d, upper triangle)], zeroed by the caller.
template <class T>
using LogisticBlockFn = void (*)(const T*, const T*, const T*, std::int64_t, std::int64_t, bool,
                                 double*);

// The block kernel of `isa` for d columns; descent::Error when `isa` is not available. With
// ones, for X of d - 1 columns whose last column is implicit ones, or nullptr for the widths
// without a specialised kernel (as block_fn_for).
template <class T>
LogisticBlockFn<T> logistic_block_fn_for(CpuIsa isa, std::int64_t d, bool ones = false);

#ifdef DESCENT_HAVE_AVX2_KERNELS
LogisticBlockFn<float> avx2_logistic_block_fn_f32(std::int64_t d, bool ones);
LogisticBlockFn<double> avx2_logistic_block_fn_f64(std::int64_t d, bool ones);
#endif
#ifdef DESCENT_HAVE_AVX512_KERNELS
LogisticBlockFn<float> avx512_logistic_block_fn_f32(std::int64_t d, bool ones);
LogisticBlockFn<double> avx512_logistic_block_fn_f64(std::int64_t d, bool ones);
#endif

}  // namespace descent::detail
