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

// The block kernel of `isa` for d columns; descent::Error when `isa` is not available. With
// ones, the kernel for X of d - 1 columns whose last (d-th) column is implicit ones (a model's
// implicit intercept), bitwise the sums over the stored column; nullptr for the widths without
// a specialised kernel (the caller then copies the rows with their ones).
template <class T>
BlockFn<T> block_fn_for(CpuIsa isa, std::int64_t d, bool ones = false);

// The matrix product's kernels (cpu/gemm_rows.hpp). rows: (trans_a, m, n, k, A, B, i0, i1,
// acc), B as stored; packed: (trans_a, m, n, k, A, Bd, i0, i1, C, alpha, bias, a_scratch), B
// converted to doubles beforehand, (k, gemm_packed_width(n)), and C written directly (plus
// bias[j] in T along each row, unless bias is null).
template <class T>
using GemmRowsFn = void (*)(bool, std::int64_t, std::int64_t, std::int64_t, const T*, const T*,
                            std::int64_t, std::int64_t, double*);
template <class T>
using GemmPackedFn = void (*)(bool, std::int64_t, std::int64_t, std::int64_t, const T*,
                              const double*, std::int64_t, std::int64_t, T*, double, const T*,
                              double*);
// pack: (trans_b, n, k, B, ld, Bd) converts B to the packed kernel's doubles. one_row: (n, k, a,
// B, j0, j1, c, alpha, bias), columns j0 .. j1 of a one-row product a B, B (k, n) as stored.
template <class T>
using GemmPackFn = void (*)(bool, std::int64_t, std::int64_t, const T*, std::int64_t, double*);
template <class T>
using GemmOneRowFn = void (*)(std::int64_t, std::int64_t, const T*, const T*, std::int64_t,
                              std::int64_t, T*, double, const T*);
template <class T>
struct GemmKernels {
    GemmRowsFn<T> rows;
    GemmPackedFn<T> packed;
    GemmPackFn<T> pack;
    GemmOneRowFn<T> one_row;
};
// The packed kernel's scratch: this many times k doubles (a tile of A's rows, any build).
constexpr std::int64_t kGemmPackedRowsMax = 8;
// The packed B's row length: n rounded up to whole tiles of every build (16 columns).
constexpr std::int64_t gemm_packed_width(std::int64_t n) { return (n + 15) / 16 * 16; }

// f32 tanh over n values (cpu/tanh_f32.hpp): (x, out, n).
using TanhF32Fn = void (*)(const float*, float*, std::int64_t);
TanhF32Fn tanh_f32_fn_for(CpuIsa isa);
#ifdef DESCENT_HAVE_AVX2_KERNELS
TanhF32Fn avx2_tanh_f32_fn();
#endif
#ifdef DESCENT_HAVE_AVX512_KERNELS
TanhF32Fn avx512_tanh_f32_fn();
#endif

// The kernels of `isa`; descent::Error when `isa` is not available.
template <class T>
GemmKernels<T> gemm_kernels_for(CpuIsa isa);

#ifdef DESCENT_HAVE_AVX2_KERNELS
GemmKernels<float> avx2_gemm_kernels_f32();
GemmKernels<double> avx2_gemm_kernels_f64();
#endif
#ifdef DESCENT_HAVE_AVX512_KERNELS
GemmKernels<float> avx512_gemm_kernels_f32();
GemmKernels<double> avx512_gemm_kernels_f64();
#endif

#ifdef DESCENT_HAVE_AVX2_KERNELS
BlockFn<float> avx2_block_fn_f32(std::int64_t d, bool ones);
BlockFn<double> avx2_block_fn_f64(std::int64_t d, bool ones);
#endif
#ifdef DESCENT_HAVE_AVX512_KERNELS
BlockFn<float> avx512_block_fn_f32(std::int64_t d, bool ones);
BlockFn<double> avx512_block_fn_f64(std::int64_t d, bool ones);
#endif

}  // namespace descent::detail
