// Choosing the CPU linear-MSE block kernels for the processor: one source
// (src/cpu/linear_mse_block.hpp) built for the baseline x86-64 instruction set
// (src/cpu/linear_mse.cpp), for AVX2 + FMA (src/cpu/linear_mse_avx2.cpp) and for AVX-512
// (src/cpu/linear_mse_avx512.cpp). Every build gives bitwise the same loss, gradient and Hessian
// (tests/test_cpu_isa.cpp): the wider ones are faster, not different.
#pragma once

#include <cstdint>
#include <vector>

namespace descent::detail {

// Partial sums of one block of rows: (x, y, w, rows, d, hessian, out).
template <class T>
using BlockFn = void (*)(const T*, const T*, const T*, std::int64_t, std::int64_t, bool, double*);

enum class CpuIsa { baseline, avx2, avx512 };

const char* cpu_isa_name(CpuIsa isa);

// The instruction sets whose kernels were built and that this processor runs (baseline
// first), and the widest of them (checked once).
std::vector<CpuIsa> available_cpu_isas();
// Throws descent::Error, naming `op`, unless `isa`'s kernels are built and this processor runs them.
void require_cpu_isa(CpuIsa isa, const char* op);
CpuIsa best_cpu_isa();

// The block kernel of `isa` for d columns; descent::Error when `isa` is not available.
template <class T>
BlockFn<T> block_fn_for(CpuIsa isa, std::int64_t d);

// The matrix product's row kernel (cpu/gemm_rows.hpp): (trans_a, m, n, k, A, B, i0, i1, acc).
template <class T>
using GemmRowsFn = void (*)(bool, std::int64_t, std::int64_t, std::int64_t, const T*, const T*,
                            std::int64_t, std::int64_t, double*);

// f32 tanh over n values (cpu/tanh_f32.hpp): (x, out, n).
using TanhF32Fn = void (*)(const float*, float*, std::int64_t);
TanhF32Fn tanh_f32_fn_for(CpuIsa isa);
#ifdef DESCENT_HAVE_AVX2_KERNELS
TanhF32Fn avx2_tanh_f32_fn();
#endif
#ifdef DESCENT_HAVE_AVX512_KERNELS
TanhF32Fn avx512_tanh_f32_fn();
#endif

// The row kernel of `isa`; descent::Error when `isa` is not available.
template <class T>
GemmRowsFn<T> gemm_rows_for(CpuIsa isa);

#ifdef DESCENT_HAVE_AVX2_KERNELS
GemmRowsFn<float> avx2_gemm_rows_f32();
GemmRowsFn<double> avx2_gemm_rows_f64();
#endif
#ifdef DESCENT_HAVE_AVX512_KERNELS
GemmRowsFn<float> avx512_gemm_rows_f32();
GemmRowsFn<double> avx512_gemm_rows_f64();
#endif

#ifdef DESCENT_HAVE_AVX2_KERNELS
BlockFn<float> avx2_block_fn_f32(std::int64_t d);
BlockFn<double> avx2_block_fn_f64(std::int64_t d);
#endif
#ifdef DESCENT_HAVE_AVX512_KERNELS
BlockFn<float> avx512_block_fn_f32(std::int64_t d);
BlockFn<double> avx512_block_fn_f64(std::int64_t d);
#endif

}  // namespace descent::detail
